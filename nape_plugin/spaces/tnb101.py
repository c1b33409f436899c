"""TransNAS-Bench-101 (Duan et al., CVPR 2021): the micro (cell) and macro (skeleton) search spaces and the networks of
its seven tasks.

Every task trains the same encoder (``MacroNet`` of the benchmark code as a backbone): a stem (3x3 conv stride 2 to 32
channels, BN, ReLU-conv-BN stride 2 to 64 channels), then a stack of modules of two blocks each. Each module is coded by
a digit: 1 keeps channels and resolution, 2 doubles the channels, 3 halves the resolution, 4 does both (the first block
of the module changes them).

* micro: the skeleton is fixed to ``41414`` and the block is a NAS-Bench-201-style 4-node cell with ops ``none``,
  ``skip_connect``, ``nor_conv_1x1``, ``nor_conv_3x3`` (4^6 = 4,096 cells). In a module's first, reducing block the ops
  leaving the cell input have stride 2 and double the channels (skip becomes a factorized reduce, none gives zeros of
  the reduced shape).
* macro: the block is a ResNet basic block; the skeleton has 4 to 6 modules, of which 1 to 4 halve the resolution and
  1 to 3 double the channels (3,256 skeletons).

Each task puts its own decoder after the encoder (:data:`TASKS`): a linear classifier on pooled features for
class_scene (47 classes, the benchmark's final label set; NASLib builds 63, pass ``num_classes=63`` to reproduce its
records), class_object (75) and room_layout (9 regressed values), all at 256x256 inputs; jigsaw runs the encoder on
each of 9 tiles of 64x64 pixels (input ``(9, 3, 64, 64)``), concatenates the 9 feature maps and classifies the 1,000
permutations; segmentsemantic (17 classes per pixel) and normal / autoencoder (3 channels, tanh) decode back to
256x256 with conv and transposed-conv layers. ``space.for_task(task)`` gives the space whose networks are those of
``task``; the registered spaces build class_scene.

Encodings: the benchmark's arch strings (canonical), ``"64-41414-1_02_333"`` (micro) and ``"64-1234-basic"``
(macro), and NASLib's op-index tuples: six op ids in the string's edge order (0,1) (0,2) (1,2) (0,3) (1,3) (2,3) with
ids 0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3 (micro), and the skeleton digits padded with zeros to six
(macro).
"""
from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from ..errors import EncodingError, ShapeError, UnknownNameError
from ..graph import CompGraph, GraphBuilder, Node
from ..graph.builder import conv_node, simple_node
from .base import SearchSpace, as_rng
from .nb201 import Block, Cell, ReLUConvBN, Zero, add_cell, assemble, close, int_sequence, relu_conv_bn, stamp

#: Micro op names by TransNAS-Bench-101 op id.
MICRO_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
MICRO_SKELETON = "41414"
BASE_CHANNELS = 64
INPUT_SHAPE = (3, 256, 256)
SCENE_CLASSES = 47
#: Jigsaw's input: 9 tiles of 3 x 64 x 64 pixels.
JIGSAW_INPUT = (9, 3, 64, 64)


@dataclass(frozen=True)
class Task:
    """How TransNAS-Bench-101 trained one task: the input of the network and the decoder after the encoder."""

    input_shape: tuple[int, ...]
    #: ``"linear"`` (pooling and a linear layer), ``"siamese"`` (the encoder on every tile, concatenated, then
    #: ``"linear"``), ``"segmentation"`` or ``"generative"`` (conv / transposed-conv decoders back to the input size).
    decoder: str
    #: Classes, regressed values or output channels.
    outputs: int


#: The seven tasks, in the order of the benchmark's task list.
TASKS: dict[str, Task] = {
    "class_scene": Task(INPUT_SHAPE, "linear", SCENE_CLASSES),
    "class_object": Task(INPUT_SHAPE, "linear", 75),
    "room_layout": Task(INPUT_SHAPE, "linear", 9),
    "jigsaw": Task(JIGSAW_INPUT, "siamese", 1000),
    "segmentsemantic": Task(INPUT_SHAPE, "segmentation", 17),
    "normal": Task(INPUT_SHAPE, "generative", 3),
    "autoencoder": Task(INPUT_SHAPE, "generative", 3),
}

