"""NAS-Bench-101: encodings, graph hash and parameter counts against the benchmark's records, edge-case cells, moves.
The space contract (round trips, direct builder vs tracing, seeded sampling, moves) is nape_plugin.testing.check_space,
run on every registered space in test_conformance.py and here on the edge cases."""
from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import EncodingError, SpaceTooLargeError
from nape_plugin.spaces.nb101 import OPS, NB101Cell, NB101Network, NB101Space, NB101Spec, nb101_hash, vertex_channels
from nape_plugin.testing import check_space

SPACE = nape.spaces.get("nb101")
C3, C1, MP = OPS
#: The benchmark's own example record: hash, pruned spec and trainable parameters.
KNOWN_HASH = "00005c142e6f48ac74fdcf73e3439874"
KNOWN = ([[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
          [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
         ["input", C3, MP, C3, C3, C1, "output"])
EDGE_CASES = [
    ([[0, 1], [0, 0]], ["input", "output"]),                                         # projection only
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", MP, "output"]),
    ([[0, 1, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
     ["input", C3, C1, MP, "output"]),                                               # 128 / 3: uneven split
    ([[0, 1, 1, 0, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
     ["input", C3, MP, C1, "output"]),                                               # truncation + input-output add
]


def traced(arch):
    with torch.device("meta"):
        model = SPACE.build(arch)
    return nape.to_graph(model, input_shape=SPACE.input_shape), model


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture
def one_thread():
    """Tiny forward passes run faster on one thread than with OpenMP spinning on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def table(shared_data):
    return pd.read_csv(shared_data / "nb101" / "nb101_subset.csv",
                       usecols=["nb101_hash", "adjacency", "ops", "trainable_parameters"])


def test_registered():
    assert isinstance(SPACE, NB101Space)
    assert "nb101" in nape.spaces.names()
    assert SPACE.input_shape == (3, 32, 32) and SPACE.num_classes == 10


def test_known_record():
    spec = SPACE.parse(KNOWN)
    assert spec.hash() == SPACE.arch_id(spec) == KNOWN_HASH
    g, model = traced(spec)
    assert n_params(model) == g.params == SPACE.to_graph(spec).params == 8_555_530


def test_hash_matches_table(table):
    rows = table.sample(300, random_state=0)
    for adj, ops, h in zip(rows.adjacency, rows.ops, rows.nb101_hash):
        assert SPACE.parse((adj, ops)).hash() == h


def test_params_match_table(table):
    """Trainable parameters of TensorFlow's NB101 model (convs, BN gamma/beta, dense) are exactly ours."""
    rows = table.sample(15, random_state=1)
    for adj, ops, want in zip(rows.adjacency, rows.ops, rows.trainable_parameters):
        assert SPACE.to_graph((adj, ops)).params == want
    adj, ops, want = rows.iloc[0][["adjacency", "ops", "trainable_parameters"]]
    with torch.device("meta"):
        assert n_params(SPACE.build((adj, ops))) == want


def test_canonical_vertex_order_is_the_trained_one(table):
    """Of isomorphic vertex orders, NB101 trained the one its enumeration met first; channel splits depend on the
    order. Some table rows store another order: built as stored their parameter count misses the record, built in
    the canonical order it is exact."""
    checked = 0
    for adj, ops, want in zip(table.adjacency[:500], table.ops[:500], table.trainable_parameters[:500]):
        spec = SPACE.parse((adj, ops))
        stored = NB101Spec(tuple(map(tuple, json.loads(adj))), tuple(json.loads(ops)))
        if spec == stored:
            continue
        assert spec.hash() == stored.hash()
        with torch.device("meta"):
            as_stored = n_params(NB101Network(stored))
        assert SPACE.to_graph(spec).params == want
        checked += as_stored != want
    assert checked > 0


def test_isomorphic_specs_canonicalise_equally():
    rng = random.Random(0)
    for _ in range(20):
        spec = SPACE.sample(rng)
        n = spec.num_vertices
        m = np.array(spec.matrix)
        for _ in range(10):
            order = [0, *rng.sample(range(1, n - 1), n - 2), n - 1]
            pm = m[np.ix_(order, order)]
            if np.tril(pm).any():
                continue
            other = (pm, [spec.ops[v] for v in order])
            assert SPACE.parse(other) == spec
            assert nb101_hash(*other) == spec.hash()


def test_spec_tuples_are_validated():
    """A hand-made NB101Spec is checked and canonicalised like any other encoding."""
    m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert SPACE.parse(NB101Spec(tuple(map(tuple, m)), ("input", MP, C3, "output"))) == \
        SPACE.parse((m, ["input", C3, MP, "output"]))
    with pytest.raises(EncodingError, match="unknown NB101 op"):
        SPACE.parse(NB101Spec(((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("input", "conv", "output")))


def test_pruning():
    """A dangling vertex (no path to the output) and an unreachable one are removed as in NB101's ModelSpec."""
    m = np.zeros((7, 7), dtype=int)
    m[0, 1] = m[1, 6] = 1          # the live path
    m[0, 2] = 1                    # vertex 2 never reaches the output
    m[3, 6] = 1                    # vertex 3 is never reached
    spec = SPACE.parse((m, ["input", C3, C1, MP, C3, C3, "output"]))
    assert spec == SPACE.parse(([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"]))


def test_other_forms_of_a_cell():
    for spec in [SPACE.sample(2)] + [SPACE.parse(a) for a in EDGE_CASES]:
        assert SPACE.encode(spec, "hash") == spec.hash()
        matrix, ops = SPACE.encode(spec, "matrix_ops")
        assert SPACE.parse({"module_adjacency": np.array(matrix), "module_operations": ops}) == spec
        assert SPACE.parse(json.dumps({"matrix": matrix, "ops": ops})) == spec
        labels = [-1] + [OPS.index(o) for o in ops[1:-1]] + [-2]          # NB101's integer labelling
        assert SPACE.parse((matrix, labels)) == spec
    assert hash(spec) == hash(SPACE.parse(SPACE.encode(spec, "json")))


def test_nni_sample_with_unused_entries():
    """NNI samples hold every op/input choice up to 7 vertices; only those below cell/num_nodes count."""
    sample = {"cell/num_nodes": 4, "cell/op1": C3, "cell/op2": MP, "cell/op3": C1, "cell/op4": C1, "cell/op5": C3,
              "cell/input1": [0], "cell/input2": [0, 1], "cell/input3": [2], "cell/input4": [0, 1],
              "cell/input5": [0], "cell/input6": [3]}
    want = ([[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, MP, "output"])
    assert SPACE.parse(sample) == SPACE.parse(want)


def test_nni_frozen_model_agrees():
    """NNI's own NasBench101 model, frozen from our sample, prunes to our matrix and computes our channels."""
    pytest.importorskip("nni")
    from nni.nas.hub.pytorch import NasBench101
    spec = SPACE.parse(EDGE_CASES[3])
    with torch.device("meta"):
        model = NasBench101.frozen_factory(SPACE.encode(spec, "nni"))()
    cells = [m for m in model.features if not isinstance(m, torch.nn.MaxPool2d)]
    ours = [m for m in SPACE.build(spec).layers if isinstance(m, NB101Cell)]
    assert len(cells) == len(ours) == 9
    for theirs, mine in zip(cells, ours):
        assert (theirs.connection_matrix == np.array(spec.matrix)).all()
        assert [int(c) for c in theirs.hidden_features] == mine.channels


@pytest.mark.parametrize("arch, match", [
    (KNOWN_HASH, "hash"),
    ("conv3x3", "not an NB101 encoding"),
    (([[0, 1, 0], [0, 0, 1]], ["input", C3, "output"]), "square"),
    (([[0, 2], [0, 0]], ["input", "output"]), "0 or 1"),
    (([[0, 1], [1, 0]], ["input", "output"]), "upper-triangular"),
    ((np.triu(np.ones((8, 8), int), 1), ["input"] + [C3] * 6 + ["output"]), "2 to 7"),
    (([[0, 1], [0, 0]], ["input", C3, "output"]), "3 entries"),
    (([[0, 1], [0, 0]], ["output", "input"]), "start with"),
    (([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"]), "unknown NB101 op 'conv5x5'"),
    (([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"]), "does not connect"),
    ((np.triu(np.ones((6, 6), int), 1), ["input"] + [C3] * 4 + ["output"]), "at most 9 edges"),
    (("[[0, 1], [0, 0", ["input", "output"]), "neither JSON nor a Python literal"),
    ({"cell/num_nodes": 3, "cell/op1": C3, "cell/input1": [0]}, "lacks 'cell/input2'"),
    ({"cell/num_nodes": 3, "cell/op1": C3, "cell/input1": [0], "cell/input2": [2]}, "input2 must list"),
    ({"edges": []}, "not an NB101 encoding"),
    (42, "not an NB101 encoding"),
])
def test_malformed(arch, match):
    with pytest.raises(EncodingError, match=match):
        SPACE.parse(arch)


def test_vertex_channels():
    m = [[0, 1, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(128, 128, m) == [128, 43, 43, 42, 128]
    chain = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert vertex_channels(128, 256, chain) == [128, 256, 256, 256]


def test_contract_on_the_edge_cases():
    check_space(SPACE, n=0, archs=[KNOWN, *EDGE_CASES])
    for arch in [KNOWN, *EDGE_CASES]:
        g, model = traced(arch)
        assert g.params == n_params(model)
    assert "slice" in SPACE.to_graph(EDGE_CASES[3]).ops                          # 43 channels truncated to 42
    assert nape.to_graph(KNOWN, space="nb101") == SPACE.to_graph(KNOWN)


def test_reference_module_runs(one_thread):
    model = SPACE.build(EDGE_CASES[3]).eval()
    with torch.no_grad():                      # a small input keeps it fast; the cell shapes are what is checked
        assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_sample_is_uniform_over_unique_cells(table):
    """Vertex and edge counts of samples follow the benchmark's table (a uniform sample of its unique cells)."""
    rng = random.Random(8)
    specs = [SPACE.sample(rng) for _ in range(400)]
    assert len(set(specs)) > 390
    assert all(s.num_edges <= 9 for s in specs)
    seven = np.mean([s.num_vertices == 7 for s in specs])
    nine = np.mean([s.num_edges == 9 for s in specs])
    rows = table.adjacency.map(lambda a: np.array(json.loads(a)))
    assert abs(seven - np.mean([len(m) == 7 for m in rows])) < 0.06
    assert abs(nine - np.mean([m.sum() == 9 for m in rows])) < 0.06


def test_sample_nasbench_method():
    """NB101's / NASLib's own sampler: valid cells, mostly small after pruning."""
    rng = random.Random(9)
    specs = [SPACE.sample(rng, method="nasbench") for _ in range(200)]
    assert all(SPACE.parse(s) == s and s.num_edges <= 9 for s in specs)
    assert np.mean([s.num_vertices == 7 for s in specs]) < 0.2
    with pytest.raises(ValueError, match="unknown sampling method"):
        SPACE.sample(0, method="bogus")


def test_neighbours_and_mutate():
    spec = SPACE.parse(KNOWN)
    nbrs = SPACE.neighbours(spec)
    assert len(nbrs) > 10 and all(nb.num_edges <= 9 for nb in nbrs)
    flips = sum(np.abs(np.array(nb.matrix) - np.array(spec.matrix)).sum() == 1 for nb in nbrs
                if nb.num_vertices == spec.num_vertices and nb.ops == spec.ops)
    ops_only = sum(nb.matrix == spec.matrix for nb in nbrs)
    assert flips > 0 and ops_only == 2 * (spec.num_vertices - 2)


def test_enumerate_refuses():
    with pytest.raises(SpaceTooLargeError, match="423,624"):
        SPACE.enumerate()
