"""Making computation graphs: node factories, the canonical simplification, and :class:`GraphBuilder`.

The tracer and the direct builders of benchmark spaces both create nodes through the factories here and both finish
with :func:`simplify`, which is what makes ``space.to_graph(arch) == nape.to_graph(space.build(arch), ...)`` hold.

Simplification (as in GENNAPE's CG passes): identity-like nodes (identity, dropout, ``x + 0``) are removed and their
edges rewired; repeated inputs of a node become one edge; add/mul/concat nodes with a single tensor input are dropped
unless they carry parameters or change the shape; chains of adds where an inner add feeds only the outer one become one
n-ary add (``sum([a, b, c])`` and ``a + (b + c)`` give the same graph); nodes that do not reach the output are removed.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..errors import ShapeError
from . import ops as O
from .core import CompGraph, Node, Shape

#: Pseudo-op of nodes that :func:`simplify` removes, rewiring their consumers to their input.
IDENTITY = "identity"


def _tup(v: int | Sequence[int], n: int) -> Shape:
    return tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else (int(v),) * n


# ------------------------------------------------------------------------------------------------- node factories
def conv_node(in_shape: Shape, out_shape: Shape, kernel: Sequence[int], stride: Sequence[int],
              dilation: Sequence[int], groups: int, bias: bool, name: str = "", transpose: bool = False) -> Node:
    """A (grouped / depthwise / transposed) convolution; ``depthwise_conv`` when every group has one input channel."""
    cin, cout = in_shape[0], out_shape[0]
    op = "conv_transpose" if transpose else ("depthwise_conv" if groups > 1 and groups == cin else "conv")
    kernel = tuple(kernel)
    return Node(op, tuple(in_shape), tuple(out_shape), kernel, tuple(stride), tuple(dilation), int(groups), bool(bias),
                O.conv_flops(in_shape if transpose else out_shape, cout if transpose else cin, kernel, groups),
                O.conv_params(cin, cout, kernel, groups, bias), name)


def linear_node(in_shape: Shape, out_shape: Shape, bias: bool, name: str = "") -> Node:
    return Node("linear", tuple(in_shape), tuple(out_shape), bias=bool(bias),
                flops=O.linear_flops(out_shape, in_shape[-1]),
                params=O.linear_params(in_shape[-1], out_shape[-1], bias), name=name)


def norm_node(op: str, in_shape: Shape, channels: int, affine: bool, name: str = "") -> Node:
    return Node(op, tuple(in_shape), tuple(in_shape), params=O.norm_params(channels, affine), name=name)


def pool_node(op: str, in_shape: Shape, out_shape: Shape, kernel: Sequence[int], stride: Sequence[int],
              name: str = "", dilation: Sequence[int] | None = None) -> Node:
    kernel = tuple(kernel)
    return Node(op, tuple(in_shape), tuple(out_shape), kernel, tuple(stride),
                (1,) * len(kernel) if dilation is None else tuple(dilation), flops=O.pool_flops(out_shape, kernel),
                name=name)


def global_pool_node(op: str, in_shape: Shape, out_shape: Shape, name: str = "") -> Node:
    return Node(op, tuple(in_shape), tuple(out_shape), flops=O.prod(in_shape), name=name)


def simple_node(op: str, in_shape: Shape, out_shape: Shape, params: int = 0, flops: int = 0, name: str = "") -> Node:
    """Any node without kernel attributes (activations, elementwise, reshapes, pads, zero, oov ...)."""
    return Node(O.canonical_op(op), tuple(in_shape), tuple(out_shape), params=int(params), flops=int(flops),
                name=name if op in O.OP_INDEX else (name or op))


# --------------------------------------------------------------------------------------------------- simplification
def simplify(nodes: Sequence[Node], inputs: Sequence[Sequence[int]], outputs: Sequence[int],
             meta: dict[str, Any] | None = None) -> CompGraph:
    """Turn raw nodes (``inputs[i]`` = ordered producer indices of node ``i``, all ``< i``; node 0 the network input)
    into a canonical :class:`CompGraph` whose output node consumes ``outputs``.

    A node consumes each producer once (edges are unique). An add/mul/concat with a single tensor input is dropped
    unless it carries parameters or changes the shape (``x + pos_embed``, ``cat([cls_token, x])`` stay).
    """
    n = len(nodes)
    alias = list(range(n))
    preds: list[list[int]] = [[] for _ in range(n)]
    for i in range(1, n):
        preds[i] = list(dict.fromkeys(alias[p] for p in inputs[i]))
        node = nodes[i]
        if node.op == IDENTITY or (node.op in O.MULTI_INPUT and len(preds[i]) == 1 and not node.params
                                   and node.out_shape == nodes[preds[i][0]].out_shape):
            alias[i] = preds[i][0]
    outs = list(dict.fromkeys(alias[o] for o in outputs))
    live = [alias[i] == i for i in range(n)]
    uses = [0] * n
    for i in range(1, n):
        if live[i]:
            for p in preds[i]:
                uses[p] += 1
    for o in outs:
        uses[o] += 1
    for i in range(1, n):  # merge add chains, innermost first
        if live[i] and nodes[i].op == "add" and any(nodes[p].op == "add" for p in preds[i]):
            merged: list[int] = []
            for p in preds[i]:
                if nodes[p].op == "add" and uses[p] == 1 and not nodes[p].params:
                    merged.extend(preds[p])
                    live[p] = False
                else:
                    merged.append(p)
            preds[i] = list(dict.fromkeys(merged))
    reach = [False] * n
    for o in outs:
        reach[o] = True
    for i in range(n - 1, 0, -1):
        if reach[i] and live[i]:
            for p in preds[i]:
                reach[p] = True
    reach[0] = True
    keep = [i for i in range(n) if reach[i] and live[i]]
    pos = {old: new for new, old in enumerate(keep)}
    out_node = len(keep)
    final = [nodes[i] for i in keep]
    out_shape = nodes[outs[0]].out_shape if outs else ()
    final.append(Node("output", out_shape, out_shape))
    edges = [(pos[p], pos[i]) for i in keep for p in preds[i]] + [(pos[o], out_node) for o in outs]
    return CompGraph(final, edges, meta)


# --------------------------------------------------------------------------------------------------------- builder
class GraphBuilder:
    """Builds a computation graph op by op, computing shapes, FLOPs and params as the tracer would.

    >>> b = GraphBuilder((3, 32, 32))
    >>> x = b.relu(b.bn(b.conv(b.input, 16, 3, padding=1)))
    >>> g = b.build(b.linear(b.flatten(b.global_pool(x)), 10))
    """

    def __init__(self, input_shape: Sequence[int]):
        shape = tuple(int(s) for s in input_shape)
        self.nodes: list[Node] = [Node("input", shape, shape)]
        self.inputs: list[list[int]] = [[]]
        self.input = 0

    def shape(self, x: int) -> Shape:
        return self.nodes[x].out_shape

    def node(self, node: Node, *inputs: int) -> int:
        """Append a ready-made node consuming ``inputs``; returns its index."""
        self.nodes.append(node)
        self.inputs.append(list(inputs))
        return len(self.nodes) - 1

    def op(self, op: str, x: int, out_shape: Shape | None = None, params: int = 0, flops: int = 0,
           name: str = "") -> int:
        """A node without kernel attributes, shape-preserving unless ``out_shape`` is given."""
        s = self.shape(x)
        return self.node(simple_node(op, s, s if out_shape is None else out_shape, params, flops, name), x)

    def identity(self, x: int) -> int:
        return self.node(Node(IDENTITY, self.shape(x), self.shape(x)), x)

    def relu(self, x: int) -> int:
        return self.op("relu", x)

    def zero(self, x: int) -> int:
        return self.op("zero", x)

    def conv(self, x: int, out_channels: int, kernel: int | Sequence[int], stride: int | Sequence[int] = 1,
             padding: int | Sequence[int] | None = None, dilation: int | Sequence[int] = 1, groups: int = 1,
             bias: bool = False, name: str = "") -> int:
        """Convolution; ``padding=None`` means 'same' padding for odd kernels: dilation * (kernel - 1) // 2."""
        s = self.shape(x)
        nd = len(s) - 1
        k, st, d = _tup(kernel, nd), _tup(stride, nd), _tup(dilation, nd)
        p = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d)) if padding is None else _tup(padding, nd)
        if s[0] % groups or out_channels % groups:
            raise ShapeError(f"conv with groups={groups} needs channels divisible by groups, got {s[0]} -> "
                             f"{out_channels}")
        out = (out_channels, *(O.conv_out(h, ki, si, pi, di) for h, ki, si, pi, di in zip(s[1:], k, st, p, d)))
        return self.node(conv_node(s, out, k, st, d, groups, bias, name), x)

    def bn(self, x: int, affine: bool = True, name: str = "") -> int:
        return self.node(norm_node("batchnorm", self.shape(x), self.shape(x)[0], affine, name), x)

    def pool(self, kind: str, x: int, kernel: int, stride: int | None = None, padding: int = 0,
             ceil_mode: bool = False, name: str = "") -> int:
        """``kind`` is ``"max"`` or ``"avg"``."""
        s = self.shape(x)
        nd = len(s) - 1
        stride = kernel if stride is None else stride
        out = (s[0], *(O.pool_out(h, kernel, stride, padding, ceil_mode) for h in s[1:]))
        return self.node(pool_node(f"{kind}pool", s, out, _tup(kernel, nd), _tup(stride, nd), name), x)

    def global_pool(self, x: int, kind: str = "avg", keepdim: bool = True, name: str = "") -> int:
        s = self.shape(x)
        out = (s[0], *(1 for _ in s[1:])) if keepdim else (s[0],)
        return self.node(global_pool_node(f"global_{kind}pool", s, out, name), x)

    def flatten(self, x: int) -> int:
        return self.op("reshape", x, (O.prod(self.shape(x)),))

    def linear(self, x: int, out_features: int, bias: bool = True, name: str = "") -> int:
        s = self.shape(x)
        return self.node(linear_node(s, (*s[:-1], out_features), bias, name), x)

    def _multi(self, op: str, xs: Sequence[int], out_shape: Shape) -> int:
        return self.node(Node(op, out_shape, out_shape), *xs)

    def add(self, xs: Sequence[int]) -> int:
        """n-ary sum; a single input is passed through."""
        return xs[0] if len(xs) == 1 else self._multi("add", xs, self.shape(xs[0]))

    def mul(self, xs: Sequence[int]) -> int:
        return xs[0] if len(xs) == 1 else self._multi("mul", xs, self.shape(xs[0]))

    def concat(self, xs: Sequence[int], dim: int = 0) -> int:
        """Concatenation along ``dim`` of the shapes (0 = channels); a single input is passed through."""
        if len(xs) == 1:
            return xs[0]
        s = list(self.shape(xs[0]))
        s[dim] = sum(self.shape(x)[dim] for x in xs)
        return self._multi("concat", xs, tuple(s))

    def build(self, *outputs: int, meta: dict[str, Any] | None = None) -> CompGraph:
        """Finish the graph with an output node consuming ``outputs`` (simplified as the tracer does)."""
        return simplify(self.nodes, self.inputs, list(outputs), meta)
