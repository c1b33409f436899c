"""NAS-Bench-101 (Ying et al., ICML 2019): cells of at most 7 vertices and 9 edges over three ops.

The network trained by the benchmark: a 3x3 conv-BN-ReLU stem with 128 channels, three stacks of three identical cells,
a 2x2 max pool halving the resolution and doubling the channels between stacks, global average pooling and a dense
layer to 10 classes. Inside a cell, the output concatenates the interior vertices feeding it (channels split evenly,
earlier vertices taking the remainder), tensors from the cell input always pass a 1x1 conv-BN-ReLU projection, interior
vertices sum their inputs, and a tensor with one channel too many is truncated.

Architectures are canonicalised to the pruned spec the benchmark itself stores (and trained) for their graph hash:
of all vertex orders of an isomorphic cell, the one its enumeration met first (fewest-bits adjacency, then smallest op
labelling). Isomorphic specs therefore canonicalise equally, and :meth:`NB101Space.arch_id` is the NB101 hash.
"""
from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import random
import re
from functools import cache, lru_cache
from typing import Any, Hashable, Iterator, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import EncodingError, SpaceTooLargeError
from ..graph import CompGraph, GraphBuilder
from .base import SearchSpace, as_rng, check_keys, literal

INPUT, OUTPUT = "input", "output"
#: Interior ops in the benchmark's label order (0, 1, 2), the order its graph hash uses.
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
MAX_VERTICES, MAX_EDGES = 7, 9
#: Keys of an NNI NasBench101 sample (after its scope prefix): every op and input choice up to 7 vertices.
NNI_KEYS = frozenset({"num_nodes", "final", *(f"op{v}" for v in range(1, MAX_VERTICES - 1)),
                      *(f"input{v}" for v in range(1, MAX_VERTICES))})
STEM_CHANNELS, NUM_STACKS, CELLS_PER_STACK = 128, 3, 3
#: TensorFlow's BN momentum 0.997 (weight of the running average) is torch's 0.003.
BN_EPS, BN_MOMENTUM = 1e-5, 0.003

_HASH = re.compile(r"^[0-9a-f]{32}$")
_LABELS = {-1: INPUT, -2: OUTPUT, **dict(enumerate(OPS))}


class NB101Spec(NamedTuple):
    """A pruned NB101 cell: upper-triangular 0/1 adjacency (rows = sources) and one op per vertex."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def hash(self) -> str:
        """The benchmark's isomorphism-invariant graph hash (its key into the NB101 tables)."""
        return nb101_hash(self.matrix, self.ops)


