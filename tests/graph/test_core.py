"""CompGraph: views, identity (equality and hash independent of numbering), serialisation and summary."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest

from nape_plugin import CompGraph, GraphBuilder, Node
from nape_plugin.errors import GraphError, MissingFileError, PathError
from nape_plugin.graph import GRAPH_FORMAT_VERSION


def two_branch(swap: bool = False, kernel: int = 3) -> CompGraph:
    """input -> conv(k) and conv(1) -> concat -> output, with the branches added in either order."""
    b = GraphBuilder((4, 8, 8))
    branches = [lambda: b.conv(b.input, 4, kernel), lambda: b.relu(b.conv(b.input, 2, 1))]
    xs = [f() for f in (reversed(branches) if swap else branches)]
    return b.build(b.concat(xs))


def test_views_and_totals():
    g = two_branch()
    assert g.num_nodes == 6 and g.num_edges == 6
    assert g.ops == ["input", "conv", "conv", "relu", "concat", "output"]
    assert g.flops == 4 * 64 * 4 * 9 + 2 * 64 * 4
    assert g.params == 4 * 4 * 9 + 2 * 4
    assert g.predecessors[4] == [1, 3] and g.successors[0] == [1, 2]
    assert g.nodes[4].in_shape == g.nodes[4].out_shape == (6, 8, 8)
    assert g.oov == [] and "oov" not in repr(g)
    assert repr(g) == f"CompGraph(nodes=6, edges=6, flops={g.flops / 1e6:.2f}M, params={g.params / 1e6:.3f}M)"


def test_equality_ignores_numbering_and_names():
    g1, g2 = two_branch(), two_branch(swap=True)
    assert g1.ops != g2.ops                                      # different numbering ...
    assert g1 == g2 and hash(g1) == hash(g2)                     # ... same network
    renamed = CompGraph([Node(**{**n.to_dict(), "name": "x"}) for n in g1.nodes], g1.edges)
    assert renamed == g1
    assert len({g1, g2, renamed}) == 1


def test_equality_sees_attributes_and_wiring():
    g = two_branch()
    assert two_branch(kernel=5) != g
    changed = list(g.nodes)
    changed[3] = Node("sigmoid", changed[3].in_shape, changed[3].out_shape)
    assert CompGraph(changed, g.edges) != g
    # same nodes, relu moved before the conv it followed: a different network
    b = GraphBuilder((4, 8, 8))
    other = b.build(b.concat([b.conv(b.input, 4, 3), b.conv(b.relu(b.input), 2, 1)]))
    assert sorted(other.ops) == sorted(g.ops) and other.flops == g.flops and other != g
    assert g != "graph" and g.__eq__(1) is NotImplemented


def test_fingerprint_is_stable_across_processes():
    g = two_branch()
    code = ("import sys; sys.path.insert(0, %r); from test_core import two_branch; print(two_branch().fingerprint)"
            % os.path.dirname(__file__))
    env = {**os.environ, "PYTHONHASHSEED": "123", "NAPE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == g.fingerprint


def test_from_edges_renumbers_topologically():
    g = two_branch()
    order = [5, 3, 0, 4, 2, 1]                                   # order[new] = old
    where = {old: new for new, old in enumerate(order)}
    g2 = CompGraph.from_edges([g.nodes[i] for i in order], [(where[s], where[d]) for s, d in g.edges])
    assert g2.ops[0] == "input" and g2.ops[-1] == "output"
    assert all(s < d for s, d in g2.edges)
    assert g2 == g
    assert CompGraph.from_edges(g.nodes, g.edges).to_dict() == g.to_dict()    # already in order: unchanged


def test_json_pickle_and_meta():
    g = two_branch().with_meta(source="test", input_shape=[4, 8, 8])
    d = g.to_dict()
    assert d["format"] == GRAPH_FORMAT_VERSION and d["meta"] == {"source": "test", "input_shape": [4, 8, 8]}
    g2 = CompGraph.from_json(g.to_json(indent=2))
    assert g2.to_dict() == d and g2 == g
    g3 = pickle.loads(pickle.dumps(g))
    assert g3.to_dict() == d and g3.fingerprint == g.fingerprint and g3.predecessors == g.predecessors
    assert g.with_meta(x=1).meta == {**g.meta, "x": 1} and "x" not in g.meta


def test_summary():
    g = two_branch()
    text = g.summary()
    lines = text.splitlines()
    assert lines[0].split() == ["#", "op", "in", "out", "k/s", "MFLOPs", "params", "name"]
    assert lines[3].split()[:3] == ["1", "conv", "(4,"] and "3/1" in lines[3]
    assert lines[-2] == f"nodes 6  edges 6  FLOPs {g.flops / 1e6:.2f}M  params {g.params:,}"
    assert lines[-1].startswith("ops: conv x2, ")
    oov = CompGraph([*g.nodes[:3], Node("oov", (2, 8, 8), (2, 8, 8), name="Softplus"), *g.nodes[4:]], g.edges)
    assert oov.summary().splitlines()[-1] == "out of vocabulary: Softplus"
    assert oov.oov == ["Softplus"] and "oov=1" in repr(oov)


def test_to_pyg():
    pytest.importorskip("torch_geometric")
    from nape_plugin.graph.features import NUM_NODE_FEATURES
    g = two_branch()
    data = g.to_pyg()
    assert data.x.shape == (6, NUM_NODE_FEATURES) and data.num_nodes == 6
    assert [tuple(e) for e in data.edge_index.T.tolist()] == list(g.edges)
    assert data.u.shape == (1, 3)


# ----------------------------------------------------------------------------------- every field checked at load
def _conv(**change) -> dict:
    d = two_branch().to_dict()
    d["nodes"][1].update(change)
    return d


@pytest.mark.parametrize("change, message", [
    ({"in_shape": [-4, 8, 8]}, "in_shape must have at most 8 entries, each positive"),
    ({"out_shape": [0, 8, 8]}, "out_shape must have at most 8 entries, each positive"),
    ({"stride": [0, 1]}, "stride must have at most 8 entries, each positive"),
    ({"kernel": [3] * 9}, "kernel must have at most 8 entries"),
    ({"groups": 0}, "groups must be in 1..2\\*\\*63-1"),
    ({"flops": -1}, "flops must be in 0..2\\*\\*63-1"),
    ({"params": -5}, "params must be in 0..2\\*\\*63-1"),
    ({"params": 2 ** 70}, "params must be in 0..2\\*\\*63-1"),
    ({"kernel": [3.0, 3.0]}, "kernel must be a list of ints"),
    ({"stride": [True, 1]}, "stride must be a list of ints"),
])
def test_fields_out_of_range_are_graph_errors(change, message):
    with pytest.raises(GraphError, match=message):
        CompGraph.from_dict(_conv(**change))


@pytest.mark.parametrize("edges", [[[0, 1.0]], [[0.5, 1]], [[False, True]], [[0, "1"]], [[0, 1, 2]], 7])
def test_edges_must_be_pairs_of_ints_never_truncated(edges):
    d = two_branch().to_dict()
    d["edges"] = edges if not isinstance(edges, list) else edges + d["edges"][1:]
    with pytest.raises(GraphError, match="edges.* must be"):
        CompGraph.from_dict(d)


def test_nodes_built_in_code_are_checked_too():
    with pytest.raises(GraphError, match="flops must be in"):
        Node("relu", (4,), (4,), flops=-1)
    assert Node("relu", [4, 8], [4, 8]).in_shape == (4, 8)               # lists become the tuples equality uses


@pytest.mark.parametrize("text, message", [
    ('{"nodes": [{"op": "input", "flops": ' + "9" * 5000 + '}], "edges": []}', "not valid graph JSON"),
    ('{"nodes": [{"op": "input", "flops": Infinity}], "edges": []}', "flops must be an int"),
    ("[" * 100_000 + "]" * 100_000, "not valid graph JSON"),
])
def test_hostile_json_is_a_graph_error(text, message):
    with pytest.raises(GraphError, match=message):
        CompGraph.from_json(text)


def test_a_missing_path_or_a_folder_is_a_path_error(tmp_path):
    with pytest.raises(MissingFileError, match="no graph JSON file"):
        CompGraph.from_json(tmp_path / "missing.json")
    with pytest.raises(PathError, match="is a folder, not a graph JSON file"):
        CompGraph.from_json(tmp_path)
    with pytest.raises(GraphError, match="expected graph JSON text or the path"):
        CompGraph.from_json(None)


def test_huge_shapes_featurise_without_overflow():
    b = GraphBuilder((3, 2 ** 40, 2 ** 40, 2 ** 40, 8))              # a 5-d input: numpy's int64 product overflows
    g = b.build(b.relu(b.input))
    x = g.to_pyg().x
    assert bool(x.isfinite().all())
