"""NAS-Bench-301 (Siems et al., 2020): the DARTS cell space, as NB301 trained it on CIFAR-10.

The network: DARTS' NetworkCIFAR with 32 initial channels and 8 cells (reduction cells at positions 2 and 5), a
3x3 conv + BN stem with 96 channels, an auxiliary head after cell 5 (training only, loss weight 0.4) and drop-path 0.2
(NB301's fixed training hyperparameters). A cell has two inputs (the outputs of the two previous cells, preprocessed
by ReLU-conv1x1-BN, or a factorized reduction after a reduction cell) and four nodes; each node sums two ops applied to
two earlier nodes, and the cell concatenates nodes 2 to 5. Ops in reduction cells applied to the inputs use stride 2.

The canonical encoding is NASLib's compact form: per cell (normal, then reduce) eight ``(input_node, op_id)`` pairs,
two per node, with the two pairs of each node sorted (their sum does not depend on the order). Op ids index
:data:`OPS`.
"""
from __future__ import annotations

import ast
import random
from collections import namedtuple
from typing import Any, Hashable, Iterator

import numpy as np
import torch
from torch import nn

from ..errors import EncodingError, SpaceTooLargeError
from ..graph import CompGraph, GraphBuilder
from .base import MAX_TEXT, SearchSpace, as_rng, check_keys, literal

OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                        "dil_conv_3x3", "dil_conv_5x5")
NUM_NODES, CONCAT = 4, (2, 3, 4, 5)
#: Keys of an NNI DARTS sample: an op and an input per pair, and the network's width and depth.
NNI_KEYS = frozenset({f"{c}/{kind}_{n}_{k}" for c in ("normal", "reduce") for kind in ("op", "input")
                      for n in range(2, 2 + NUM_NODES) for k in (0, 1)} | {"width", "depth"})
INIT_CHANNELS, LAYERS, STEM_MULTIPLIER = 32, 8, 3
AUXILIARY, DROP_PATH_PROB = True, 0.2
_CONFIG = "NetworkSelectorDatasetInfo:darts:"

#: DARTS' genotype type (same fields, so genotypes from DARTS code and NB301 convert both ways).
Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

Cell = tuple[tuple[int, int], ...]
NB301Arch = tuple[Cell, Cell]


# ------------------------------------------------------------------------------------------------------ encodings
def _int(v: Any, what: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise EncodingError(f"{what} must be an int, got {v!r:.80} ({type(v).__name__})")
    return int(v)


def _cell(pairs: Any, which: str, genotype: bool) -> Cell:
    """Validate one cell given as (input, op_id) pairs (compact) or (op_name, input) pairs (genotype)."""
    if isinstance(pairs, np.ndarray):
        pairs = pairs.tolist()
    if not isinstance(pairs, (list, tuple)) or len(pairs) != 2 * NUM_NODES:
        raise EncodingError(f"NB301 {which} cell needs {2 * NUM_NODES} pairs (two per node), got "
                            f"{len(pairs) if isinstance(pairs, (list, tuple)) else repr(pairs)}")
    out = []
    for k, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple, np.ndarray)) or len(pair) != 2:
            raise EncodingError(f"NB301 {which} cell pair {k} must be a pair, got {pair!r:.80}")
        node = 2 + k // 2
        if genotype:
            name, inp = pair
            if not isinstance(name, str) or name not in OPS:
                hint = " (NB301 has no 'none' op)" if name == "none" else ""
                raise EncodingError(f"unknown DARTS op {name!r:.80} in {which} cell pair {k}{hint}; ops: "
                                    f"{', '.join(OPS)}")
            op = OPS.index(name)
        else:
            inp, op = pair
            op = _int(op, f"op id of {which} cell pair {k}")
            if not 0 <= op < len(OPS):
                raise EncodingError(f"op id {op} of {which} cell pair {k} is not in 0..{len(OPS) - 1} "
                                    f"({', '.join(OPS)})")
        inp = _int(inp, f"input of {which} cell pair {k}")
        if not 0 <= inp < node:
            raise EncodingError(f"{which} cell pair {k} feeds node {node}, so its input must be in 0..{node - 1}, "
                                f"got {inp}")
        out.append((inp, op))
    return tuple(p for n in range(NUM_NODES) for p in sorted(out[2 * n:2 * n + 2]))


