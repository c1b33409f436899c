"""NAS-Bench-201: encodings and the reference network against the benchmark's records, edge-case cells, moves.
The space contract (round trips, direct builder vs tracing, seeded sampling, moves) is nape_plugin.testing.check_space,
run on every registered space in test_conformance.py and here on the edge cases."""
from __future__ import annotations

import ast
from math import prod

import pandas as pd
import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import EncodingError, UnknownNameError
from nape_plugin.spaces.nb201 import NB201Space
from nape_plugin.testing import check_space

SPACE = nape.spaces.get("nb201")
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
EXTREMES = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    # dead branches: nodes 1 and 2 only reach the output through "none"
    "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|",
    # the cell's output does not depend on its input
    "|none~0|+|none~0|skip_connect~1|+|none~0|nor_conv_3x3~1|skip_connect~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
]


def traced(space, arch):
    with torch.device("meta"):
        model = space.build(arch)
    return nape.to_graph(model, input_shape=space.input_shape)


def tensorwatch_flops(g) -> int:
    """FLOPs as NASLib / NAS-Bench-Suite-Zero count them (tensorwatch): conv and linear MACs, 2 per element for an
    affine batch norm, 1 per ReLU input element, window reads for pools, and C*(H+1)*(W+1) for global pooling."""
    total = 0
    for n in g.nodes:
        if n.op in ("conv", "linear", "avgpool", "maxpool"):
            total += n.flops
        elif n.op == "batchnorm":
            total += 2 * prod(n.in_shape)
        elif n.op == "relu":
            total += prod(n.in_shape)
        elif n.op == "global_avgpool":
            c, h, w = n.in_shape
            total += c * (h + 1) * (w + 1)
    return total


@pytest.fixture(scope="module")
def table(shared_data):
    return pd.read_csv(shared_data / "nb201" / "nb201.csv",
                       usecols=["nb201_index", "arch_str", "naslib_tuple", "params_M_linfit", "flops_M_linfit"])


# --------------------------------------------------------------------------------------------------- encodings
def test_registered():
    assert isinstance(SPACE, NB201Space)
    assert (SPACE.input_shape, SPACE.num_classes) == ((3, 32, 32), 10)


def test_known_encodings():
    assert SPACE.encode(BEST, "naslib") == (2, 2, 0, 4, 2, 0)
    assert SPACE.encode(BEST, "index") == 1
    assert SPACE.encode(BEST, "nni") == {"cell/0_1": "conv_3x3", "cell/0_2": "conv_3x3", "cell/1_2": "avg_pool_3x3",
                                         "cell/0_3": "skip_connect", "cell/1_3": "conv_3x3", "cell/2_3": "skip_connect"}
    assert SPACE.encode(BEST, "ops") == ("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect",
                                         "nor_conv_3x3", "skip_connect")
    for form in ((2, 2, 0, 4, 2, 0), [2, 2, 0, 4, 2, 0], "(2, 2, 0, 4, 2, 0)", 1, torch.tensor([2, 2, 0, 4, 2, 0]),
                 SPACE.encode(BEST, "nni"), {k[5:]: v for k, v in SPACE.encode(BEST, "nni").items()}):
        assert SPACE.parse(form) == BEST
    assert SPACE.parse(f"  {BEST} ") == BEST
    assert hash(SPACE.parse(BEST)) == hash(BEST)


def test_encodings_agree_with_benchmark_table(table):
    rows = table.sample(300, random_state=1)
    for arch, index, naslib in zip(rows.arch_str, rows.nb201_index, rows.naslib_tuple):
        assert SPACE.encode(arch, "index") == index
        assert SPACE.encode(arch, "naslib") == ast.literal_eval(naslib)
        assert SPACE.parse(naslib) == arch


def test_enumerate_is_the_benchmark_index_order(table):
    archs = list(SPACE.enumerate())
    assert len(archs) == len(set(archs)) == 15625
    assert archs == list(table.sort_values("nb201_index").arch_str)


def test_nni_sample_matches_nni_model_space():
    pytest.importorskip("nni")
    from nni.nas.hub.pytorch import NasBench201
    model_space = NasBench201()
    choices = {k: list(v.values) for k, v in model_space.simplify().items()}
    sample = SPACE.encode(BEST, "nni")
    assert set(choices) == set(sample) and all(sample[k] in choices[k] for k in sample)
    model_space.freeze(sample)    # NNI accepts the sample as a full architecture


