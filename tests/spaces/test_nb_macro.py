"""NAS-Bench-Macro: encodings and the reference network against the benchmark's records, edge cases, moves. The
space contract (round trips, direct builder vs tracing, seeded sampling, moves) is nape_plugin.testing.check_space,
run on every registered space in test_conformance.py and here on the edge cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import EncodingError
from nape_plugin.spaces.nb_macro import NBMacroSpace, layer_plan
from nape_plugin.testing import check_space

SPACE = nape.spaces.get("nb_macro")
EDGE_CASES = ["00000000", "11111111", "22222222", "20020020", "02002002"]


def traced(arch):
    with torch.device("meta"):
        model = SPACE.build(arch)
    return nape.to_graph(model, input_shape=SPACE.input_shape)


@pytest.fixture(scope="module")
def records(shared_data):
    return pd.read_csv(shared_data / "nb_macro" / "nas_bench_macro_cifar10.csv", dtype={"arch": str})


def test_registered():
    assert isinstance(SPACE, NBMacroSpace)
    assert (SPACE.input_shape, SPACE.num_classes) == ((3, 32, 32), 10)
    assert layer_plan() == [(32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1),
                            (128, 256, 2), (256, 256, 1), (256, 256, 1)]


def test_encodings():
    arch = "01201200"
    assert SPACE.encode(arch, "ints") == (0, 1, 2, 0, 1, 2, 0, 0)
    assert SPACE.encode(arch, "ops") == ("id", "ir_3x3_t3", "ir_5x5_t6", "id", "ir_3x3_t3", "ir_5x5_t6", "id", "id")
    for form in ((0, 1, 2, 0, 1, 2, 0, 0), [0, 1, 2, 0, 1, 2, 0, 0], np.array([0, 1, 2, 0, 1, 2, 0, 0]),
                 "(0, 1, 2, 0, 1, 2, 0, 0)", f" {arch} ", 1201200, np.int64(1201200), SPACE.encode(arch, "ops")):
        assert SPACE.parse(form) == arch
    with pytest.raises(EncodingError, match="no encoding 'naslib'"):
        SPACE.encode(arch, "naslib")


@pytest.mark.parametrize("bad, fragment", [
    ("0120120", "got 7 digit(s)"),
    ("012012003", "got 9 digit(s)"),
    ("01201203", "got 8 digit(s) '01201203'"),
    ((0, 1, 2, 0, 1, 2, 0, 10), "layer choices must be 0, 1 or 2"),
    ((0, 1, 2), "got 3 digit(s)"),
    (10 ** 8, "must be below 10^8"),
    (-1, "cannot read the int -1"),
    (("id",) * 7 + ("conv",), "unknown op 'conv'"),
    ("0-1-2", "cannot read '0-1-2'"),
    (2.0, "cannot read a float"),
    (None, "cannot read a NoneType"),
])
def test_malformed(bad, fragment):
    with pytest.raises(EncodingError) as err:
        SPACE.parse(bad)
    assert fragment in str(err.value)


def test_contract_on_the_edge_cases():
    check_space(SPACE, n=0, archs=EDGE_CASES)
    assert not any(traced(arch).oov for arch in EDGE_CASES)


def test_params_and_flops_match_records(records):
    """The benchmark counts every parameter (BN included) and FLOPs as conv and linear MACs (no pooling)."""
    rows = records.sample(150, random_state=3)
    for arch, params, flops in zip(rows.arch, rows.params, rows.flops):
        g = SPACE.to_graph(arch)
        assert g.params == params
        assert g.flops - sum(n.flops for n in g.nodes if n.op == "global_avgpool") == flops
    with torch.device("meta"):
        assert sum(p.numel() for p in SPACE.build("21021012").parameters()) == \
            records.params[records.arch == "21021012"].item()


def test_equivalent_strings_are_one_network(records):
    """An identity after the first layer of a stage passes its input through wherever it stands: the benchmark
    trained one network per class of such strings and copied its results, and their graphs are equal."""
    labels = records.set_index("arch").mean_acc
    for a, b in (("00101000", "00110000"), ("00000201", "00000210"), ("21102201", "21120210")):
        assert SPACE.to_graph(a) == SPACE.to_graph(b) and labels[a] == labels[b]
    assert SPACE.to_graph("10000000") != SPACE.to_graph("01000000")        # a stage's first layer changes the shape
    prefixed = [a for a in SPACE.enumerate() if a.startswith("2102")]       # stage 2 is 02x: 3 networks; stage 3: 21
    assert len(prefixed) == 81 and len({SPACE.to_graph(a) for a in prefixed}) == 3 * 21


def test_enumerate_and_moves(records):
    archs = list(SPACE.enumerate())
    assert len(archs) == len(set(archs)) == 6561 and archs == records.arch.tolist()
    nbrs = SPACE.neighbours("01201200")
    assert len(nbrs) == 16 and all(sum(a != b for a, b in zip(n, "01201200")) == 1 for n in nbrs)
