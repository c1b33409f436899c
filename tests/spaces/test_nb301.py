"""NAS-Bench-301 (DARTS space): encodings, parameters and FLOPs against the benchmark's records, edge-case cells,
moves. The space contract (round trips, direct builder vs tracing, seeded sampling, moves) is
nape_plugin.testing.check_space, run on every registered space in test_conformance.py and here on the edge cases."""
from __future__ import annotations

from collections import Counter
from math import prod
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import EncodingError, SpaceTooLargeError
from nape_plugin.spaces.nb301 import OPS, Genotype, NB301Network, NB301Space
from nape_plugin.testing import check_space

SPACE = nape.spaces.get("nb301")
#: DARTS-V2 (Liu et al., 2019) in the compact encoding.
DARTS_V2 = (((0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)),
            ((0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)))
DARTS_V2_STR = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
                "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
                "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
                "('max_pool_3x3', 1)], reduce_concat=range(2, 6))")
#: A node may take one input twice (DARTS code and NNI samples allow it).
REPEATED = (((0, 2), (0, 2), (0, 3), (0, 3), (1, 2), (1, 2), (4, 0), (4, 1)),
            ((0, 1), (0, 1), (2, 2), (2, 2), (0, 2), (1, 2), (3, 6), (3, 6)))
ALL_SKIP = (((0, 2), (1, 2), (0, 2), (1, 2), (0, 2), (1, 2), (0, 2), (1, 2)),) * 2


def traced(arch):
    with torch.device("meta"):
        model = SPACE.build(arch)
    return nape.to_graph(model, input_shape=SPACE.input_shape), model


@pytest.fixture
def one_thread():
    """Tiny forward passes run faster on one thread than with OpenMP spinning on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def table(shared_data):
    return pd.read_csv(shared_data / "nb301" / "nb301_500.csv")


def test_registered():
    assert isinstance(SPACE, NB301Space)
    assert "nb301" in nape.spaces.names()
    assert SPACE.input_shape == (3, 32, 32) and SPACE.num_classes == 10


def test_compact_and_genotype_columns_agree(table):
    for compact, genotype in zip(table.naslib_arch, table.genotype):
        arch = SPACE.parse(compact)
        assert SPACE.parse(genotype) == arch
        assert SPACE.parse(SPACE.encode(arch, "genotype_str")) == arch


def op_bn_affine_params(model: NB301Network) -> int:
    return sum(p.numel() for cell in model.cells for m in cell.ops.modules() if isinstance(m, torch.nn.BatchNorm2d)
               for p in m.parameters())


def test_params_match_table(table):
    """The table's params_M counts NASLib's copy of the network (no auxiliary head) whose cell ops use BN without
    affine parameters; NB301 trained DARTS' network (affine everywhere), 0.5-1.2% more."""
    rows = table.sample(15, random_state=0)
    for compact, params_m in zip(rows.naslib_arch, rows.params_M):
        g = SPACE.to_graph(compact)
        with torch.device("meta"):
            model = SPACE.build(compact)
        assert g.params == sum(p.numel() for n, p in model.named_parameters() if not n.startswith("auxiliary_head"))
        assert g.params - op_bn_affine_params(model) == round(params_m * 1e6)
        assert abs(g.params / (params_m * 1e6) - 1) < 0.02


def affine_bn_elements(arch) -> int:
    """Output elements of the BNs outside the cell ops (stem and cell preprocessing), measured by running the
    network on the meta device."""
    with torch.device("meta"):
        model = SPACE.build(arch).eval()
    bns = [model.stem[1], *(m for cell in model.cells for pre in (cell.preprocess0, cell.preprocess1)
                            for m in pre.modules() if isinstance(m, torch.nn.BatchNorm2d))]
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: sizes.append(o.numel())) for m in bns]
    model(torch.empty(1, *SPACE.input_shape, device="meta"))
    for h in hooks:
        h.remove()
    return sum(sizes)