# ------------------------------------------------------------------------------------------------------- hashing
def nb101_hash(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> str:
    """NAS-Bench-101's graph hash: iterated MD5 of (out-degree, in-degree, op label) refined over neighbours."""
    n = len(ops)
    m = [[int(v) for v in row] for row in matrix]
    labels = [-1] + [OPS.index(o) for o in ops[1:-1]] + [-2]
    ins = [sum(m[s][d] for s in range(n)) for d in range(n)]
    outs = [sum(row) for row in m]
    hashes = [hashlib.md5(str((outs[v], ins[v], labels[v])).encode()).hexdigest() for v in range(n)]
    for _ in range(n):
        hashes = [hashlib.md5(("".join(sorted(hashes[w] for w in range(n) if m[w][v])) + "|" +
                               "".join(sorted(hashes[w] for w in range(n) if m[v][w])) + "|" +
                               hashes[v]).encode()).hexdigest() for v in range(n)]
    return hashlib.md5(str(sorted(hashes)).encode()).hexdigest()


# ------------------------------------------------------------------------------------------ validation & pruning
def _matrix(raw: Any) -> np.ndarray:
    if isinstance(raw, str):
        raw = literal(raw, "NB101 adjacency")
    if isinstance(raw, (list, tuple)) and len(raw) > MAX_VERTICES:
        raise EncodingError(f"NB101 cells have 2 to {MAX_VERTICES} vertices, the adjacency has {len(raw)} rows")
    try:
        m = np.asarray(raw)
    except (ValueError, TypeError, OverflowError):
        m = np.asarray([], dtype=object)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.dtype.kind not in "biuf":
        raise EncodingError(f"NB101 adjacency must be a square 0/1 matrix (nested lists, array or JSON), got "
                            f"{_short(raw)}")
    if not np.isin(m, (0, 1)).all():
        raise EncodingError(f"NB101 adjacency entries must be 0 or 1, got values {sorted(set(m.ravel().tolist()))}")
    m = m.astype(np.int64)
    if not 2 <= len(m) <= MAX_VERTICES:
        raise EncodingError(f"NB101 cells have 2 to {MAX_VERTICES} vertices, the adjacency has {len(m)}")
    if np.tril(m).any():
        s, d = map(int, np.argwhere(np.tril(m))[0])
        raise EncodingError(f"NB101 adjacency must be strictly upper-triangular (vertices in topological order); "
                            f"entry [{s}][{d}] is set")
    return m


def _ops(raw: Any, n: int) -> list[str]:
    if isinstance(raw, str):
        raw = literal(raw, "NB101 ops")
    if isinstance(raw, np.ndarray):
        raw = raw.tolist()
    if not isinstance(raw, (list, tuple)):
        raise EncodingError(f"NB101 ops must be a list of op names, got {_short(raw)}")
    ops = [_LABELS.get(int(o), o) if isinstance(o, (int, np.integer)) and not isinstance(o, bool) else o
           for o in raw]
    if len(ops) != n:
        raise EncodingError(f"NB101 ops list has {len(ops)} entries but the adjacency has {n} vertices")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise EncodingError(f"NB101 ops must start with {INPUT!r} and end with {OUTPUT!r}, got {ops[0]!r:.80} ... "
                            f"{ops[-1]!r:.80}")
    bad = [o for o in ops[1:-1] if not isinstance(o, str) or o not in OPS]
    if bad:
        raise EncodingError(f"unknown NB101 op {bad[0]!r:.80}; interior vertices take one of {', '.join(OPS)}")
    return [str(o) for o in ops]


def prune(matrix: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]]:
    """Drop vertices not on a path from input to output, as NB101's ModelSpec does."""
    n = len(ops)
    fwd = {0}
    for v in range(1, n):
        if any(matrix[u, v] for u in fwd):
            fwd.add(v)
    bwd = {n - 1}
    for v in range(n - 2, -1, -1):
        if any(matrix[v, w] for w in bwd):
            bwd.add(v)
    keep = sorted(fwd & bwd)
    if 0 not in keep or n - 1 not in keep:
        raise EncodingError("NB101 cell does not connect its input to its output, so it computes nothing; add an "
                            "edge path from vertex 0 to the last vertex")
    return matrix[np.ix_(keep, keep)], [ops[v] for v in keep]


@cache
def _orders(n: int) -> tuple[tuple[int, ...], ...]:
    return tuple((0, *(1 + p for p in perm), n - 1) for perm in itertools.permutations(range(n - 2)))


