"""TransNAS-Bench-101 micro and macro: encodings, reference networks vs the records, edge cases and every task's
network. The space contract (round trips, direct builder vs tracing, seeded sampling, moves) is
nape_plugin.testing.check_space, run on every registered space in test_conformance.py and here on the edge cases and
on each task's space."""
from __future__ import annotations

import ast
from math import prod

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import nape_plugin as nape
from nape_plugin.errors import EncodingError, ShapeError, UnknownNameError
from nape_plugin.spaces.tnb101 import TASKS, TNB101MacroSpace, TNB101MicroSpace, upsamplings
from nape_plugin.testing import check_space

MICRO = nape.spaces.get("tnb101_micro")
MACRO = nape.spaces.get("tnb101_macro")
MICRO_EDGE_CASES = [
    "64-41414-0_00_000",            # every op none: zeros of the reduced shape in reducing cells
    "64-41414-1_11_111",            # every op skip: normal cells pass their input through
    "64-41414-3_33_333",
    "64-41414-1_02_333",            # the benchmark's example
    "64-41414-0_01_001",            # node 1 only reaches the output through none
]


def traced(space, arch):
    with torch.device("meta"):
        model = space.build(arch)
    return nape.to_graph(model, input_shape=space.input_shape)


def tensorwatch_flops(g, nodes=None) -> int:
    """FLOPs as NAS-Bench-Suite-Zero counts them (tensorwatch): conv and linear MACs, 2 per element for an affine
    batch norm, 1 per ReLU input element, window reads for pools, and C*(H+1)*(W+1) for global pooling."""
    total = 0
    for n in g.nodes if nodes is None else nodes:
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


def jigsaw_record_flops(g) -> int:
    """The jigsaw records count the shared encoder once (as if it ran on one tile), then the decoder."""
    decoder = [n for n in g.nodes if n.op in ("global_avgpool", "linear")]
    encoders = tensorwatch_flops(g) - tensorwatch_flops(g, decoder)
    assert encoders % 9 == 0
    return encoders // 9 + tensorwatch_flops(g, decoder)


@pytest.fixture(scope="module")
def records(shared_data):
    return pd.read_csv(shared_data / "tnb101" / "tnb101_micro_class_scene.csv", usecols=["net", "params", "flops"])


def test_registered():
    assert isinstance(MICRO, TNB101MicroSpace) and isinstance(MACRO, TNB101MacroSpace)
    for space in (MICRO, MACRO):
        assert (space.input_shape, space.num_classes) == ((3, 256, 256), 47)


# ----------------------------------------------------------------------------------------------------- micro
def test_micro_encodings():
    arch = "64-41414-1_02_333"
    assert MICRO.encode(arch, "op_indices") == (1, 0, 2, 3, 3, 3)
    assert MICRO.encode(arch, "cell") == "1_02_333"
    assert MICRO.encode(arch, "ops") == ("skip_connect", "none", "nor_conv_1x1", "nor_conv_3x3", "nor_conv_3x3",
                                         "nor_conv_3x3")
    for form in ((1, 0, 2, 3, 3, 3), [1, 0, 2, 3, 3, 3], np.array([1, 0, 2, 3, 3, 3]), "(1, 0, 2, 3, 3, 3)",
                 "1_02_333", f" {arch} ", MICRO.encode(arch, "ops")):
        assert MICRO.parse(form) == arch


@pytest.mark.parametrize("bad, fragment", [
    ("64-41414-1_02_334", "six op ids in 0..3"),
    ("32-41414-1_02_333", "base channels 64 and skeleton 41414, got 32 and 41414"),
    ("64-4141-1_02_333", "got 64 and 4141"),
    ("1_2_333", "cannot read '1_2_333'"),
    ((0, 1, 2, 3, 4, 0), "got [0, 1, 2, 3, 4, 0]"),
    ((1, 2, 3), "six op ids"),
    (("none",) * 5 + ("avg_pool_3x3",), "unknown op 'avg_pool_3x3'"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "cannot read"),
    (2.0, "cannot read a float"),
])
def test_micro_malformed(bad, fragment):
    with pytest.raises(EncodingError) as err:
        MICRO.parse(bad)
    assert fragment in str(err.value)


def test_micro_contract_on_the_edge_cases():
    check_space(MICRO, n=0, archs=MICRO_EDGE_CASES)
    assert not any(traced(MICRO, arch).oov for arch in MICRO_EDGE_CASES)