def naslib_flops(g, affine_elements: int) -> int:
    """FLOPs as the table counts them (NASLib / tensorwatch): conv and linear MACs, pools one more per output than
    their window reads, one per ReLU and BN element and one more per element of an affine BN (only the stem and the
    cell preprocessing in NASLib's network), C * (H + 1) * (W + 1) for global pooling."""
    total = g.flops + affine_elements
    for n in g.nodes:
        if n.op in ("relu", "batchnorm", "maxpool", "avgpool"):
            total += prod(n.out_shape)
        elif n.op == "global_avgpool":
            c, h, w = n.in_shape
            total += c * (h + 1) * (w + 1) - n.flops
    return total


def test_flops_match_table(table):
    affine = affine_bn_elements(DARTS_V2)
    assert affine == affine_bn_elements(ALL_SKIP)                 # the same for every architecture
    rows = table.sample(15, random_state=1)
    for compact, flops_m in zip(rows.naslib_arch, rows.flops_M):
        g = SPACE.to_graph(compact)
        assert naslib_flops(g, affine) == round(flops_m * 1e6)
        assert -0.04 < g.flops / (flops_m * 1e6) - 1 < -0.02      # MACs + window reads only


def test_pair_order_within_a_node_does_not_matter():
    swapped = tuple(tuple(p for n in range(4) for p in (cell[2 * n + 1], cell[2 * n])) for cell in DARTS_V2)
    assert SPACE.parse(swapped) == SPACE.parse(DARTS_V2)
    assert SPACE.parse(DARTS_V2_STR) == SPACE.parse(DARTS_V2)


def test_other_forms_of_an_architecture():
    for fmt in ("compact", "genotype", "genotype_str", "nni"):     # a node reading one input twice: not in config
        assert SPACE.parse(SPACE.encode(REPEATED, fmt)) == REPEATED, fmt
    for arch in [SPACE.sample(0), SPACE.parse(DARTS_V2), REPEATED, ALL_SKIP]:
        arch = SPACE.parse(arch)
        assert SPACE.parse(np.array(arch, dtype=np.int64)) == arch
        assert SPACE.parse([[(np.int64(i), np.int64(o)) for i, o in cell] for cell in arch]) == arch
        assert SPACE.parse(str(arch)) == arch
        g = SPACE.encode(arch, "genotype")
        assert SPACE.parse(SimpleNamespace(normal=g.normal, reduce=g.reduce)) == arch
        assert hash(arch) == hash(SPACE.parse(SPACE.encode(arch, "genotype_str")))


def test_config_encoding_is_nb301s():
    config = SPACE.encode(DARTS_V2, "config")
    base = "NetworkSelectorDatasetInfo:darts:"
    assert config[base + "edge_normal_11"] == "dil_conv_3x3"        # node 5 from node 2: edge 2 + 3 + 4 + 2
    assert config[base + "inputs_node_normal_5"] == "0_2"
    assert config[base + "edge_reduce_0"] == "max_pool_3x3"
    assert len(config) == 2 * (8 + 3)
    with pytest.raises(EncodingError, match="twice"):
        SPACE.encode(REPEATED, "config")


def test_nni_darts_model_agrees():
    """NNI's DARTS space frozen with our sample has our parameter count (it has no auxiliary head)."""
    pytest.importorskip("nni")
    from nni.nas.hub.pytorch import DARTS
    arch = SPACE.parse(DARTS_V2)
    with torch.device("meta"):
        theirs = DARTS.frozen_factory(SPACE.encode(arch, "nni"))(width=32, num_cells=8)
    assert sum(p.numel() for p in theirs.parameters()) == SPACE.to_graph(arch).params