def _concat(value: Any, which: str) -> None:
    """``value`` must be :data:`CONCAT` (a list, tuple or range; a huge range is never materialised)."""
    if value is not None and not (isinstance(value, (list, tuple, range))
                                  and list(value[:len(CONCAT) + 1]) == list(CONCAT)):
        raise EncodingError(f"{which}_concat must be {list(CONCAT)} in NB301 (every node is concatenated), got "
                            f"{value!r:.80}")


def _literal(node: ast.AST) -> Any:
    """A genotype field: a literal, or ``range(...)`` of literal ints (kept a range, so its size costs nothing)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" \
            and not node.keywords and 1 <= len(node.args) <= 3:
        args = [ast.literal_eval(a) for a in node.args]
        if not all(type(a) is int for a in args):
            raise ValueError(f"range() takes ints, got {args!r:.80}")
        return range(*args)
    return ast.literal_eval(node)


def _genotype_str(text: str) -> NB301Arch:
    """Parse ``Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])`` without eval."""
    if len(text) > MAX_TEXT:
        raise EncodingError(f"NB301 genotype string is {len(text):,} characters long; genotypes are far shorter "
                            f"(at most {MAX_TEXT:,}): {text[:80]!r}...")
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        call = None
    name = getattr(getattr(call, "func", None), "id", getattr(getattr(call, "func", None), "attr", None))
    if not isinstance(call, ast.Call) or name != "Genotype":
        raise EncodingError(f"{text[:80]!r} is not an NB301 encoding; expected a DARTS genotype string "
                            "'Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])', a "
                            "compact encoding or an NNI DARTS sample")
    if len(call.args) > len(Genotype._fields):
        raise EncodingError(f"a genotype has {len(Genotype._fields)} fields, got {len(call.args)}: {text[:80]!r}")
    fields = dict(zip(Genotype._fields, call.args))
    fields.update({str(kw.arg): kw.value for kw in call.keywords})
    try:
        values = {k: _literal(v) for k, v in fields.items()}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as e:
        raise EncodingError(f"genotype string has a non-literal field ({str(e)[:80]}): {text[:80]!r}") from None
    return _from_genotype(values)


def _from_genotype(g: dict[str, Any]) -> NB301Arch:
    check_keys(g, Genotype._fields, "NB301 genotype")
    missing = [k for k in ("normal", "reduce") if k not in g]
    if missing:
        raise EncodingError(f"genotype lacks {missing}; it needs normal and reduce cells")
    _concat(g.get("normal_concat"), "normal")
    _concat(g.get("reduce_concat"), "reduce")
    return _cell(g["normal"], "normal", True), _cell(g["reduce"], "reduce", True)


def _from_nni(d: dict) -> NB301Arch:
    check_keys(d, NNI_KEYS, "NNI DARTS sample")
    for key, want in (("width", INIT_CHANNELS), ("depth", LAYERS)):
        if key in d and d[key] != want:
            raise EncodingError(f"this NNI DARTS sample has {key}={d[key]!r:.80}, but NB301 networks have width "
                                f"{INIT_CHANNELS} and {LAYERS} cells; convert the NNI model itself with "
                                "nape.to_graph(model, input_shape=...)")
    cells = []
    for cell in ("normal", "reduce"):
        pairs = []
        for node in range(2, 2 + NUM_NODES):
            for k in range(2):
                op_key, in_key = f"{cell}/op_{node}_{k}", f"{cell}/input_{node}_{k}"
                if op_key not in d or in_key not in d:
                    raise EncodingError(f"NNI DARTS sample lacks {op_key if op_key not in d else in_key!r}")
                inp = d[in_key]
                if isinstance(inp, (list, tuple)):
                    if len(inp) != 1:
                        raise EncodingError(f"{in_key} must choose one input, got {inp!r:.80}")
                    inp = inp[0]
                pairs.append((d[op_key], inp))
        cells.append(_cell(pairs, cell, True))
    return cells[0], cells[1]


def _from_config(d: dict) -> NB301Arch:
    used = set()
    cells = []
    for cell in ("normal", "reduce"):
        pairs = []
        start = 0
        for node in range(2, 2 + NUM_NODES):
            if node == 2:
                inputs = [0, 1]
            else:
                key = f"{_CONFIG}inputs_node_{cell}_{node}"
                if key not in d:
                    raise EncodingError(f"NB301 config lacks {key!r}")
                try:
                    inputs = [int(i) for i in str(d[key]).split("_")]
                except ValueError:
                    inputs = []
                if len(inputs) != 2:
                    raise EncodingError(f"{key} must name two inputs like '0_2', got {d[key]!r:.80}")
            for inp in inputs:
                key = f"{_CONFIG}edge_{cell}_{start + inp}"
                if key not in d:
                    raise EncodingError(f"NB301 config lacks {key!r} (the op from node {inp} to node {node})")
                pairs.append((d[key], inp))
                used.add(key)
            start += node
        cells.append(_cell(pairs, cell, True))
    used |= {f"{_CONFIG}inputs_node_{c}_{n}" for c in ("normal", "reduce") for n in range(3, 2 + NUM_NODES)}
    check_keys({k: v for k, v in d.items() if isinstance(k, str) and k.startswith(_CONFIG)}, used,
               "NB301 config (its architecture part)")
    return cells[0], cells[1]


def _compact(arch: Any) -> NB301Arch:
    if isinstance(arch, np.ndarray):
        arch = arch.tolist()
    if not isinstance(arch, (list, tuple)) or len(arch) != 2:
        raise EncodingError(f"NB301 compact encoding has two cells (normal, reduce), got {len(arch)}")
    return _cell(arch[0], "normal", False), _cell(arch[1], "reduce", False)


def _short(obj: Any) -> str:
    text = repr(obj)
    return f"{type(obj).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


# -------------------------------------------------------------------------------------------- reference module
class ReLUConvBN(nn.Sequential):
    """ReLU -> 1x1 conv -> BN: the preprocessing of a cell input."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))


