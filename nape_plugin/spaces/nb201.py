"""NAS-Bench-201 (Dong & Yang, ICLR 2020; the topology search space of NATS-Bench).

A cell is a 4-node DAG with an op on each of its 6 edges, chosen from ``none``, ``skip_connect``, ``nor_conv_1x1``,
``nor_conv_3x3`` and ``avg_pool_3x3``: 5^6 = 15,625 architectures. The network (``TinyNetwork`` of the benchmark code)
is a 3x3 conv stem with 16 channels and BN, three stages of 5 cells with 16, 32 and 64 channels joined by ResNet basic
blocks of stride 2, then BN, ReLU, global average pooling and a linear classifier.

Encodings (see :meth:`NB201Space.encode`):

* ``arch_str`` (canonical): ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, groups are the target nodes 1, 2, 3 and ``~k``
  the source node;
* ``naslib``: NASLib's six op ids for the edges (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) with ids 0 skip_connect, 1 none,
  2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3 (also read from its text form ``"(4, 3, 3, 0, 0, 0)"``);
* ``nni``: a sample of NNI's ``NasBench201`` model space, ``{"cell/0_1": "conv_3x3", ...}``;
* ``index``: the benchmark's own architecture index (0 ... 15624), the order of :meth:`NB201Space.enumerate`;
* ``ops``: the six op names in arch-string edge order.

This module also holds what TransNAS-Bench-101's micro space shares with NAS-Bench-201: the ReLU-conv-BN op, the
cell module and the composition of pre-simplified graph blocks used by the fast direct builders.
"""
from __future__ import annotations

import itertools
import numbers
import random
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch
from torch import nn

from ..errors import EncodingError, UnknownNameError
from ..graph import CompGraph, GraphBuilder, Node
from .base import SearchSpace, as_rng, check_keys, literal

#: Op names in the benchmark's order (the order its enumeration uses).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Cell edges (source, target) in arch-string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: NASLib's op ids and edge order.
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
#: NNI's op names for ours.
NNI_OPS: dict[str, str] = {"none": "none", "skip_connect": "skip_connect", "nor_conv_1x1": "conv_1x1",
                           "nor_conv_3x3": "conv_3x3", "avg_pool_3x3": "avg_pool_3x3"}