_MICRO_RE = re.compile(r"^(\d+)-(\d+)-(\d)_(\d\d)_(\d\d\d)$")
_CELL_RE = re.compile(r"^(\d)_(\d\d)_(\d\d\d)$")
_MACRO_RE = re.compile(r"^(\d+)-(\d+)-basic$")
MICRO_FORM = "64-41414-a_bc_def (a..f op ids 0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3)"
MACRO_FORM = ("64-<skeleton>-basic, the skeleton 4 to 6 digits 1 (plain), 2 (channels x2), 3 (resolution /2), "
              "4 (both), with 1 to 4 resolution halvings and 1 to 3 channel doublings")


# ------------------------------------------------------------------------------------------- reference modules
class FactorizedReduce(nn.Module):
    """TransNAS-Bench-101's strided skip: ReLU, two 1x1 convs on offset grids, concatenated, BN."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.convs = nn.ModuleList([nn.Conv2d(c_in, c_out // 2, 1, stride=stride, padding=0, bias=False),
                                    nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=stride, padding=0, bias=False)])
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        y = self.pad(x)
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](y[:, :, 1:, 1:])], dim=1))


def micro_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """A TransNAS-Bench-101 micro op module."""
    if name == "none":
        return Zero(c_in, c_out, stride)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out, stride)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, stride, 0)
    return ReLUConvBN(c_in, c_out, 3, stride, 1)


class BasicBlock(nn.Module):
    """TransNAS-Bench-101's ResNet basic block: two ReLU-conv-BN plus a 1x1 conv + BN shortcut when the shape
    changes."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, padding=0, bias=False),
                                        nn.BatchNorm2d(c_out)) if stride != 1 or c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.downsample(x) if self.downsample is not None else x
        return residual + self.conv_b(self.conv_a(x))


def _modules(skeleton: str, base: int) -> list[tuple[int, int, int]]:
    """(c_in, c_out, stride) of every block of a skeleton."""
    blocks, c = [], base
    for digit in skeleton:
        t = int(digit)
        c_out, stride = (2 * c if t % 2 == 0 else c), (2 if t > 2 else 1)
        blocks += [(c, c_out, stride), (c_out, c_out, 1)]
        c = c_out
    return blocks