@lru_cache(maxsize=65536)
def _canonical_orbit(matrix: tuple[tuple[int, ...], ...], ops: tuple[str, ...]) -> tuple[NB101Spec, int]:
    """The isomorphic vertex order NB101's enumeration met first (fewest adjacency bits, then smallest labels), and
    how many distinct (matrix, ops) encodings the cell has."""
    n = len(ops)
    edges = [(s, d) for s in range(n) for d in range(n) if matrix[s][d]]
    keys: dict[tuple, tuple[int, ...]] = {}
    for order in _orders(n):
        pos = [0] * n
        for new, old in enumerate(order):
            pos[old] = new
        if any(pos[s] >= pos[d] for s, d in edges):
            continue
        bits = sum(1 << (pos[s] + pos[d] * (pos[d] - 1) // 2) for s, d in edges)
        keys.setdefault((bits, tuple(OPS.index(ops[v]) for v in order[1:-1])), order)
    order = keys[min(keys)]
    m = tuple(tuple(matrix[a][b] for b in order) for a in order)
    return NB101Spec(m, tuple(ops[v] for v in order)), len(keys)


def make_spec(matrix: Any, ops: Any) -> NB101Spec:
    """Validate, prune and canonicalise an adjacency matrix and op list; raises EncodingError when malformed."""
    m = _matrix(matrix)
    m, o = prune(m, _ops(ops, len(m)))
    if m.sum() > MAX_EDGES:
        raise EncodingError(f"NB101 cells have at most {MAX_EDGES} edges after pruning, this one has {int(m.sum())}")
    return _canonical_orbit(tuple(tuple(int(v) for v in row) for row in m), tuple(o))[0]


@lru_cache(maxsize=65536)
def _checked(matrix: tuple, ops: tuple) -> NB101Spec:
    return make_spec(matrix, ops)


@cache
def _draw_tables() -> tuple[list[int], list[int], dict[int, tuple]]:
    """Per vertex count n: the cumulative number of (upper-triangular matrix, ops) encodings, the edge slots (bit i of
    an adjacency bit pattern = slot i) and the bit masks of every vertex's in and out edges."""
    sizes, cumulative, tables, total = list(range(2, MAX_VERTICES + 1)), [], {}, 0
    for n in sizes:
        slots = [(s, d) for d in range(1, n) for s in range(d)]
        total += 3 ** (n - 2) * 2 ** len(slots)
        cumulative.append(total)
        masks = [sum(1 << i for i, (_, d) in enumerate(slots) if d == v) for v in range(1, n)]
        masks += [sum(1 << i for i, (s, _) in enumerate(slots) if s == v) for v in range(n - 1)]
        tables[n] = (slots, masks)
    return sizes, cumulative, tables


def _sample_unique(rng: random.Random) -> NB101Spec:
    """Uniform over unique cells: draw (matrix, ops) encodings uniformly, keep those with at most MAX_EDGES edges that
    need no pruning, and accept one with probability 1 / (number of encodings of its cell)."""
    sizes, cumulative, tables = _draw_tables()
    while True:
        n = sizes[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]
        slots, masks = tables[n]
        bits = rng.getrandbits(len(slots))
        if bits.bit_count() > MAX_EDGES:
            continue
        for mask in masks:
            if not bits & mask:                            # a vertex without inputs or outputs would be pruned
                break
        else:
            m = [[0] * n for _ in range(n)]
            for i, (s, d) in enumerate(slots):
                m[s][d] = bits >> i & 1
            ops = (INPUT, *(rng.choice(OPS) for _ in range(n - 2)), OUTPUT)
            spec, orbit = _canonical_orbit(tuple(map(tuple, m)), ops)
            if rng.random() * orbit < 1:
                return spec


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _short(obj: Any) -> str:
    text = repr(obj)
    return f"{type(obj).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


# ---------------------------------------------------------------------------------------------- channel layout
def vertex_channels(in_channels: int, out_channels: int, matrix: Sequence[Sequence[int]]) -> list[int]:
    """Output channels of every vertex, as NB101 computes them.

    Vertices feeding the output share ``out_channels`` (the first ones take one extra channel each when the split is
    uneven); every other interior vertex takes the largest channel count among the vertices it feeds.
    """
    n = len(matrix)
    ch = [0] * n
    ch[0], ch[-1] = in_channels, out_channels
    if n == 2:
        return ch
    to_out = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    base, extra = divmod(out_channels, len(to_out))
    for i, v in enumerate(to_out):
        ch[v] = base + (i < extra)
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            ch[v] = max(ch[d] for d in range(v + 1, n - 1) if matrix[v][d])
    return ch


# -------------------------------------------------------------------------------------------- reference module
class ConvBnRelu(nn.Sequential):
    """Conv (no bias, 'same' padding) -> BatchNorm -> ReLU, NB101's conv_bn_relu."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int):
        super().__init__(nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM), nn.ReLU())


def _vertex_op(op: str, channels: int) -> nn.Module:
    if op == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    return ConvBnRelu(channels, channels, 3 if op == "conv3x3-bn-relu" else 1)


class NB101Cell(nn.Module):
    """One NB101 module for a pruned spec, mapping ``in_channels`` to ``out_channels``."""

    def __init__(self, spec: NB101Spec, in_channels: int, out_channels: int):
        super().__init__()
        self.matrix = spec.matrix
        n = spec.num_vertices
        self.channels = vertex_channels(in_channels, out_channels, spec.matrix)
        self.proj = nn.ModuleDict({str(v): ConvBnRelu(in_channels, self.channels[v], 1)
                                   for v in range(1, n) if spec.matrix[0][v]})
        self.ops = nn.ModuleDict({str(v): _vertex_op(spec.ops[v], self.channels[v]) for v in range(1, n - 1)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, ch = self.matrix, self.channels
        n = len(m)
        tensors = [x]
        for v in range(1, n - 1):
            ins = [tensors[u] if ch[u] == ch[v] else tensors[u][:, :ch[v]] for u in range(1, v) if m[u][v]]
            if m[0][v]:
                ins.append(self.proj[str(v)](x))
            h = ins[0]
            for t in ins[1:]:
                h = h + t
            tensors.append(self.ops[str(v)](h))
        fan_in = [tensors[u] for u in range(1, n - 1) if m[u][n - 1]]
        if not fan_in:
            return self.proj[str(n - 1)](x)
        out = fan_in[0] if len(fan_in) == 1 else torch.cat(fan_in, dim=1)
        if m[0][n - 1]:
            out = out + self.proj[str(n - 1)](x)
        return out


class NB101Network(nn.Module):
    """The NB101 network of one cell spec, as the benchmark trained it on CIFAR-10."""

    def __init__(self, spec: NB101Spec, num_classes: int = 10, stem_channels: int = STEM_CHANNELS,
                 num_stacks: int = NUM_STACKS, cells_per_stack: int = CELLS_PER_STACK):
        super().__init__()
        self.spec = spec
        self.stem = ConvBnRelu(3, stem_channels, 3)
        layers: list[nn.Module] = []
        c_in = c = stem_channels
        for stack in range(num_stacks):
            if stack:
                layers.append(nn.MaxPool2d(2, stride=2))
                c *= 2
            for _ in range(cells_per_stack):
                layers.append(NB101Cell(spec, c_in, c))
                c_in = c
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------- direct builder
def _conv_bn_relu(b: GraphBuilder, x: int, channels: int, kernel: int) -> int:
    return b.relu(b.bn(b.conv(x, channels, kernel)))


def _cell(b: GraphBuilder, x: int, spec: NB101Spec, out_channels: int) -> int:
    m = spec.matrix
    n = len(m)
    ch = vertex_channels(b.shape(x)[0], out_channels, m)
    tensors = [x]
    for v in range(1, n - 1):
        ins = []
        for u in range(1, v):
            if m[u][v]:
                t = tensors[u]
                if ch[u] != ch[v]:
                    t = b.op("slice", t, (ch[v], *b.shape(t)[1:]))
                ins.append(t)
        if m[0][v]:
            ins.append(_conv_bn_relu(b, x, ch[v], 1))
        h = b.add(ins)
        op = spec.ops[v]
        tensors.append(b.pool("max", h, 3, 1, 1) if op == "maxpool3x3" else
                       _conv_bn_relu(b, h, ch[v], 3 if op == "conv3x3-bn-relu" else 1))
    fan_in = [tensors[u] for u in range(1, n - 1) if m[u][n - 1]]
    if not fan_in:
        return _conv_bn_relu(b, x, out_channels, 1)
    out = b.concat(fan_in)
    if m[0][n - 1]:
        out = b.add([out, _conv_bn_relu(b, x, out_channels, 1)])
    return out


# --------------------------------------------------------------------------------------------------------- space
class NB101Space(SearchSpace):
    """NAS-Bench-101 on CIFAR-10; canonical encoding :class:`NB101Spec` (pruned, isomorphism-canonical).

    ``parse`` accepts: ``(matrix, ops)`` pairs (nested lists, numpy arrays, the JSON strings of the NB101 tables, or
    NB101's integer labels -1/0/1/2/-2 as ops), NASLib's spec dict ``{"matrix": ..., "ops": ...}`` (also NB101's
    ``module_adjacency``/``module_operations``), objects with ``matrix``/``ops`` attributes (nasbench ModelSpec), and
    NNI NasBench101 samples (``cell/num_nodes``, ``cell/op{i}``, ``cell/input{i}``). An NB101 hash alone names an
    architecture only through a table of the benchmark, so it is rejected with a hint.
    """

    name = "nb101"
    input_shape = (3, 32, 32)
    num_classes = 10
    formats = ("spec", "matrix_ops", "json", "naslib", "nni", "hash")
    one_way_formats = ("hash",)

    # ---------------------------------------------------------------------------------------------- encodings
    def parse(self, arch: Any) -> NB101Spec:
        if isinstance(arch, NB101Spec):
            try:
                return _checked(arch.matrix, arch.ops)
            except TypeError:                       # unhashable fields: validate without the cache
                return make_spec(arch.matrix, arch.ops)
        if isinstance(arch, str):
            text = arch.strip()
            if _HASH.match(text.lower()):
                raise EncodingError(
                    f"{text!r:.80} is an NB101 hash; a hash names an architecture only through the benchmark's table. "
                    "Look its adjacency and ops up (e.g. the 'adjacency' and 'ops' columns of nb101_subset.csv, or "
                    "the NB101 API's get_metrics_from_hash) and pass (matrix, ops)")
            try:
                arch = literal(text, "NB101 encoding")
            except EncodingError:
                raise EncodingError(f"{_short(arch)} is not an NB101 encoding; pass (matrix, ops), a "
                                    "{'matrix', 'ops'} dict or an NNI sample") from None
            if isinstance(arch, str):
                raise EncodingError(f"{_short(arch)} is not an NB101 encoding")
        if isinstance(arch, dict):
            return self._parse_dict(arch)
        if hasattr(arch, "matrix") and hasattr(arch, "ops") and not isinstance(arch, (tuple, list)):
            if getattr(arch, "matrix", None) is None:
                raise EncodingError("this ModelSpec is invalid (its input does not reach its output)")
            return make_spec(arch.matrix, arch.ops)
        if isinstance(arch, (tuple, list)) and len(arch) == 2:
            return make_spec(arch[0], arch[1])
        raise EncodingError(f"{_short(arch)} is not an NB101 encoding; pass (matrix, ops), a {{'matrix', 'ops'}} "
                            "dict or an NNI NasBench101 sample")

    def _parse_dict(self, d: dict) -> NB101Spec:
        if "matrix" in d and "ops" in d:
            check_keys(d, ("matrix", "ops"), "NASLib NB101 spec")
            return make_spec(d["matrix"], d["ops"])
        for mk, ok in (("module_adjacency", "module_operations"), ("adjacency", "ops")):   # records with statistics
            if mk in d and ok in d:
                return make_spec(d[mk], d[ok])
        key = next((k for k in d if isinstance(k, str) and k.endswith("num_nodes")), None)
        if key is None:
            raise EncodingError(f"dict with keys {sorted(map(str, d))[:8]} is not an NB101 encoding; expected "
                                "'matrix' and 'ops' (NASLib) or an NNI sample with 'cell/num_nodes'")
        return self._parse_nni(d, key[:-len("num_nodes")])

    @staticmethod
    def _parse_nni(d: dict, prefix: str) -> NB101Spec:
        def get(key: str) -> Any:
            if prefix + key not in d:
                raise EncodingError(f"NNI NasBench101 sample lacks {prefix + key!r}")
            return d[prefix + key]

        check_keys(d, {prefix + k for k in NNI_KEYS}, "NNI NasBench101 sample")
        n = get("num_nodes")
        if not _is_int(n) or not 2 <= n <= MAX_VERTICES:
            raise EncodingError(f"{prefix}num_nodes must be an int in 2..{MAX_VERTICES}, got {n!r:.80}")
        matrix = np.zeros((n, n), dtype=np.int64)
        for v in range(1, n):
            srcs = get(f"input{v}")
            srcs = [srcs] if _is_int(srcs) else srcs
            if not isinstance(srcs, (list, tuple)) or not all(_is_int(s) and 0 <= s < v for s in srcs):
                raise EncodingError(f"{prefix}input{v} must list source vertices (ints) in 0..{v - 1}, got "
                                    f"{srcs!r:.80}")
            matrix[[int(s) for s in srcs], v] = 1
        ops = [INPUT, *(get(f"op{v}") for v in range(1, n - 1)), OUTPUT]
        return make_spec(matrix, ops)

    def encode(self, arch: Any, fmt: str = "spec") -> Any:
        spec = self.parse(arch)
        if fmt == "spec":
            return spec
        if fmt == "matrix_ops":
            return [list(row) for row in spec.matrix], list(spec.ops)
        if fmt == "json":
            return json.dumps([list(row) for row in spec.matrix]), json.dumps(list(spec.ops))
        if fmt == "naslib":
            return {"matrix": np.array(spec.matrix, dtype=np.int64), "ops": list(spec.ops)}
        if fmt == "nni":
            n = spec.num_vertices
            out: dict[str, Any] = {"cell/num_nodes": n}
            out.update({f"cell/op{v}": spec.ops[v] for v in range(1, n - 1)})
            out.update({f"cell/input{v}": [u for u in range(v) if spec.matrix[u][v]] for v in range(1, n)})
            return out
        if fmt == "hash":
            return spec.hash()
        raise EncodingError(f"unknown NB101 format {fmt!r}; known: {', '.join(self.formats)}")

    def arch_id(self, arch: Any) -> str:
        """The NB101 hash."""
        return self.parse(arch).hash()

    # -------------------------------------------------------------------------------------------- networks
    def build(self, arch: Any) -> NB101Network:
        return NB101Network(self.parse(arch), self.num_classes)

    def to_graph(self, arch: Any) -> CompGraph:
        spec = self.parse(arch)
        b = GraphBuilder(self.input_shape)
        x = _conv_bn_relu(b, b.input, STEM_CHANNELS, 3)
        c = STEM_CHANNELS
        for stack in range(NUM_STACKS):
            if stack:
                x = b.pool("max", x, 2, 2)
                c *= 2
            for _ in range(CELLS_PER_STACK):
                x = _cell(b, x, spec, c)
        x = b.linear(b.global_pool(x, keepdim=False), self.num_classes)
        return b.build(x, meta={"source": "space", "space": self.name, "arch": spec.hash(),
                                "input_shape": list(self.input_shape)})

    # ----------------------------------------------------------------------------------------------- moves
    def sample(self, rng: random.Random | int | None = None, method: str = "unique") -> NB101Spec:
        """A random valid cell.

        ``method="unique"`` (default): uniform over the benchmark's 423,624 unique cells (as its table is).
        ``method="nasbench"``: NB101's and NASLib's sampler (a random upper-triangular 7x7 matrix and ops, redrawn
        until the pruned cell is valid); it favours small pruned cells.
        """
        rng = as_rng(rng)
        if method == "unique":
            return _sample_unique(rng)
        if method != "nasbench":
            raise ValueError(f"unknown sampling method {method!r}; use 'unique' or 'nasbench'")
        n = MAX_VERTICES
        while True:
            m = np.zeros((n, n), dtype=np.int64)
            for s in range(n - 1):
                for d in range(s + 1, n):
                    m[s, d] = rng.getrandbits(1)
            ops = [INPUT, *(rng.choice(OPS) for _ in range(n - 2)), OUTPUT]
            try:
                return make_spec(m, ops)
            except EncodingError:
                continue

    def neighbours(self, arch: Any) -> list[NB101Spec]:
        """Every distinct valid cell one edge flip or one op change away (NASLib's NB101 neighbourhood)."""
        spec = self.parse(arch)
        n = spec.num_vertices
        seen = {spec}
        out: list[NB101Spec] = []

        def add(matrix: Any, ops: Any) -> None:
            try:
                nb = make_spec(matrix, ops)
            except EncodingError:
                return
            if nb not in seen:
                seen.add(nb)
                out.append(nb)

        for v in range(1, n - 1):
            for op in OPS:
                if op != spec.ops[v]:
                    add(spec.matrix, spec.ops[:v] + (op,) + spec.ops[v + 1:])
        m = np.array(spec.matrix, dtype=np.int64)
        for s in range(n - 1):
            for d in range(s + 1, n):
                flipped = m.copy()
                flipped[s, d] ^= 1
                add(flipped, spec.ops)
        return out

    def mutate(self, arch: Any, rng: random.Random | int | None = None) -> NB101Spec:
        """NB101's evolution move on the 7-vertex cell: each edge flips with probability 1/7 and each interior op
        changes with probability 1/5, redrawn until the result is valid and differs from ``arch``.

        Pruned-away vertices come back as unconnected vertices with random ops, as in the unpruned 7x7 encoding.
        """
        rng = as_rng(rng)
        spec = self.parse(arch)
        n = spec.num_vertices
        while True:
            m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
            idx = [*range(n - 1), MAX_VERTICES - 1]
            m[np.ix_(idx, idx)] = spec.matrix
            ops = [*spec.ops[:-1], *(rng.choice(OPS) for _ in range(MAX_VERTICES - n)), OUTPUT]
            for s in range(MAX_VERTICES - 1):
                for d in range(s + 1, MAX_VERTICES):
                    if rng.random() < 1 / MAX_VERTICES:
                        m[s, d] ^= 1
            for v in range(1, MAX_VERTICES - 1):
                if rng.random() < 1 / (MAX_VERTICES - 2):
                    ops[v] = rng.choice([o for o in OPS if o != ops[v]])
            try:
                child = make_spec(m, ops)
            except EncodingError:
                continue
            if child != spec:
                return child

    def enumerate(self) -> Iterator[Hashable]:
        raise SpaceTooLargeError("nb101 has 423,624 unique cells, too many to enumerate here; use sample(), or "
                                 "iterate the rows of an NB101 table through parse()")