@pytest.mark.parametrize("bad, fragment", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "2 '+'-separated group(s)"),
    ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5' on edge 0 -> 1"),
    ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "edge 'none~1' of group 2 must read 'op~0'"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "group 2 '|none~0|' has 1 edge(s), expected 2"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
    ("nor_conv_3x3", "expected an arch string"),
    ((5, 0, 0, 0, 0, 0), "6 ids in 0..4"),
    ((1, 2, 3), "6 ids in 0..4"),
    (15625, "out of range"),
    (-1, "out of range"),
    ({"cell/0_1": "conv_3x3"}, "lacks cell/0_2"),
    ({**{f"cell/{s}_{t}": "none" for s, t in [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]}, "cell/3_4": "none"},
     "unknown key(s) 'cell/3_4'"),
    ({f"cell/{s}_{t}": "nor_conv_3x3" for s, t in [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]},
     "unknown op 'nor_conv_3x3' for cell/0_1"),
    (("none",) * 5 + ("max_pool_3x3",), "unknown op 'max_pool_3x3'"),
    (3.5, "cannot read a float"),
    (None, "cannot read a NoneType"),
])
def test_malformed_encodings_name_the_problem(bad, fragment):
    with pytest.raises(EncodingError) as err:
        SPACE.parse(bad)
    assert fragment in str(err.value)


def test_unknown_format_and_dataset():
    with pytest.raises(EncodingError, match="formats: arch_str, naslib"):
        SPACE.encode(BEST, "genotype")
    with pytest.raises(UnknownNameError, match="cifar10, cifar100, ImageNet16-120"):
        NB201Space("svhn")


# ------------------------------------------------------------------------------------------- graphs and models
def test_contract_on_the_extreme_cells():
    check_space(SPACE, n=0, archs=[BEST, *EXTREMES])
    for arch in EXTREMES:
        t = traced(SPACE, arch)
        assert not t.oov and "unused_params" not in t.meta


def test_other_datasets():
    c100, in16 = NB201Space("cifar100"), NB201Space("ImageNet16-120")
    assert c100.to_graph(BEST).params == SPACE.to_graph(BEST).params + 64 * 90 + 90
    assert in16.input_shape == (3, 16, 16) and in16.to_graph(BEST) == traced(in16, BEST)


def test_params_match_benchmark_records(table):
    rows = pd.concat([table.sample(20, random_state=3), table[table.arch_str.isin(EXTREMES)]])
    assert len(rows) == 20 + len(EXTREMES)
    for arch, params in zip(rows.arch_str, rows.params_M_linfit):
        assert SPACE.to_graph(arch).params == round(params * 1e6), arch
    with torch.device("meta"):
        model = SPACE.build(BEST)
    assert sum(p.numel() for p in model.parameters()) == round(table.set_index("arch_str").params_M_linfit[BEST] * 1e6)


def test_flops_relation_to_benchmark_records(table):
    """The recorded FLOPs are tensorwatch counts; from our nodes they are reproduced exactly (docs/spaces.md)."""
    rows = table.sample(20, random_state=4)
    for arch, flops in zip(rows.arch_str, rows.flops_M_linfit):
        g = SPACE.to_graph(arch)
        assert tensorwatch_flops(g) == round(flops * 1e6)
        assert g.flops < tensorwatch_flops(g)


def test_flops_relation_to_the_benchmark_own_counter():
    """NAS-Bench-201's API counts conv and linear MACs plus the classifier's bias adds, and no pooling. Its published
    values (get_cost_info, quoted in D-X-Y/NATS-Bench issues 24 and 36) follow from our graphs exactly."""
    def nb201_flops(g):
        pools = sum(n.flops for n in g.nodes if n.op in ("avgpool", "global_avgpool"))
        bias_adds = sum(n.out_shape[-1] for n in g.nodes if n.op == "linear" and n.bias)
        return g.flops - pools + bias_adds

    arch0 = SPACE.parse(0)
    assert arch0 == "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert nb201_flops(SPACE.to_graph(arch0)) == 15_647_370
    assert nb201_flops(NB201Space("cifar100").to_graph(arch0)) == 15_653_220
    assert nb201_flops(NB201Space("ImageNet16-120").to_graph(arch0)) == 3_919_480
    g = SPACE.to_graph("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    assert (nb201_flops(g), g.params) == (113_951_370, 802_426)


# ------------------------------------------------------------------------------------------------------- moves
def test_samples_are_spread_over_the_space():
    assert len({SPACE.sample(i) for i in range(200)}) > 190


def test_neighbours_and_mutate():
    ops = SPACE.encode(BEST, "ops")
    nbrs = SPACE.neighbours(BEST)
    assert len(nbrs) == 24
    for n in nbrs:
        assert sum(a != b for a, b in zip(SPACE.encode(n, "ops"), ops)) == 1


def test_to_graph_accepts_encodings_through_nape():
    g = SPACE.to_graph(BEST)
    assert nape.to_graph(BEST) == g
    assert nape.to_graph((2, 2, 0, 4, 2, 0), space="nb201") == g
    assert g.meta["arch"] == BEST