def test_micro_params_and_flops_match_records(records):
    """NAS-Bench-Suite-Zero counted NASLib's build of the network (63-class decoder) at 256x256 with tensorwatch."""
    naslib = TNB101MicroSpace(num_classes=63)
    rows = records.sample(20, random_state=2)
    for net, params, flops in zip(rows.net, rows.params, rows.flops):
        g = naslib.to_graph(ast.literal_eval(net))
        assert g.params == round(params * 1e6)
        assert tensorwatch_flops(g) == round(flops * 1e6)
        assert MICRO.to_graph(net).params == g.params - 16 * (512 + 1)    # 47 classes, as the benchmark trained


def test_micro_enumerate_and_moves():
    archs = list(MICRO.enumerate())
    assert len(archs) == len(set(archs)) == 4096 and archs[0] == "64-41414-0_00_000"
    nbrs = MICRO.neighbours("64-41414-1_02_333")
    assert len(nbrs) == 18
    for n in nbrs:
        assert sum(a != b for a, b in zip(MICRO.encode(n, "op_indices"), (1, 0, 2, 3, 3, 3))) == 1


def test_tracer_maps_new_zeros_to_a_zero_node():
    class Reduce(nn.Module):
        def forward(self, x):
            return x.new_zeros((x.shape[0], 8, (x.shape[2] + 1) // 2, (x.shape[3] + 1) // 2))

    g = nape.to_graph(Reduce(), input_shape=(4, 6, 6))
    assert g.ops == ["input", "zero", "output"]
    assert (g.nodes[1].in_shape, g.nodes[1].out_shape) == ((4, 6, 6), (8, 3, 3))


# ----------------------------------------------------------------------------------------------------- macro
def test_macro_encodings():
    arch = "64-1234-basic"
    assert MACRO.encode(arch, "op_indices") == (1, 2, 3, 4, 0, 0)
    assert MACRO.encode(arch, "skeleton") == "1234"
    for form in ((1, 2, 3, 4, 0, 0), (1, 2, 3, 4), np.array([1, 2, 3, 4, 0, 0]), "1234", "(1, 2, 3, 4, 0, 0)"):
        assert MACRO.parse(form) == arch


@pytest.mark.parametrize("bad, fragment", [
    ("64-1111-basic", "halves the resolution 0 times"),
    ("64-4444-basic", "doubles the channels 4 times"),
    ("64-123-basic", "has 3 modules, the space has 4 to 6"),
    ("64-1234567-basic", "has 7 modules"),
    ("64-12354-basic", "module type outside 1..4"),
    ("32-1234-basic", "base channels 64, got 32"),
    ((1, 0, 2, 3, 4, 0), "zeros only as trailing padding"),
    ("64-41414-1_02_333", "cannot read"),
    (None, "cannot read a NoneType"),
])
def test_macro_malformed(bad, fragment):
    with pytest.raises(EncodingError) as err:
        MACRO.parse(bad)
    assert fragment in str(err.value)


def test_macro_contract_on_the_edge_cases():
    archs = list(MACRO.enumerate())
    edges = [archs[0], archs[-1], "64-1234-basic", "64-41414-basic"]
    check_space(MACRO, n=0, archs=edges)
    for arch in edges:
        assert not traced(MACRO, arch).oov
        with torch.device("meta"):
            assert MACRO.to_graph(arch).params == sum(p.numel() for p in MACRO.build(arch).parameters())


def test_macro_enumerate_and_moves():
    archs = list(MACRO.enumerate())
    assert len(archs) == len(set(archs)) == 3256    # the benchmark's macro space size
    sk = "1234"
    nbrs = MACRO.neighbours(f"64-{sk}-basic")
    assert nbrs
    for n in nbrs:
        other = MACRO.encode(n, "skeleton")
        if len(other) == len(sk):
            assert sum(a != b for a, b in zip(other, sk)) == 1
        else:
            longer, shorter = (other, sk) if len(other) > len(sk) else (sk, other)
            assert len(longer) == len(shorter) + 1
            assert any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


# ----------------------------------------------------------------------------------------------------- tasks
@pytest.fixture(scope="module")
def macro_records(shared_data):
    return pd.read_csv(shared_data / "tnb101" / "tnb101_macro_partial.csv")


def test_for_task_gives_each_task_its_network():
    assert MICRO.task == MACRO.task == "class_scene" and MICRO.tasks == MACRO.tasks == tuple(TASKS)
    shapes = {"class_scene": (47,), "class_object": (75,), "room_layout": (9,), "jigsaw": (1000,),
              "segmentsemantic": (17, 256, 256), "normal": (3, 256, 256), "autoencoder": (3, 256, 256)}
    for base in (MICRO, MACRO):
        graphs = {}
        for task, out in shapes.items():
            space = base.for_task(task)
            assert type(space) is type(base) and space.task == task and space.name == base.name
            assert space.input_shape == ((9, 3, 64, 64) if task == "jigsaw" else (3, 256, 256))
            g = graphs[task] = space.to_graph(space.sample(0))
            assert g.nodes[-1].out_shape == out and g.meta["task"] == task
        assert graphs["normal"] == graphs["autoencoder"]          # the same network, trained on other targets
        assert len(set(graphs.values())) == 6
    with pytest.raises(UnknownNameError, match="has no task 'depth'; its tasks: class_scene, class_object"):
        MICRO.for_task("depth")
    with pytest.raises(UnknownNameError, match="space 'nb201' has no task 'jigsaw'; it is a single-task space"):
        nape.spaces.get("nb201").for_task("jigsaw")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_task_spaces_keep_the_contract(task):
    """One random architecture per space and task, plus the all-none micro cell (zeros feeding the decoder)."""
    seed = sorted(TASKS).index(task)
    for base, archs in ((MICRO, ["64-41414-0_00_000"]), (MACRO, [])):
        space = base.for_task(task)
        check_space(space, n=1, seed=seed, archs=archs)
        for arch in [*archs, space.sample(seed)]:
            assert not traced(space, arch).oov
            with torch.device("meta"):
                assert space.to_graph(arch).params == sum(p.numel() for p in space.build(arch).parameters())


def test_dense_decoders_upsample_back_to_the_input():
    assert [upsamplings(w) for w in (32, 16, 8, 4)] == [3, 4, 5, 6]
    with pytest.raises(ShapeError, match="a 12-pixel feature map cannot be decoded to 256 pixels"):
        upsamplings(12)
    seg = MACRO.for_task("segmentsemantic")
    for arch in ("64-1234-basic", "64-3334-basic", "64-341144-basic"):       # 2, 4 and 3 halvings
        g = seg.to_graph(arch)
        ups = [n for n in g.nodes if n.op == "conv_transpose"]
        assert g.nodes[-1].out_shape == (17, 256, 256)
        assert len(ups) == upsamplings(256 // 4 // 2 ** sum(c in "34" for c in MACRO.encode(arch, "skeleton")))


def test_jigsaw_shares_the_encoder_weights():
    """Nine encoder copies in the graph, one set of parameters (on the first copy, as the tracer puts them)."""
    space = MICRO.for_task("jigsaw")
    arch = "64-41414-1_02_333"
    g = space.to_graph(arch)
    encoder = TNB101MicroSpace(task="jigsaw").build(arch).encoder
    assert sorted(g.nodes[d].op for s, d in g.edges if s == 0) == ["slice"] * 9
    assert g.params == sum(p.numel() for p in encoder.parameters()) + 9 * 512 * 1000 + 1000
    convs = [n for n in g.nodes if n.op == "conv"]
    assert len(convs) % 9 == 0 and sum(n.params > 0 for n in convs) == len(convs) // 9


def test_macro_records_are_the_class_scene_or_jigsaw_network(macro_records):
    """NASLib's macro sample counted the 63-class class_scene network (662 rows) or, for the 63 rows without class
    labels, the jigsaw network with its encoder counted once (tensorwatch at 256x256 / one 64x64 tile)."""
    scene, jigsaw = TNB101MacroSpace(num_classes=63), MACRO.for_task("jigsaw")
    rows = pd.concat([macro_records[macro_records.class_scene.notna()].sample(6, random_state=0),
                      macro_records[macro_records.class_scene.isna()].sample(6, random_state=0)])
    for arch, params, flops, labelled in zip(rows.naslib_arch, rows.params, rows.flops, rows.class_scene.notna()):
        g = (scene if labelled else jigsaw).to_graph(ast.literal_eval(arch))
        assert g.params == round(params * 1e6)
        assert (tensorwatch_flops(g) if labelled else jigsaw_record_flops(g)) == round(flops * 1e6)
