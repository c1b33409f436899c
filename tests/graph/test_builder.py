"""GraphBuilder and the simplification passes, on tiny literal modules traced next to hand-built graphs."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import nape_plugin as nape
from nape_plugin import GraphBuilder, Node
from nape_plugin.graph.builder import IDENTITY, simplify
from nape_plugin.errors import ShapeError


class Fn(nn.Module):
    def __init__(self, fn, **modules: nn.Module):
        super().__init__()
        self.fn = fn
        for k, v in modules.items():
            setattr(self, k, v)

    def forward(self, x):
        return self.fn(self, x)


def convs(n: int = 3, c: int = 4) -> dict[str, nn.Module]:
    return {f"c{i}": nn.Conv2d(c, c, 3, padding=1) for i in range(n)}


def trace(fn, shape=(4, 8, 8), **modules) -> nape.CompGraph:
    return nape.to_graph(Fn(fn, **modules), input_shape=shape)


def test_dropout_and_identity_are_removed_and_edges_rewired():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Dropout(0.5), nn.Identity(), nn.ReLU(), nn.Dropout2d())
    g = nape.to_graph(m, input_shape=(3, 8, 8))
    assert g.ops == ["input", "conv", "relu", "output"]
    assert g.edges == ((0, 1), (1, 2), (2, 3))


def test_single_input_add_mul_concat_are_dropped():
    g = trace(lambda m, x: torch.cat([m.c0(x)], 1) * 1.0 + 0, **convs(1))
    assert g.ops == ["input", "conv", "output"]
    g = trace(lambda m, x: sum([m.c0(x)]), **convs(1))                       # Python's sum starts from 0
    assert g.ops == ["input", "conv", "output"]


def test_x_plus_x_consumes_x_once_and_builder_agrees():
    def fn(m, x):
        c = m.c0(x)
        return c + c.relu() + c
    g = trace(fn, **convs(1))
    assert sorted(g.ops) == sorted(["input", "conv", "relu", "add", "output"])
    assert len(set(g.edges)) == g.num_edges
    b = GraphBuilder((4, 8, 8))
    c = b.conv(b.input, 4, 3, bias=True)
    assert b.build(b.add([c, b.relu(c), c])) == g
    b = GraphBuilder((4, 8, 8))
    c = b.conv(b.input, 4, 3, bias=True)
    assert b.build(b.add([c, c])).ops == ["input", "conv", "output"]


@pytest.mark.parametrize("fn", [
    lambda m, x: m.c0(x) + m.c1(x) + m.c2(x),
    lambda m, x: m.c0(x) + (m.c1(x) + m.c2(x)),
    lambda m, x: sum([m.c0(x), m.c1(x), m.c2(x)]),
    lambda m, x: torch.add(m.c2(x), m.c0(x).add(m.c1(x))),
])
def test_add_chains_merge_into_one_nary_add(fn):
    g = trace(fn, **convs())
    assert g.ops.count("add") == 1
    add = g.ops.index("add")
    assert len(g.predecessors[add]) == 3
    b = GraphBuilder((4, 8, 8))
    assert g == b.build(b.add([b.conv(b.input, 4, 3, bias=True) for _ in range(3)]))


def test_add_used_twice_is_not_merged():
    def fn(m, x):
        s = m.c0(x) + m.c1(x)
        return (s + m.c2(x)) * s.relu()
    g = trace(fn, **convs())
    assert g.ops.count("add") == 2


@pytest.mark.parametrize("fn", [lambda x: x * 0, lambda x: 0 * x, lambda x: x.mul(0.0), lambda x: torch.mul(x, 0),
                                lambda x: torch.zeros_like(x)])
def test_multiplying_by_zero_is_the_zero_op(fn):
    g = trace(lambda m, x: m.c0(x) + fn(m.c1(x)), **convs(2))
    assert g.ops.count("zero") == 1 and g.ops.count("add") == 1
    zero = g.ops.index("zero")
    assert g.ops[g.predecessors[zero][0]] == "conv" and g.ops[g.successors[zero][0]] == "add"


def test_dead_code_is_removed_and_its_parameters_reported():
    def fn(m, x):
        m.c1(x).relu()                      # computed, never used
        return m.c0(x)
    module = Fn(fn, **convs(2))
    g = nape.to_graph(module, input_shape=(4, 8, 8))
    assert g.ops == ["input", "conv", "output"]
    assert g.meta["unused_params"] == sum(p.numel() for p in module.c1.parameters())
    assert g.params + g.meta["unused_params"] == sum(p.numel() for p in module.parameters())


def test_unused_submodule_is_reported_and_shared_weights_counted_once():
    m = Fn(lambda m, x: m.c0(m.c0(x)), **convs(2))
    g = nape.to_graph(m, input_shape=(4, 8, 8))
    assert [n.params for n in g.nodes if n.op == "conv"] == [4 * 4 * 9 + 4, 0]
    assert g.params == sum(p.numel() for p in m.c0.parameters())
    assert g.meta["unused_params"] == sum(p.numel() for p in m.c1.parameters())


def test_constant_operands_with_parameters_are_kept():
    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.cls = nn.Parameter(torch.zeros(1, 1, 8))
            self.pos = nn.Parameter(torch.zeros(1, 6, 8))
            self.scale = nn.Parameter(torch.ones(8))
            self.register_buffer("shift", torch.zeros(8))

        def forward(self, x):
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
            return (x * self.scale + self.shift).relu()
    g = nape.to_graph(Tokens(), input_shape=(5, 8))
    assert g.ops == ["input", "concat", "add", "mul", "relu", "output"]
    assert [n.params for n in g.nodes] == [0, 8, 48, 8, 0, 0]
    assert g.nodes[1].out_shape == (6, 8)


def test_builder_matches_the_tracer():
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.AvgPool2d(3, 1, 1),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    b = GraphBuilder((3, 16, 16))
    x = b.relu(b.bn(b.conv(b.input, 8, 3)))
    x = b.pool("avg", b.conv(b.pool("max", x, 2), 8, 3, groups=8, bias=True), 3, 1, 1)
    g = b.build(b.linear(b.flatten(b.global_pool(x)), 10))
    traced = nape.to_graph(m, input_shape=(3, 16, 16))
    assert g == traced and g.nodes == traced.nodes
    assert g.ops == ["input", "conv", "batchnorm", "relu", "maxpool", "depthwise_conv", "avgpool", "global_avgpool",
                     "reshape", "linear", "output"]
    assert g.params == sum(p.numel() for p in m.parameters())


def test_builder_concat_identity_zero_and_errors():
    b = GraphBuilder((4, 8, 8))
    a, c = b.conv(b.input, 6, 1), b.conv(b.input, 2, 3, stride=2)
    assert b.shape(c) == (2, 4, 4)
    assert b.concat([a]) == a and b.add([a]) == a and b.mul([a]) == a
    cat = b.concat([a, b.conv(b.input, 2, 1)])
    assert b.shape(cat) == (8, 8, 8)
    y = b.add([b.identity(cat), b.zero(cat)])
    g = b.build(y)
    assert g.ops == ["input", "conv", "conv", "concat", "zero", "add", "output"]      # c is dead: removed
    assert [g.nodes[i].out_shape for i in g.predecessors[3]] == [(6, 8, 8), (2, 8, 8)]
    with pytest.raises(ShapeError, match="divisible by groups"):
        b.conv(b.input, 6, 3, groups=4)


def test_simplify_output_aliases_and_node_zero():
    nodes = [Node("input", (2,), (2,)), Node(IDENTITY, (2,), (2,)), Node("relu", (2,), (2,))]
    g = simplify(nodes, [[], [0], [1]], [2])
    assert g.ops == ["input", "relu", "output"] and g.edges == ((0, 1), (1, 2))
    g = simplify(nodes[:2], [[], [0]], [1])            # the whole network is an identity
    assert g.ops == ["input", "output"] and g.edges == ((0, 1),)