def _feature_shape(skeleton: str, input_shape: tuple[int, ...], base: int = BASE_CHANNELS) -> tuple[int, int, int]:
    """(C, H, W) of the encoder's output for one image of ``input_shape`` (C, H, W)."""
    h, w = -(-input_shape[-2] // 4), -(-input_shape[-1] // 4)        # the stem's two stride-2 convs
    c = base
    for _, c, stride in _modules(skeleton, base):  # noqa: B007 (c: the last stage's channels)
        h, w = -(-h // stride), -(-w // stride)
    return c, h, w


def upsamplings(feature_width: int, target_width: int = INPUT_SHAPE[-1]) -> int:
    """How many times the dense decoders double the resolution: ``log2(target / feature width)``, 2 to 6."""
    n = (target_width // feature_width).bit_length() - 1
    if not 2 <= n <= 6 or feature_width << n != target_width:
        raise ShapeError(f"the dense decoders double the resolution 2 to 6 times; a {feature_width}-pixel feature "
                         f"map cannot be decoded to {target_width} pixels")
    return n


#: A layer of the dense decoders: output channels, upsampling (a stride-2 transposed conv) or not, activation
#: (``"leaky_relu"``, ``"tanh"`` or None) and batch norm.
Layer = tuple[int, bool, str | None, bool]


def dense_decoder_layers(kind: str, n_up: int, outputs: int) -> list[Layer]:
    """The 3x3 conv layers of the ``"segmentation"`` or ``"generative"`` decoder doubling the resolution ``n_up``
    times (TransNAS-Bench-101's ``SegmentationDecoder`` and ``GenerativeDecoder``)."""
    act = "leaky_relu"
    if kind == "segmentation":
        layers, c = [(1024, False, act, True)], 1024
        for up in [False] * (6 - n_up) + [True] * (n_up - 1):
            c //= 2
            layers.append((c, up, act, True))
        return layers + [(c, True, act, True), (outputs, False, None, False)]
    widths = (1024, 1024, 512, 512, 256, 128, 64, 64, 32, 32, 16, 32, 16)
    ups = (False, False, n_up == 6, False, n_up >= 5, False, n_up >= 4, False, n_up >= 3, False, True, False, True)
    return [(c, up, act, True) for c, up in zip(widths, ups)] + [(outputs, False, "tanh", False)]


def _dense_layer(c_in: int, c_out: int, up: bool, act: str | None, bn: bool) -> nn.Sequential:
    conv = nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1) if up else \
        nn.Conv2d(c_in, c_out, 3, stride=1, padding=1)
    layers: list[nn.Module] = [conv] + ([nn.BatchNorm2d(c_out)] if bn else [])
    if act is not None:
        layers.append(nn.LeakyReLU(0.2) if act == "leaky_relu" else nn.Tanh())
    return nn.Sequential(*layers)


class TNB101Encoder(nn.Module):
    """``MacroNet`` as the benchmark's backbone: the stem and the modules; ``cell`` (six micro op names) selects micro
    cells, ``None`` ResNet basic blocks. Cells sum their inputs with Python ``sum`` where the benchmark code stacks
    and sums them (the same arithmetic)."""

    def __init__(self, skeleton: str, cell: Sequence[str] | None, base: int = BASE_CHANNELS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, base // 2, kernel_size=3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(base // 2), ReLUConvBN(base // 2, base, 3, 2, 1))
        self.layers = nn.Sequential(*(Cell(cell, ci, co, s, micro_op) if cell is not None else BasicBlock(ci, co, s)
                                      for ci, co, s in _modules(skeleton, base)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))


class LinearDecoder(nn.Module):
    """Global average pooling and a linear layer (the benchmark's ``FFDecoder`` and ``SiameseDecoder``)."""

    def __init__(self, channels: int, outputs: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TNB101Network(nn.Module):
    """The network TransNAS-Bench-101 trained for ``task``: the encoder, then the task's decoder (:data:`TASKS`);
    ``num_classes`` overrides the task's number of outputs. For jigsaw the input is ``(batch, 9, 3, 64, 64)``: the
    encoder (one set of weights) runs on every tile and the decoder reads the 9 feature maps concatenated."""

    def __init__(self, skeleton: str, cell: Sequence[str] | None, num_classes: int | None = None,
                 base: int = BASE_CHANNELS, task: str = "class_scene"):
        super().__init__()
        spec = TASKS[task]
        outputs = spec.outputs if num_classes is None else num_classes
        self.tiles = spec.input_shape[0] if spec.decoder == "siamese" else 0
        c, _, w = _feature_shape(skeleton, spec.input_shape, base)
        self.encoder = TNB101Encoder(skeleton, cell, base)
        if spec.decoder in ("linear", "siamese"):
            self.decoder: nn.Module = LinearDecoder(c * max(self.tiles, 1), outputs)
        else:
            layers = []
            for c_out, up, act, bn in dense_decoder_layers(spec.decoder, upsamplings(w), outputs):
                layers.append(_dense_layer(c, c_out, up, act, bn))
                c = c_out
            self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tiles:
            return self.decoder(torch.cat([self.encoder(x[:, i]) for i in range(self.tiles)], dim=1))
        return self.decoder(self.encoder(x))


# ---------------------------------------------------------------------------------------------- direct graphs
def _factorized_reduce(b: GraphBuilder, x: int, c_out: int, stride: int) -> int:
    r = b.relu(x)
    c, h, w = b.shape(r)
    left = b.conv(r, c_out // 2, 1, stride, padding=0)
    right = b.conv(b.op("slice", b.op("pad", r, (c, h + 1, w + 1)), (c, h, w)), c_out - c_out // 2, 1, stride,
                   padding=0)
    return b.bn(b.concat([left, right]))


def _micro_edge(c_out: int, stride: int):
    def edge(b: GraphBuilder, x: int, op: str, from_input: bool) -> int:
        s = stride if from_input else 1
        c, h, w = b.shape(x)
        same = s == 1 and c == c_out
        if op == "none":
            return b.zero(x) if same else b.op("zero", x, (c_out, (h + 1) // s, (w + 1) // s))
        if op == "skip_connect":
            return x if same else _factorized_reduce(b, x, c_out, s)
        return relu_conv_bn(b, x, c_out, 1 if op == "nor_conv_1x1" else 3, s)
    return edge


def _basic_block(b: GraphBuilder, x: int, c_out: int, stride: int) -> int:
    main = relu_conv_bn(b, relu_conv_bn(b, x, c_out, 3, stride), c_out, 3)
    c = b.shape(x)[0]
    short = b.bn(b.conv(x, c_out, 1, stride, padding=0)) if stride != 1 or c != c_out else x
    return b.add([short, main])


@lru_cache(maxsize=64)
def _basic_block_graph(in_shape: tuple[int, ...], c_out: int, stride: int) -> Block:
    b = GraphBuilder(in_shape)
    return Block.from_builder(b, _basic_block(b, b.input, c_out, stride))


def _cell_block(ops: tuple[str, ...], in_shape: tuple[int, ...], c_out: int, stride: int) -> Block:
    b = GraphBuilder(in_shape)
    return Block.from_builder(b, add_cell(b, b.input, ops, _micro_edge(c_out, stride)))


@lru_cache(maxsize=4)
def _stem(input_shape: tuple[int, ...], base: int) -> Block:
    b = GraphBuilder(input_shape)
    return Block.from_builder(b, relu_conv_bn(b, b.bn(b.conv(b.input, base // 2, 3, 2, padding=1)), base, 3, 2))


@lru_cache(maxsize=64)
def _decoder(kind: str, feature_shape: tuple[int, ...], outputs: int) -> Block:
    """The graph of a decoder (``"linear"``, ``"segmentation"`` or ``"generative"``) reading ``feature_shape``."""
    b = GraphBuilder(feature_shape)
    if kind == "linear":
        return Block.from_builder(b, b.linear(b.flatten(b.global_pool(b.input)), outputs))
    x = b.input
    for c_out, up, act, bn in dense_decoder_layers(kind, upsamplings(feature_shape[-1]), outputs):
        if up:
            c, h, w = b.shape(x)
            x = b.node(conv_node((c, h, w), (c_out, 2 * h, 2 * w), (3, 3), (2, 2), (1, 1), 1, True, transpose=True), x)
        else:
            x = b.conv(x, c_out, 3, 1, padding=1, bias=True)
        if bn:
            x = b.bn(x)
        if act is not None:
            x = b.op(act, x)
    return Block.from_builder(b, x)


def _encoder(skeleton: str, cell: tuple[str, ...] | None, input_shape: tuple[int, ...]) -> list[Block]:
    """The blocks of the encoder for one image of ``input_shape``: the stem, then one block per cell."""
    stem = _stem(input_shape, BASE_CHANNELS)
    shape = stem.nodes[stem.out].out_shape
    blocks, cache = [stem], {}
    for _, c_out, stride in _modules(skeleton, BASE_CHANNELS):
        key = (shape, c_out, stride)
        if key not in cache:
            cache[key] = _basic_block_graph(shape, c_out, stride) if cell is None else \
                _cell_block(cell, shape, c_out, stride)
        blk = cache[key]
        blocks.append(blk)
        if blk.out >= 0:            # a cell of skips only passes its input through
            shape = blk.nodes[blk.out].out_shape
    return blocks


def _network_graph(skeleton: str, cell: tuple[str, ...] | None, task: Task, outputs: int,
                   meta: dict[str, Any]) -> CompGraph:
    if task.decoder != "siamese":
        encoder = _encoder(skeleton, cell, task.input_shape)
        shape = _feature_shape(skeleton, task.input_shape)
        return assemble(task.input_shape, (*encoder, _decoder(task.decoder, shape, outputs)), meta)
    tiles, tile = task.input_shape[0], task.input_shape[1:]
    first = _encoder(skeleton, cell, tile)
    again = [blk.without_params() for blk in first]          # the same weights run on the other tiles
    nodes = [Node("input", task.input_shape, task.input_shape)]
    edges: list[tuple[int, int]] = []
    ends = []
    for i in range(tiles):
        nodes.append(simple_node("slice", task.input_shape, tile))
        edges.append((0, len(nodes) - 1))
        ends.append(stamp(nodes, edges, len(nodes) - 1, first if i == 0 else again))
    c, h, w = _feature_shape(skeleton, tile)
    nodes.append(Node("concat", (tiles * c, h, w), (tiles * c, h, w)))
    edges.extend((e, len(nodes) - 1) for e in ends)
    return close(nodes, edges, stamp(nodes, edges, len(nodes) - 1, [_decoder("linear", (tiles * c, h, w), outputs)]),
                 meta)


# ------------------------------------------------------------------------------------------------------ spaces
class _TNB101Space(SearchSpace):
    tasks = tuple(TASKS)

    def __init__(self, num_classes: int | None = None, task: str = "class_scene"):
        if task not in TASKS:
            raise UnknownNameError(f"TransNAS-Bench-101 has no task {task!r}; tasks: {', '.join(TASKS)}")
        self.task = task
        self.spec = TASKS[task]
        self.input_shape = self.spec.input_shape
        self.num_classes = self.spec.outputs if num_classes is None else int(num_classes)

    def for_task(self, task: str) -> _TNB101Space:
        """The space whose networks are those the benchmark trained for ``task`` (with the task's own outputs)."""
        if task not in TASKS:
            super().for_task(task)
        return type(self)(task=task)

    def _graph(self, skeleton: str, cell: tuple[str, ...] | None, arch: str) -> CompGraph:
        return _network_graph(skeleton, cell, self.spec, self.num_classes,
                              {"source": self.name, "arch": arch, "task": self.task,
                               "input_shape": list(self.input_shape)})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} task={self.task!r} input_shape={self.input_shape}>"


class TNB101MicroSpace(_TNB101Space):
    """TransNAS-Bench-101 micro: 4,096 cells in the fixed ``64-41414`` skeleton (``task``'s network, by default
    class_scene's)."""

    name = "tnb101_micro"
    formats = ("arch_str", "op_indices", "cell", "ops")

    def ops(self, arch: Any) -> tuple[str, ...]:
        """The six op names of ``arch`` (any encoding) in edge order (0,1) (0,2) (1,2) (0,3) (1,3) (2,3)."""
        if isinstance(arch, str):
            s = arch.strip()
            m = _MICRO_RE.match(s)
            if m:
                if m.group(1) != str(BASE_CHANNELS) or m.group(2) != MICRO_SKELETON:
                    raise EncodingError(f"tnb101_micro arch {arch!r}: the micro space has base channels "
                                        f"{BASE_CHANNELS} and skeleton {MICRO_SKELETON}, got {m.group(1)} and "
                                        f"{m.group(2)}; expected {MICRO_FORM}")
                return self._from_ids(tuple(int(c) for c in "".join(m.groups()[2:])), arch)
            m = _CELL_RE.match(s)
            if m:
                return self._from_ids(tuple(int(c) for c in "".join(m.groups())), arch)
            ints = int_sequence(s)
            if ints is None:
                raise EncodingError(f"tnb101_micro cannot read {arch!r}: expected {MICRO_FORM}, its cell part "
                                    "'a_bc_def', or six op ids such as '(1, 0, 2, 3, 3, 3)'")
            return self._from_ids(ints, arch)
        if isinstance(arch, (list, tuple)) and len(arch) == 6 and all(isinstance(a, str) for a in arch):
            bad = [a for a in arch if a not in MICRO_OPS]
            if bad:
                raise EncodingError(f"tnb101_micro op list {list(arch)!r}: unknown op {bad[0]!r}; ops are "
                                    f"{', '.join(MICRO_OPS)}")
            return tuple(arch)
        ints = int_sequence(arch)
        if ints is None:
            raise EncodingError(f"tnb101_micro cannot read a {type(arch).__name__} ({arch!r:.80}); give an arch "
                                f"string {MICRO_FORM}, its cell part 'a_bc_def', six op ids or six op names")
        return self._from_ids(ints, arch)

    @staticmethod
    def _from_ids(ids: tuple[int, ...], arch: Any) -> tuple[str, ...]:
        if len(ids) != 6 or any(not 0 <= i < 4 for i in ids):
            raise EncodingError(f"tnb101_micro {arch!r}: need six op ids in 0..3 for the edges (0,1) (0,2) (1,2) (0,3) "
                                "(1,3) (2,3) (ids 0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3), got "
                                f"{list(ids)}")
        return tuple(MICRO_OPS[i] for i in ids)

    def parse(self, arch: Any) -> str:
        return self.encode(arch, "arch_str")

    def encode(self, arch: Any, fmt: str = "arch_str") -> Any:
        ids = tuple(MICRO_OPS.index(o) for o in self.ops(arch))
        cell = "{}_{}{}_{}{}{}".format(*ids)
        if fmt == "arch_str":
            return f"{BASE_CHANNELS}-{MICRO_SKELETON}-{cell}"
        if fmt == "op_indices":
            return ids
        if fmt == "cell":
            return cell
        if fmt == "ops":
            return tuple(MICRO_OPS[i] for i in ids)
        raise EncodingError(f"tnb101_micro has no encoding {fmt!r}; formats: {', '.join(self.formats)}")

    def build(self, arch: Any) -> nn.Module:
        return TNB101Network(MICRO_SKELETON, self.ops(arch), self.num_classes, task=self.task)

    def to_graph(self, arch: Any) -> CompGraph:
        ops = self.ops(arch)
        return self._graph(MICRO_SKELETON, ops, self.encode(ops))

    def sample(self, rng: random.Random | int | None = None) -> str:
        r = as_rng(rng)
        return self.encode(tuple(r.randrange(4) for _ in range(6)))

    def neighbours(self, arch: Any) -> list[str]:
        ids = self.encode(arch, "op_indices")
        return [self.encode(ids[:i] + (v,) + ids[i + 1:]) for i in range(6) for v in range(4) if v != ids[i]]

    def enumerate(self) -> Iterator[str]:
        """All 4,096 cells, op ids in lexicographic order of the arch string."""
        return (self.encode(ids) for ids in itertools.product(range(4), repeat=6))


def _macro_problem(skeleton: str) -> str | None:
    """Why ``skeleton`` is not in the macro space, or None."""
    if not 4 <= len(skeleton) <= 6:
        return f"has {len(skeleton)} modules, the space has 4 to 6"
    if any(c not in "1234" for c in skeleton):
        return "has a module type outside 1..4"
    down = sum(c in "34" for c in skeleton)
    wide = sum(c in "24" for c in skeleton)
    if not 1 <= down <= 4:
        return f"halves the resolution {down} times, the space allows 1 to 4"
    if not 1 <= wide <= 3:
        return f"doubles the channels {wide} times, the space allows 1 to 3"
    return None


@lru_cache(maxsize=1)
def _all_skeletons() -> tuple[str, ...]:
    out = ["".join(p) for n in (4, 5, 6) for p in itertools.product("1234", repeat=n)]
    return tuple(s for s in out if _macro_problem(s) is None)


class TNB101MacroSpace(_TNB101Space):
    """TransNAS-Bench-101 macro: 3,256 skeletons of ResNet basic blocks (``task``'s network, by default
    class_scene's)."""

    name = "tnb101_macro"
    formats = ("arch_str", "op_indices", "skeleton")

    def skeleton(self, arch: Any) -> str:
        """The module digits of ``arch`` (any encoding), e.g. ``"1234"``."""
        if isinstance(arch, str):
            s = arch.strip()
            m = _MACRO_RE.match(s)
            if m:
                if m.group(1) != str(BASE_CHANNELS):
                    raise EncodingError(f"tnb101_macro arch {arch!r}: the macro space has base channels "
                                        f"{BASE_CHANNELS}, got {m.group(1)}; expected {MACRO_FORM}")
                return self._check(m.group(2), arch)
            if s.isdigit():
                return self._check(s, arch)
            ints = int_sequence(s)
            if ints is None:
                raise EncodingError(f"tnb101_macro cannot read {arch!r}: expected {MACRO_FORM}, the skeleton digits "
                                    "alone, or NASLib op indices such as '(1, 2, 3, 4, 0, 0)'")
            return self._from_ints(ints, arch)
        ints = int_sequence(arch)
        if ints is None:
            raise EncodingError(f"tnb101_macro cannot read a {type(arch).__name__} ({arch!r:.80}); give an arch "
                                f"string {MACRO_FORM} or NASLib op indices (skeleton digits padded with zeros to 6)")
        return self._from_ints(ints, arch)

    def _from_ints(self, ints: tuple[int, ...], arch: Any) -> str:
        digits = list(ints)
        while digits and digits[-1] == 0:
            digits.pop()
        if 0 in digits or any(not 0 <= d <= 9 for d in digits):
            raise EncodingError(f"tnb101_macro op indices {arch!r}: module types must be 1..4 with zeros only as "
                                "trailing padding, e.g. (1, 2, 3, 4, 0, 0)")
        return self._check("".join(map(str, digits)), arch)

    @staticmethod
    def _check(skeleton: str, arch: Any) -> str:
        problem = _macro_problem(skeleton)
        if problem:
            raise EncodingError(f"tnb101_macro {arch!r}: skeleton {skeleton!r} {problem}; expected {MACRO_FORM}")
        return skeleton

    def parse(self, arch: Any) -> str:
        return f"{BASE_CHANNELS}-{self.skeleton(arch)}-basic"

    def encode(self, arch: Any, fmt: str = "arch_str") -> Any:
        sk = self.skeleton(arch)
        if fmt == "arch_str":
            return f"{BASE_CHANNELS}-{sk}-basic"
        if fmt == "op_indices":
            return tuple(int(c) for c in sk) + (0,) * (6 - len(sk))
        if fmt == "skeleton":
            return sk
        raise EncodingError(f"tnb101_macro has no encoding {fmt!r}; formats: {', '.join(self.formats)}")

    def build(self, arch: Any) -> nn.Module:
        return TNB101Network(self.skeleton(arch), None, self.num_classes, task=self.task)

    def to_graph(self, arch: Any) -> CompGraph:
        sk = self.skeleton(arch)
        return self._graph(sk, None, self.parse(sk))

    def sample(self, rng: random.Random | int | None = None) -> str:
        return self.parse(as_rng(rng).choice(_all_skeletons()))

    def neighbours(self, arch: Any) -> list[str]:
        """Skeletons one module change away: a module's type changed, a module inserted or one removed."""
        sk = self.skeleton(arch)
        cands = {sk[:i] + c + sk[i + 1:] for i in range(len(sk)) for c in "1234"}
        cands |= {sk[:i] + c + sk[i:] for i in range(len(sk) + 1) for c in "1234"}
        cands |= {sk[:i] + sk[i + 1:] for i in range(len(sk))}
        cands.discard(sk)
        return [self.parse(s) for s in sorted(cands, key=lambda s: (len(s), s)) if _macro_problem(s) is None]

    def enumerate(self) -> Iterator[str]:
        """All 3,256 skeletons, shorter first, then in digit order."""
        return (self.parse(s) for s in _all_skeletons())