@pytest.mark.parametrize("arch, match", [
    ("Genotype(normal=[('sep_conv_3x3', 0)], reduce=[])", "needs 8 pairs"),
    ("Genotype(normal=[])", "lacks \\['reduce'\\]"),
    ("Genotype(normal=foo, reduce=[])", "non-literal"),
    ("hello", "not an NB301 encoding"),
    ("[[(0, 1)], [(0, 1)]", "NB301 compact encoding .* is neither JSON nor"),
    (DARTS_V2_STR.replace("('sep_conv_3x3', 0)", "('none', 0)", 1), "no 'none' op"),
    (DARTS_V2_STR.replace("('sep_conv_3x3', 0)", "('conv_7x1_1x7', 0)", 1), "unknown DARTS op 'conv_7x1_1x7'"),
    (DARTS_V2_STR.replace("normal_concat=range(2, 6)", "normal_concat=[2, 3, 4]"), "normal_concat must be"),
    (((( 2, 3),) + DARTS_V2[0][1:], DARTS_V2[1]), "input must be in 0..1, got 2"),
    (((DARTS_V2[0][:7] + ((5, 3),)), DARTS_V2[1]), "input must be in 0..4, got 5"),
    ((DARTS_V2[0], DARTS_V2[1][:7] + ((1, 7),)), "op id 7"),
    ((DARTS_V2[0], DARTS_V2[1][:7] + ((1, True),)), "must be an int"),
    ((DARTS_V2[0], DARTS_V2[1][:7] + ((1.0, 3),)), "must be an int"),
    ((DARTS_V2[0],), "two cells"),
    ({"normal/op_2_0": "sep_conv_3x3"}, "lacks"),
    ({**NB301Space().encode(DARTS_V2, "nni"), "width": 16}, "width=16"),
    ({**NB301Space().encode(DARTS_V2, "nni"), "normal/input_2_0": [0, 1]}, "must choose one input"),
    ({"NetworkSelectorDatasetInfo:darts:edge_normal_0": "sep_conv_3x3"}, "lacks"),
    ({"foo": 1}, "not an NB301 encoding"),
    (3.5, "not an NB301 encoding"),
])
def test_malformed(arch, match):
    with pytest.raises(EncodingError, match=match):
        SPACE.parse(arch)


def test_builder_equals_trace():
    """Eval mode: no auxiliary head, no drop-path; FactorizedReduce's shifted input is a slice node."""
    check_space(SPACE, n=0, archs=[DARTS_V2, ALL_SKIP])
    for arch in [DARTS_V2, REPEATED, ALL_SKIP]:
        g, model = traced(arch)
        assert SPACE.to_graph(arch) == g, arch
        assert g.meta["unused_params"] == sum(p.numel() for p in model.auxiliary_head.parameters())
    assert SPACE.to_graph(ALL_SKIP).ops.count("slice") == 2 * 8 + 2          # reduce-cell skips + preprocess0
    assert nape.to_graph(DARTS_V2_STR) == SPACE.to_graph(DARTS_V2)           # genotype strings are recognised


def test_reference_module_trains_with_auxiliary_head(one_thread):
    model = SPACE.build(DARTS_V2)
    assert model.drop_path_prob == 0.2 and model.auxiliary_head is not None
    x = torch.randn(2, 3, 32, 32)
    logits, aux = model.train()(x)
    assert logits.shape == aux.shape == (2, 10)
    with torch.no_grad():
        assert model.eval()(x).shape == (2, 10)


def test_sample():
    archs = [SPACE.sample(i) for i in range(50)]
    assert len(set(archs)) == 50
    for arch in archs:
        for cell in arch:
            assert all(cell[2 * n][0] != cell[2 * n + 1][0] for n in range(4))
    ops = np.array([op for arch in archs for cell in arch for _, op in cell])
    assert set(ops) == set(range(len(OPS)))


def test_neighbours_and_mutate():
    arch = SPACE.parse(DARTS_V2)
    nbrs = SPACE.neighbours(arch)
    # per cell: 8 pairs x 6 other ops, plus input changes 0 + 2 x 1 + 2 x 2 + 2 x 3 (never both inputs equal)
    assert len(nbrs) == 2 * (8 * 6 + 12)
    for nb in nbrs:
        assert sum((Counter(arch[c]) - Counter(nb[c])).total() for c in range(2)) == 1


def test_enumerate_refuses():
    with pytest.raises(SpaceTooLargeError, match="10\\^18"):
        SPACE.enumerate()


def test_genotype_type_is_darts_compatible():
    g = SPACE.encode(DARTS_V2, "genotype")
    assert isinstance(g, Genotype) and g._fields == ("normal", "normal_concat", "reduce", "reduce_concat")
    assert g.normal_concat == [2, 3, 4, 5]