#: (input shape, classes) of the three data sets the benchmark trained on.
DATASETS: dict[str, tuple[tuple[int, int, int], int]] = {
    "cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100), "ImageNet16-120": ((3, 16, 16), 120)}

ARCH_FORM = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
_NNI_FROM = {v: k for k, v in NNI_OPS.items()}
_NASLIB_POS = [EDGES.index(e) for e in NASLIB_EDGES]       # naslib position -> our edge position
_SEED = 88                                                 # the benchmark's shuffle seed for its index order


def arch_string(ops: Sequence[str]) -> str:
    """The NB201-style arch string of six op names in :data:`EDGES` order."""
    a = ops
    return f"|{a[0]}~0|+|{a[1]}~0|{a[2]}~1|+|{a[3]}~0|{a[4]}~1|{a[5]}~2|"


def parse_arch_string(text: str, op_names: Sequence[str], space: str) -> tuple[str, ...]:
    """Six op names (in :data:`EDGES` order) from an NB201-style arch string; ``EncodingError`` naming the bad part."""
    expect = f"expected the form {ARCH_FORM} with op one of {', '.join(op_names)}"
    what = f"{space} arch string {text!r:.120}"
    s = text.strip()
    if not (s.startswith("|") and s.endswith("|")):
        raise EncodingError(f"{what} must start and end with '|'; {expect}")
    groups = s.split("+")
    if len(groups) != 3:
        raise EncodingError(f"{what} has {len(groups)} '+'-separated group(s), not 3 (one per target node 1, 2, 3); "
                            f"{expect}")
    ops: list[str] = []
    for node, group in enumerate(groups, 1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
            raise EncodingError(f"{what}: group {node} {group!r:.80} must be enclosed in '|'; {expect}")
        tokens = group[1:-1].split("|")
        if len(tokens) != node:
            raise EncodingError(f"{what}: group {node} {group!r:.80} has {len(tokens)} edge(s), expected {node} (one "
                                f"from each node 0..{node - 1}); {expect}")
        for src, token in enumerate(tokens):
            op, sep, k = token.partition("~")
            if not sep or k != str(src):
                raise EncodingError(f"{what}: edge {token!r:.80} of group {node} must read 'op~{src}' (edge {src} -> "
                                    f"{node}); {expect}")
            if op not in op_names:
                raise EncodingError(f"{what}: unknown op {op!r:.80} on edge {src} -> {node}; ops are "
                                    f"{', '.join(op_names)}")
            ops.append(op)
    return tuple(ops)


def int_sequence(arch: Any) -> tuple[int, ...] | None:
    """``arch`` as a tuple of ints if it is a sequence (list, tuple, 1-d array, or its text form) of integers."""
    if isinstance(arch, str):
        s = arch.strip()
        if not (s[:1] in "([" and s[-1:] in ")]"):
            return None
        try:
            arch = literal(s, "an op-index sequence")
        except EncodingError:
            return None
    if hasattr(arch, "tolist") and not isinstance(arch, (str, bytes)):
        arch = arch.tolist()
    if isinstance(arch, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in arch):
        return tuple(arch)
    return None


# ------------------------------------------------------------------------------------------- reference modules
class ReLUConvBN(nn.Sequential):
    """ReLU, convolution without bias, batch norm: the conv op of NAS-Bench-201 and TransNAS-Bench-101."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out))


class Zero(nn.Module):
    """The ``none`` op: zeros, still computed from the input (``x.mul(0.)`` as in the benchmarks)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.c_out, self.stride, self.same = c_out, stride, c_in == c_out and stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            return x.mul(0.)
        s = self.stride      # a cell's reducing edge: zeros of the reduced shape, as TransNAS-Bench-101 makes them
        return x.new_zeros((x.shape[0], self.c_out, (x.shape[2] + 1) // s, (x.shape[3] + 1) // s))


class Cell(nn.Module):
    """A 4-node cell: node ``j`` is the Python ``sum`` of ``op(node i)`` over its incoming :data:`EDGES`.

    ``make_op(name, c_in, c_out, stride)`` builds each edge's op; edges leaving node 0 map ``c_in`` to ``c_out`` with
    ``stride``, the others keep ``c_out`` at stride 1.
    """

    def __init__(self, ops: Sequence[str], c_in: int, c_out: int, stride: int,
                 make_op: Callable[[str, int, int, int], nn.Module]):
        super().__init__()
        self.layers = nn.ModuleList(make_op(op, c_in if s == 0 else c_out, c_out, stride if s == 0 else 1)
                                    for (s, _), op in zip(EDGES, ops))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            nodes.append(sum(layer(nodes[s]) for layer, (s, t) in zip(self.layers, EDGES) if t == target))
        return nodes[3]


def nb201_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """An NAS-Bench-201 op module (the benchmark only uses them with ``c_in == c_out`` and stride 1)."""
    if name == "none":
        return Zero(c_in, c_out, stride)
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, stride, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, stride, 1)
    return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201's reduction block: two ReLU-conv-BN (the first with stride 2) plus an avg-pool + 1x1 conv
    shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NAS-Bench-201 network of one cell (``TinyNetwork``); returns the logits only."""

    def __init__(self, ops: Sequence[str], num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5):
        super().__init__()
        c, n = channels, cells_per_stage
        self.stem = nn.Sequential(nn.Conv2d(3, c, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c))
        cells: list[nn.Module] = []
        c_prev = c
        for stage, c_cur in enumerate((c, 2 * c, 4 * c)):
            if stage:
                cells.append(ResNetBasicBlock(c_prev, c_cur))
            cells.extend(Cell(ops, c_cur, c_cur, 1, nb201_op) for _ in range(n))
            c_prev = c_cur
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.global_pooling(self.lastact(x))
        return self.classifier(x.view(x.size(0), -1))


# ----------------------------------------------------------------------------------------- fast graph assembly
@dataclass(frozen=True)
class Block:
    """A simplified sub-graph with one input and one output, ready to be stamped into a network's graph.

    ``nodes`` are in topological order; ``edges`` join them (local indices); ``readers`` are the nodes reading the
    block's input; ``out`` is the node giving its output (-1: the input passes straight through).
    """

    nodes: tuple[Node, ...]
    edges: tuple[tuple[int, int], ...]
    readers: tuple[int, ...]
    out: int

    @classmethod
    def from_builder(cls, b: GraphBuilder, out: int) -> Block:
        """The block between ``b.input`` and ``out``, simplified as a whole graph would be."""
        g = b.build(out)
        last = g.num_nodes - 1
        return cls(g.nodes[1:-1], tuple((s - 1, d - 1) for s, d in g.edges if s > 0 and d < last),
                   tuple(d - 1 for s, d in g.edges if s == 0 and d < last),
                   next(s - 1 for s, d in g.edges if d == last))

    def translate(self, mapping: Mapping[Node, Node]) -> Block:
        """The same block with every node replaced by ``mapping[node]``."""
        return Block(tuple(mapping[n] for n in self.nodes), self.edges, self.readers, self.out)

    def without_params(self) -> Block:
        """The same block with no parameters on its nodes: a second call of modules whose weights are shared (the
        tracer puts a parameter on the first node that uses it)."""
        return Block(tuple(replace(n, params=0) for n in self.nodes), self.edges, self.readers, self.out)


def stamp(nodes: list[Node], edges: list[tuple[int, int]], cur: int, blocks: Sequence[Block]) -> int:
    """Append ``blocks``, applied one after the other to node ``cur``, to a graph's ``nodes`` and ``edges``; returns the
    node giving their output."""
    for blk in blocks:
        off = len(nodes)
        nodes.extend(blk.nodes)
        edges.extend([(cur, off + r) for r in blk.readers])
        edges.extend([(off + s, off + d) for s, d in blk.edges])
        if blk.out >= 0:
            cur = off + blk.out
    return cur


def close(nodes: list[Node], edges: list[tuple[int, int]], cur: int, meta: dict[str, Any]) -> CompGraph:
    """The graph of ``nodes`` and ``edges`` whose output is node ``cur``."""
    out_shape = nodes[cur].out_shape
    nodes.append(Node("output", out_shape, out_shape))
    edges.append((cur, len(nodes) - 1))
    return CompGraph(nodes, edges, meta, validate=False)


def assemble(input_shape: Sequence[int], blocks: Sequence[Block], meta: dict[str, Any]) -> CompGraph:
    """The graph of ``blocks`` applied one after the other to the input.

    Equal to simplifying the whole network at once when no node of a block would be merged into, or removed because
    of, a neighbouring block. That holds for the benchmark networks here: a block that does not pass its input straight
    through reads it from at least two nodes, so no add merges across blocks (checked on every architecture of nb201,
    tnb101_micro and tnb101_macro against one builder for the whole network).
    """
    shape = tuple(input_shape)
    nodes: list[Node] = [Node("input", shape, shape)]
    edges: list[tuple[int, int]] = []
    return close(nodes, edges, stamp(nodes, edges, 0, blocks), meta)


def add_cell(b: GraphBuilder, x: int, ops: Sequence[str], edge: Callable[[GraphBuilder, int, str, bool], int]) -> int:
    """Emit a 4-node cell reading ``x``; ``edge(b, source, op, from_input)`` emits one edge's op. Returns node 3."""
    nodes = [x]
    for target in (1, 2, 3):
        nodes.append(b.add([edge(b, nodes[s], op, s == 0) for (s, t), op in zip(EDGES, ops) if t == target]))
    return nodes[3]


def relu_conv_bn(b: GraphBuilder, x: int, c_out: int, kernel: int, stride: int = 1) -> int:
    """The graph of :class:`ReLUConvBN` ('same' padding)."""
    return b.bn(b.conv(b.relu(x), c_out, kernel, stride, padding=kernel // 2))


def _nb201_edge(b: GraphBuilder, x: int, op: str, from_input: bool) -> int:
    c = b.shape(x)[0]
    if op == "none":
        return b.zero(x)
    if op == "skip_connect":
        return x
    if op == "avg_pool_3x3":
        return b.pool("avg", x, 3, 1, 1)
    return relu_conv_bn(b, x, c, 1 if op == "nor_conv_1x1" else 3)


def _stage_shapes(input_shape: Sequence[int], channels: int) -> list[tuple[int, int, int]]:
    """(C, H, W) of the cells of each of the three stages."""
    h, w = input_shape[1:]
    return [(channels * 2 ** i, -(-h // 2 ** i), -(-w // 2 ** i)) for i in range(3)]


@lru_cache(maxsize=8)
def _fixed_blocks(input_shape: tuple[int, ...], num_classes: int, channels: int) -> tuple[Block, ...]:
    """Stem, the two reduction blocks and the head: the same for every architecture."""
    shapes = _stage_shapes(input_shape, channels)
    b = GraphBuilder(input_shape)
    stem = Block.from_builder(b, b.bn(b.conv(b.input, channels, 3, padding=1)))
    blocks = [stem]
    for stage in (1, 2):
        b = GraphBuilder(shapes[stage - 1])
        c = shapes[stage][0]
        main = relu_conv_bn(b, relu_conv_bn(b, b.input, c, 3, 2), c, 3)
        short = b.conv(b.pool("avg", b.input, 2, 2), c, 1, padding=0)
        blocks.append(Block.from_builder(b, b.add([short, main])))
    b = GraphBuilder(shapes[2])
    blocks.append(Block.from_builder(b, b.linear(b.flatten(b.global_pool(b.relu(b.bn(b.input)))), num_classes)))
    return tuple(blocks)


@lru_cache(maxsize=8)
def _stage_maps(input_shape: tuple[int, ...], channels: int) -> tuple[dict[Node, Node], ...]:
    """For each stage, the node of every cell op at that stage keyed by the same node at stage 0."""
    per_stage = []
    for shape in _stage_shapes(input_shape, channels):
        b = GraphBuilder(shape)
        for op in OPS:
            _nb201_edge(b, b.input, op, True)
        b.add([b.input, b.input])
        per_stage.append(b.nodes[1:])
    return tuple(dict(zip(per_stage[0], nodes)) for nodes in per_stage)


# ------------------------------------------------------------------------------------------------------- space
@lru_cache(maxsize=1)
def _all_ops() -> tuple[tuple[str, ...], ...]:
    """Every cell in the benchmark's index order: its enumeration shuffled with its fixed seed."""
    cells = list(itertools.product(OPS, repeat=6))
    random.Random(_SEED).shuffle(cells)
    return tuple(cells)


@lru_cache(maxsize=1)
def _index_of() -> dict[tuple[str, ...], int]:
    return {ops: i for i, ops in enumerate(_all_ops())}


class NB201Space(SearchSpace):
    """NAS-Bench-201. ``dataset`` picks the input shape and classes: cifar10 (default), cifar100, ImageNet16-120."""

    name = "nb201"
    formats = ("arch_str", "naslib", "nni", "index", "ops")

    def __init__(self, dataset: str = "cifar10"):
        if dataset not in DATASETS:
            raise UnknownNameError(f"unknown NAS-Bench-201 data set {dataset!r}; choose one of {', '.join(DATASETS)}")
        self.dataset = dataset
        self.input_shape, self.num_classes = DATASETS[dataset]
        self.channels = 16

    # --------------------------------------------------------------------------------------------- encodings
    def ops(self, arch: Any) -> tuple[str, ...]:
        """The six op names of ``arch`` (any encoding) in :data:`EDGES` order."""
        if isinstance(arch, str):
            if "|" in arch or "~" in arch:
                return parse_arch_string(arch, OPS, self.name)
            ints = int_sequence(arch)
            if ints is None:
                raise EncodingError(f"nb201 cannot read {arch!r:.120}: expected an arch string {ARCH_FORM} or a NASLib "
                                    "op-index tuple such as '(2, 2, 0, 4, 2, 0)'")
            return self._from_naslib(ints)
        if isinstance(arch, numbers.Integral) and not isinstance(arch, bool):
            return self._from_index(int(arch))
        if isinstance(arch, Mapping):
            return self._from_nni(arch)
        if isinstance(arch, (list, tuple)) and len(arch) == 6 and all(isinstance(a, str) for a in arch):
            bad = [a for a in arch if a not in OPS]
            if bad:
                raise EncodingError(f"nb201 op list {list(arch)!r:.200}: unknown op {bad[0]!r:.80}; ops are "
                                    f"{', '.join(OPS)}")
            return tuple(arch)
        ints = int_sequence(arch)
        if ints is not None:
            return self._from_naslib(ints)
        raise EncodingError(f"nb201 cannot read a {type(arch).__name__} ({arch!r:.80}); give an arch string "
                            f"{ARCH_FORM}, a NASLib op-index tuple, an NNI sample dict, an index 0..15624 or six op "
                            "names")

    def _from_naslib(self, ints: tuple[int, ...]) -> tuple[str, ...]:
        if len(ints) != 6 or any(not 0 <= v < 5 for v in ints):
            raise EncodingError(f"nb201 NASLib op indices {ints!r:.80} must be 6 ids in 0..4 for the edges (0,1) (0,2) "
                                "(0,3) (1,2) (1,3) (2,3); ids: " + ", ".join(f"{i} {o}" for i, o in
                                                                             enumerate(NASLIB_OPS)))
        ops = [""] * 6
        for k, v in enumerate(ints):
            ops[_NASLIB_POS[k]] = NASLIB_OPS[v]
        return tuple(ops)

    def _from_index(self, index: int) -> tuple[str, ...]:
        if not 0 <= index < 15625:
            raise EncodingError(f"nb201 index {index} is out of range; NAS-Bench-201 indices are 0..15624")
        return _all_ops()[index]

    def _from_nni(self, sample: Mapping) -> tuple[str, ...]:
        short = [f"{s}_{t}" for s, t in EDGES]
        check_keys(sample, {*short, *(f"cell/{k}" for k in short)}, "nb201 NNI sample")
        found = {str(k).removeprefix("cell/"): v for k, v in sample.items()}
        missing = [f"cell/{k}" for k in short if k not in found]
        if missing:
            raise EncodingError(f"nb201 NNI sample lacks {', '.join(missing)}; expected the six keys cell/0_1, "
                                "cell/0_2, cell/1_2, cell/0_3, cell/1_3, cell/2_3")
        ops = []
        for s, t in EDGES:
            v = found[f"{s}_{t}"]
            if not isinstance(v, str) or v not in _NNI_FROM:
                raise EncodingError(f"nb201 NNI sample: unknown op {v!r:.80} for cell/{s}_{t}; NNI's ops are "
                                    f"{', '.join(NNI_OPS.values())}")
            ops.append(_NNI_FROM[v])
        return tuple(ops)

    def parse(self, arch: Any) -> str:
        return arch_string(self.ops(arch))

    def encode(self, arch: Any, fmt: str = "arch_str") -> Any:
        ops = self.ops(arch)
        if fmt == "arch_str":
            return arch_string(ops)
        if fmt == "naslib":
            return tuple(NASLIB_OPS.index(ops[p]) for p in _NASLIB_POS)
        if fmt == "nni":
            return {f"cell/{s}_{t}": NNI_OPS[op] for (s, t), op in zip(EDGES, ops)}
        if fmt == "index":
            return _index_of()[ops]
        if fmt == "ops":
            return ops
        raise EncodingError(f"nb201 has no encoding {fmt!r}; formats: {', '.join(self.formats)}")

    # ------------------------------------------------------------------------------------------------ models
    def build(self, arch: Any) -> nn.Module:
        return NB201Network(self.ops(arch), self.num_classes, self.channels)

    def to_graph(self, arch: Any) -> CompGraph:
        ops = self.ops(arch)
        stem, red1, red2, head = _fixed_blocks(self.input_shape, self.num_classes, self.channels)
        b = GraphBuilder(_stage_shapes(self.input_shape, self.channels)[0])
        cell = Block.from_builder(b, add_cell(b, b.input, ops, _nb201_edge))
        c1, c2, c3 = (cell.translate(m) for m in _stage_maps(self.input_shape, self.channels))
        return assemble(self.input_shape, (stem, *[c1] * 5, red1, *[c2] * 5, red2, *[c3] * 5, head),
                        {"source": self.name, "arch": arch_string(ops), "input_shape": list(self.input_shape)})

    # ------------------------------------------------------------------------------------------------- moves
    def sample(self, rng: random.Random | int | None = None) -> str:
        r = as_rng(rng)
        return arch_string([OPS[r.randrange(5)] for _ in range(6)])

    def neighbours(self, arch: Any) -> list[str]:
        ops = self.ops(arch)
        return [arch_string(ops[:i] + (op,) + ops[i + 1:]) for i in range(6) for op in OPS if op != ops[i]]

    def enumerate(self) -> Iterator[str]:
        """All 15,625 cells in NAS-Bench-201's index order (``encode(arch, "index")`` is the position)."""
        return (arch_string(ops) for ops in _all_ops())