class FactorizedReduce(nn.Module):
    """Halve the resolution with two strided 1x1 convs, the second on the input shifted by one pixel."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class SepConv(nn.Sequential):
    """Two stacked ReLU -> depthwise kxk -> pointwise -> BN blocks (the first one strided)."""

    def __init__(self, c: int, kernel: int, stride: int):
        p = kernel // 2
        super().__init__(nn.ReLU(), nn.Conv2d(c, c, kernel, stride, p, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c),
                         nn.ReLU(), nn.Conv2d(c, c, kernel, 1, p, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))


class DilConv(nn.Sequential):
    """ReLU -> depthwise kxk conv with dilation 2 -> pointwise -> BN."""

    def __init__(self, c: int, kernel: int, stride: int):
        super().__init__(nn.ReLU(), nn.Conv2d(c, c, kernel, stride, kernel - 1, dilation=2, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))


def make_op(op: str, c: int, stride: int) -> nn.Module:
    """The module of DARTS op ``op`` on ``c`` channels."""
    if op == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    kernel = int(op[-1])
    return SepConv(c, kernel, stride) if op.startswith("sep") else DilConv(c, kernel, stride)


def drop_path(x: torch.Tensor, prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``prob`` and rescale the rest (training only)."""
    keep = 1.0 - prob
    mask = torch.empty(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x / keep * mask


class NB301Cell(nn.Module):
    """One DARTS cell; ``pairs`` are the eight (input, op_id) pairs of its type."""

    def __init__(self, pairs: Cell, c_prev_prev: int, c_prev: int, c: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c)
        self.preprocess1 = ReLUConvBN(c_prev, c)
        self.inputs = tuple(i for i, _ in pairs)
        self.ops = nn.ModuleList(make_op(OPS[op], c, 2 if reduction and i < 2 else 1) for i, op in pairs)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(NUM_NODES):
            hs = []
            for k in (2 * node, 2 * node + 1):
                h = self.ops[k](states[self.inputs[k]])
                if self.training and drop_prob > 0 and not isinstance(self.ops[k], nn.Identity):
                    h = drop_path(h, drop_prob)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat([states[i] for i in CONCAT], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS' auxiliary classifier on the 8x8 feature map (used for the training loss only)."""

    def __init__(self, c: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(), nn.AvgPool2d(5, stride=3, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU())
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class NB301Network(nn.Module):
    """DARTS' NetworkCIFAR for an NB301 architecture, with NB301's training settings.

    In eval mode ``forward`` returns the logits; in training mode with the auxiliary head it returns
    ``(logits, aux_logits)`` as DARTS does (NB301 weighted the auxiliary loss by 0.4). ``drop_path_prob`` applies
    in training only.
    """

    def __init__(self, arch: NB301Arch, num_classes: int = 10, init_channels: int = INIT_CHANNELS,
                 layers: int = LAYERS, auxiliary: bool = AUXILIARY, drop_path_prob: float = DROP_PATH_PROB):
        super().__init__()
        self.arch = arch
        self.drop_path_prob = drop_path_prob
        c = STEM_MULTIPLIER * init_channels
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        c_pp, c_p, c = c, c, init_channels
        self.cells = nn.ModuleList()
        self.aux_position = 2 * layers // 3
        reduction_prev, c_aux = False, c_p
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c = c * 2 if reduction else c
            self.cells.append(NB301Cell(arch[1] if reduction else arch[0], c_pp, c_p, c, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(CONCAT) * c
            if i == self.aux_position:
                c_aux = c_p
        self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_position and self.training and self.auxiliary_head is not None:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(torch.flatten(self.global_pooling(s1), 1))
        return logits if aux is None else (logits, aux)


# ---------------------------------------------------------------------------------------------- direct builder
def _relu_conv_bn(b: GraphBuilder, x: int, c: int) -> int:
    return b.bn(b.conv(b.relu(x), c, 1))


def _factorized_reduce(b: GraphBuilder, x: int, c: int) -> int:
    x = b.relu(x)
    ch, h, w = b.shape(x)
    shifted = b.op("slice", x, (ch, h - 1, w - 1))
    return b.bn(b.concat([b.conv(x, c // 2, 1, stride=2), b.conv(shifted, c // 2, 1, stride=2)]))


def _op(b: GraphBuilder, x: int, op: str, stride: int) -> int:
    c = b.shape(x)[0]
    if op == "max_pool_3x3":
        return b.pool("max", x, 3, stride, 1)
    if op == "avg_pool_3x3":
        return b.pool("avg", x, 3, stride, 1)
    if op == "skip_connect":
        return x if stride == 1 else _factorized_reduce(b, x, c)
    k = int(op[-1])
    if op.startswith("sep"):
        x = b.bn(b.conv(b.conv(b.relu(x), c, k, stride, groups=c), c, 1))
        return b.bn(b.conv(b.conv(b.relu(x), c, k, groups=c), c, 1))
    return b.bn(b.conv(b.conv(b.relu(x), c, k, stride, dilation=2, groups=c), c, 1))


def _cell_graph(b: GraphBuilder, s0: int, s1: int, pairs: Cell, c: int, reduction: bool,
                reduction_prev: bool) -> int:
    states = [_factorized_reduce(b, s0, c) if reduction_prev else _relu_conv_bn(b, s0, c), _relu_conv_bn(b, s1, c)]
    for node in range(NUM_NODES):
        hs = [_op(b, states[i], OPS[op], 2 if reduction and i < 2 else 1) for i, op in pairs[2 * node:2 * node + 2]]
        states.append(b.add(hs))
    return b.concat([states[i] for i in CONCAT])


# --------------------------------------------------------------------------------------------------------- space
class NB301Space(SearchSpace):
    """NAS-Bench-301 (the DARTS space) on CIFAR-10; canonical encoding: NASLib's compact tuple, pairs sorted per node.

    ``parse`` accepts: the compact encoding (two lists of eight ``(input_node, op_id)`` pairs; lists, tuples, numpy
    arrays or its string form as in NB301 tables), DARTS genotype strings and objects with ``normal``/``reduce``
    attributes, NNI DARTS samples (``normal/op_{i}_{k}``, ``normal/input_{i}_{k}``, ``reduce/...``) and NB301's
    ConfigSpace dicts (``NetworkSelectorDatasetInfo:darts:edge_normal_{e}`` ...).
    A node may take the same input twice (DARTS code and NNI allow it); :meth:`sample` and the moves never do.
    """

    name = "nb301"
    input_shape = (3, 32, 32)
    num_classes = 10
    formats = ("compact", "genotype", "genotype_str", "nni", "config")

    def parse(self, arch: Any) -> NB301Arch:
        if isinstance(arch, str):
            text = arch.strip()
            if text.startswith("Genotype"):
                return _genotype_str(text)
            if text[:1] in "([":
                return _compact(literal(text, "NB301 compact encoding"))
            return _genotype_str(text)
        if isinstance(arch, dict):
            if any(isinstance(k, str) and k.startswith(_CONFIG + "edge_") for k in arch):
                return _from_config(arch)
            if any(isinstance(k, str) and k.startswith(("normal/", "reduce/")) for k in arch):
                return _from_nni(arch)
            if "normal" in arch and "reduce" in arch:
                return _from_genotype(arch)
            raise EncodingError(f"dict with keys {sorted(map(str, arch))[:6]} is not an NB301 encoding; expected an "
                                "NNI DARTS sample ('normal/op_2_0', ...) or an NB301 config")
        if hasattr(arch, "normal") and hasattr(arch, "reduce"):
            return _from_genotype({f: getattr(arch, f, None) for f in Genotype._fields})
        if isinstance(arch, (tuple, list, np.ndarray)):
            return _compact(arch)
        raise EncodingError(f"{_short(arch)} is not an NB301 encoding; pass the compact encoding, a DARTS genotype "
                            "(string or object) or an NNI DARTS sample")

    def encode(self, arch: Any, fmt: str = "compact") -> Any:
        a = self.parse(arch)
        if fmt == "compact":
            return a
        if fmt in ("genotype", "genotype_str"):
            g = Genotype(normal=[(OPS[o], i) for i, o in a[0]], normal_concat=list(CONCAT),
                         reduce=[(OPS[o], i) for i, o in a[1]], reduce_concat=list(CONCAT))
            return g if fmt == "genotype" else str(g)
        if fmt == "nni":
            return {f"{cell}/{kind}_{2 + k // 2}_{k % 2}": (OPS[o] if kind == "op" else [i])
                    for cell, pairs in zip(("normal", "reduce"), a) for k, (i, o) in enumerate(pairs)
                    for kind in ("op", "input")}
        if fmt == "config":
            out: dict[str, Any] = {}
            for cell, pairs in zip(("normal", "reduce"), a):
                start = 0
                for node in range(2, 2 + NUM_NODES):
                    (i1, o1), (i2, o2) = pairs[2 * (node - 2):2 * (node - 1)]
                    if i1 == i2:
                        raise EncodingError(f"node {node} of the {cell} cell takes input {i1} twice; NB301 configs "
                                            "name one op per edge and cannot express it")
                    out[f"{_CONFIG}edge_{cell}_{start + i1}"] = OPS[o1]
                    out[f"{_CONFIG}edge_{cell}_{start + i2}"] = OPS[o2]
                    if node > 2:
                        out[f"{_CONFIG}inputs_node_{cell}_{node}"] = f"{i1}_{i2}"
                    start += node
            return out
        raise EncodingError(f"unknown NB301 format {fmt!r}; known: {', '.join(self.formats)}")

    # -------------------------------------------------------------------------------------------- networks
    def build(self, arch: Any) -> NB301Network:
        return NB301Network(self.parse(arch), self.num_classes)

    def to_graph(self, arch: Any) -> CompGraph:
        a = self.parse(arch)
        b = GraphBuilder(self.input_shape)
        c = STEM_MULTIPLIER * INIT_CHANNELS
        s0 = s1 = b.bn(b.conv(b.input, c, 3))
        c = INIT_CHANNELS
        reduction_prev = False
        for i in range(LAYERS):
            reduction = i in (LAYERS // 3, 2 * LAYERS // 3)
            c = c * 2 if reduction else c
            s0, s1 = s1, _cell_graph(b, s0, s1, a[1] if reduction else a[0], c, reduction, reduction_prev)
            reduction_prev = reduction
        x = b.linear(b.flatten(b.global_pool(s1)), self.num_classes)
        return b.build(x, meta={"source": "space", "space": self.name, "arch": str(a),
                                "input_shape": list(self.input_shape)})

    # ----------------------------------------------------------------------------------------------- moves
    def sample(self, rng: random.Random | int | None = None) -> NB301Arch:
        """NASLib's sampler: per node two different inputs and two ops, uniformly."""
        rng = as_rng(rng)
        cells = []
        for _ in range(2):
            pairs = []
            for node in range(2, 2 + NUM_NODES):
                pairs += [(i, rng.randrange(len(OPS))) for i in rng.sample(range(node), 2)]
            cells.append(_cell(pairs, "sampled", False))
        return cells[0], cells[1]

    def neighbours(self, arch: Any) -> list[NB301Arch]:
        """Every distinct architecture one op change or one input change of one node away (NASLib's NB301 moves;
        an input change never makes a node take the same input twice)."""
        a = self.parse(arch)
        seen = {a}
        out: list[NB301Arch] = []
        for c in range(2):
            for k, (inp, op) in enumerate(a[c]):
                other = a[c][k ^ 1][0]
                moves = [(inp, o) for o in range(len(OPS)) if o != op]
                moves += [(i, op) for i in range(2 + k // 2) if i not in (inp, other)]
                for pair in moves:
                    nb = self._replace(a, c, k, pair)
                    if nb not in seen:
                        seen.add(nb)
                        out.append(nb)
        return out

    def mutate(self, arch: Any, rng: random.Random | int | None = None) -> NB301Arch:
        """NASLib's NB301 mutation: in a random cell and pair, change the op or (with equal chance) the input."""
        rng = as_rng(rng)
        a = self.parse(arch)
        while True:
            c, k = rng.randrange(2), rng.randrange(2 * NUM_NODES)
            inp, op = a[c][k]
            if rng.random() < 0.5:
                pair = (inp, rng.choice([o for o in range(len(OPS)) if o != op]))
            else:
                choices = [i for i in range(2 + k // 2) if i not in (inp, a[c][k ^ 1][0])]
                if not choices:
                    continue
                pair = (rng.choice(choices), op)
            child = self._replace(a, c, k, pair)
            if child != a:
                return child

    @staticmethod
    def _replace(a: NB301Arch, c: int, k: int, pair: tuple[int, int]) -> NB301Arch:
        cell = list(a[c])
        cell[k] = pair
        new = _cell(cell, ("normal", "reduce")[c], False)
        return (new, a[1]) if c == 0 else (a[0], new)

    def enumerate(self) -> Iterator[Hashable]:
        raise SpaceTooLargeError("nb301 (the DARTS space) has about 10^18 architectures; use sample() instead")
