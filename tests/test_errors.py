"""Bad graphs, modules and inputs get specific errors from the NapeError hierarchy that say what to do."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import nape_plugin as nape
from nape_plugin import CompGraph, Node
from nape_plugin.errors import (ConversionError, CyclicGraphError, DisconnectedGraphError, GraphError, NapeError,
                                ShapeError, TraceError)
from nape_plugin.convert.trace import trace

S = (4,)


def n(op: str, name: str = "") -> Node:
    return Node(op, S, S, name=name)


def chain(*ops: str) -> list[Node]:
    return [n("input"), *(n(op, f"{op}{i}") for i, op in enumerate(ops)), n("output")]


# --------------------------------------------------------------------------------------------------- graph structure
def test_hierarchy():
    for cls, base in [(GraphError, ValueError), (CyclicGraphError, GraphError), (DisconnectedGraphError, GraphError),
                      (ConversionError, TypeError), (TraceError, RuntimeError), (ShapeError, ValueError)]:
        assert issubclass(cls, NapeError) and issubclass(cls, base)


def test_cyclic_graph():
    nodes = chain("relu", "tanh")
    with pytest.raises(CyclicGraphError, match=r"edge \(2, 1\) goes from 'tanh1' back to 'relu0'.*DAG"):
        CompGraph(nodes, [(0, 1), (1, 2), (2, 1), (2, 3)])
    with pytest.raises(CyclicGraphError, match=r"cycle: nodes \['1:relu0', '2:tanh1'\] depend on each other"):
        CompGraph.from_edges(nodes, [(0, 1), (1, 2), (2, 1), (2, 3)])


def test_disconnected_graph():
    nodes = chain("relu", "tanh", "sigmoid")
    with pytest.raises(DisconnectedGraphError, match=r"node 2 \(tanh1\) cannot be reached from the input"):
        CompGraph(nodes, [(0, 1), (1, 4), (2, 3), (3, 4)])
    with pytest.raises(DisconnectedGraphError, match=r"node 2 \(tanh1\) does not reach the output \(and 1 more"):
        CompGraph(nodes, [(0, 1), (1, 4), (0, 2), (2, 3)])


@pytest.mark.parametrize("nodes, edges, message", [
    ([n("input")], [], "at least an input and an output node, got 1"),
    ([n("relu"), n("output")], [(0, 1)], "first node must be 'input'"),
    ([n("input"), n("output"), n("output")], [(0, 1), (1, 2)], "node 1 .* is a second 'output'"),
    ([n("input"), n("output")], [(0, 5)], r"edge \(0, 5\) points outside the 2 nodes"),
    ([n("input"), n("swish"), n("output")], [(0, 1), (1, 2)], "op 'swish', which is not in the op vocabulary"),
    ([n("input"), n("output")], [(0, 1), (0, 1)], r"edge \(0, 1\) appears more than once"),
    ([n("input"), "relu", n("output")], [(0, 1), (1, 2)], "node 1 is a str, not a nape_plugin.Node"),
    ([n("input"), n("output")], [(0,)], r"edges must be \(src, dst\) pairs of node indices; got \(0,\)"),
    ([n("input"), n("output")], [("a", "b")], r"edges must be \(src, dst\) pairs"),
])
def test_malformed_graphs(nodes, edges, message):
    with pytest.raises(GraphError, match=message):
        CompGraph(nodes, edges)


def test_meta_must_be_a_mapping():
    with pytest.raises(GraphError, match="meta must be a mapping"):
        CompGraph(chain(), [(0, 1)], meta=[1])


# -------------------------------------------------------------------------------------------------- corrupted JSON
@pytest.fixture
def graph_dict() -> dict:
    return CompGraph(chain("relu"), [(0, 1), (1, 2)]).to_dict()


def test_truncated_json(graph_dict, tmp_path):
    text = json.dumps(graph_dict)
    with pytest.raises(GraphError, match="text is not valid graph JSON .*truncated or corrupted"):
        CompGraph.from_json(text[:-10])
    path = tmp_path / "g.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(GraphError, match=f"{path} is not valid graph JSON"):
        nape.to_graph(path)


def test_binary_file_is_not_graph_json(tmp_path):
    path = tmp_path / "weights.json"
    path.write_bytes(b"\x80\x04\x95\xff\x00binary")
    with pytest.raises(GraphError, match="not a graph JSON file"):
        CompGraph.from_json(path)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: [1, 2], "expected a mapping with 'nodes' and 'edges'"),
    (lambda d: {**d, "format": 0}, "graph format 0 is not the current format"),
    (lambda d: {**d, "nodes": {"0": 1}}, "'nodes' and 'edges' must be lists"),
    (lambda d: {**d, "nodes": [*d["nodes"][:1], 7, *d["nodes"][1:]]}, "a node must be a mapping"),
    (lambda d: {**d, "nodes": [{**d["nodes"][0], "color": 1}, *d["nodes"][1:]]}, r"unknown attributes \['color'\]"),
    (lambda d: {**d, "nodes": [{"in_shape": [4]}, *d["nodes"][1:]]}, "has no op name"),
    (lambda d: {**d, "nodes": [{**d["nodes"][0], "out_shape": "4"}, *d["nodes"][1:]]}, "out_shape must be a list"),
    (lambda d: {**d, "nodes": [{**d["nodes"][0], "flops": 1.5}, *d["nodes"][1:]]}, "flops must be an int"),
    (lambda d: {**d, "nodes": [{**d["nodes"][0], "bias": 1}, *d["nodes"][1:]]}, "bias must be true or false"),
    (lambda d: {**d, "edges": [[0, 1], [1]]}, r"edges must be \(src, dst\) pairs of node indices; got \[1\]"),
    (lambda d: {**d, "edges": [[0, 1]]}, r"node 0 \(input\) does not reach the output"),
])
def test_corrupted_graph_json(graph_dict, mutate, message):
    text = json.dumps(mutate(graph_dict))
    with pytest.raises(GraphError, match=message):
        CompGraph.from_json(text)


# ----------------------------------------------------------------------------------------------------------- tracing
class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.conv(x)
        return x


def test_untraceable_module():
    with pytest.raises(TraceError, match="torch.fx cannot trace DataDependent: TraceError: symbolically traced "
                                         "variables cannot be used as inputs to control flow.*Data-dependent control"
                                         " flow.*nape_op_mappings hook"):
        nape.to_graph(DataDependent(), input_shape=(3, 8, 8))


def test_wrong_input_shape():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    with pytest.raises(ShapeError, match=r"shapes do not propagate through Sequential for input_shape=\(1, 8, 8\): "
                                         r"call_module '0' \(_0\) failed on inputs of shape \[\(1, 1, 8, 8\)\]: "
                                         r"ShapeError: Conv2d expects 3 channels.*Check input_shape"):
        nape.to_graph(m, input_shape=(1, 8, 8))
    with pytest.raises(ShapeError, match=r"call_module '3' .*Linear\(144, 10\) got a tensor of shape \(1, 256\)"):
        nape.to_graph(m, input_shape=(3, 10, 10))
    with pytest.raises(ShapeError, match="Conv2d with kernel .* gives an empty output"):
        nape.to_graph(m, input_shape=(3, 2, 2))


def test_wrong_shape_inside_a_function():
    class Bad(nn.Module):
        def forward(self, x):
            return torch.cat([x, x.flatten(1)], 1)
    with pytest.raises(ShapeError, match=r"call_function 'cat' \(cat\) failed on inputs of shape "
                                         r"\[\(1, 3, 4, 4\), \(1, 48\)\]: RuntimeError"):
        nape.to_graph(Bad(), input_shape=(3, 4, 4))


@pytest.mark.parametrize("shape", [(3, 0, 8), (3.0, 8, 8), "3x8x8", (), None, (True, 8)])
def test_invalid_input_shape_values(shape):
    with pytest.raises(ShapeError, match="input_shape must be a non-empty sequence of positive ints"):
        trace(nn.ReLU(), shape)


def test_missing_input_shape():
    with pytest.raises(ConversionError, match=r"to_graph\(ReLU\) needs input_shape=\(C, H, W\)"):
        nape.to_graph(nn.ReLU())


def test_module_with_two_inputs_or_no_tensor_output():
    class Two(nn.Module):
        def forward(self, x, y):
            return x + y

    class Shape(nn.Module):
        def forward(self, x):
            return x.shape

    with pytest.raises(TraceError, match="Two.forward takes a second required input 'y'"):
        nape.to_graph(Two(), input_shape=(4,))
    with pytest.raises(TraceError, match="Shape returns no tensor computed from its input"):
        nape.to_graph(Shape(), input_shape=(4,))


def test_module_needing_real_values():
    class Item(nn.Module):
        def forward(self, x):
            return x * x.max().item()
    with pytest.raises(ShapeError, match=r"call_method 'item' \(item\) failed .*cannot be traced"):
        nape.to_graph(Item(), input_shape=(4,))


def test_not_a_module():
    with pytest.raises(TraceError, match="expected a torch.nn.Module, got function"):
        trace(lambda x: x, (3, 4, 4))


@pytest.mark.parametrize("obj", [42, object(), b"bytes", [1, 2]])
def test_unknown_object_to_graph(obj):
    expected = rf"no converter accepts builtins.{type(obj).__qualname__}.*torch.nn.Module with input_shape=\(C, H, W\)"
    with pytest.raises(ConversionError, match=expected):
        nape.to_graph(obj)


def test_a_mistyped_encoding_gets_the_closest_spaces_own_error():
    typo = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_conect~0|nor_conv_3x3~1|skip_connect~2|"
    with pytest.raises(ConversionError, match=r"no registered space parses .*; the closest, nb201, says: .*unknown op "
                                              r"'skip_conect' on edge 0 -> 3; ops are none, skip_connect"):
        nape.to_graph(typo)
    with pytest.raises(ConversionError, match=r"the closest, tnb101_micro, says: tnb101_micro cannot read"):
        nape.to_graph("64-41414-3_30_2x3")


def test_unknown_object_with_context():
    with pytest.raises(ConversionError, match=r"no converter accepts builtins.object with input_shape="):
        nape.to_graph(object(), input_shape=(3, 4, 4))
