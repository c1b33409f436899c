"""The Computation Graph (CG): a DAG of atomic ops describing a whole network.

Nodes are kept in topological order with exactly one ``input`` node (first) and one ``output`` node (last); edges are
``(src, dst)`` pairs of node indices with ``src < dst``. Two graphs are equal when they describe the same network,
whatever their node numbering: equality and ``hash`` use a canonical fingerprint built from forward and backward
Merkle hashes of the labelled DAG (the scheme NAS-Bench-101 uses for its cell hashes, applied to the whole network).
"""
from __future__ import annotations

import hashlib
import heapq
import json
import os
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import CyclicGraphError, DisconnectedGraphError, GraphError, PathError
from ..utils.files import atomic_write, input_file
from .ops import OP_INDEX

#: Bumped whenever node attributes or their meaning change; caches of built graphs key on it.
GRAPH_FORMAT_VERSION = 2

Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Node:
    """One op instance. Shapes exclude the batch dimension: (C, H, W) for images, (N, D) for token sequences."""

    op: str
    in_shape: Shape = ()
    out_shape: Shape = ()
    kernel: Shape = ()
    stride: Shape = ()
    dilation: Shape = ()
    groups: int = 1
    bias: bool = False
    flops: int = 0
    params: int = 0
    #: Where the node came from (module path, function, original op for "oov"); not part of equality.
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        """Refuse attributes no network has (what :meth:`CompGraph.validate` relies on); shapes given as lists or
        numpy ints become tuples of ints."""
        for k in _SHAPE_FIELDS:
            v = getattr(self, k)
            if type(v) is not tuple or not all(type(x) is int for x in v):
                if not isinstance(v, (tuple, list)) or not all(_is_int(x) for x in v):
                    raise GraphError(f"node {self.op!r:.80}: {k} must be a tuple of ints, got {v!r:.80}")
                v = tuple(int(x) for x in v)
                object.__setattr__(self, k, v)
            if len(v) > MAX_DIMS or (v and not 0 < min(v) <= max(v) <= MAX_INT):
                raise GraphError(f"node {self.op!r:.80}: {k} must have at most {MAX_DIMS} entries, each positive, got "
                                 f"{v!r:.80}")
        for k in ("groups", "flops", "params"):
            v = getattr(self, k)
            if type(v) is not int:
                if not _is_int(v):
                    raise GraphError(f"node {self.op!r:.80}: {k} must be an int, got {v!r:.80}")
                object.__setattr__(self, k, v := int(v))
            if not (1 if k == "groups" else 0) <= v <= MAX_INT:
                raise GraphError(f"node {self.op!r:.80}: {k} must be in {1 if k == 'groups' else 0}..2**63-1, got "
                                 f"{v!r:.80}")
        if type(self.op) is not str or type(self.name) is not str:
            raise GraphError(f"node {self.op!r:.80}: op and name must be strings, got {self.name!r:.80}")
        if type(self.bias) is not bool:
            raise GraphError(f"node {self.op!r:.80}: bias must be true or false, got {self.bias!r:.80}")

    def label(self) -> tuple:
        """Everything that identifies the op instance, as a tuple of ints (name excluded)."""
        return (OP_INDEX.get(self.op, -1), len(self.in_shape), *self.in_shape, len(self.out_shape), *self.out_shape,
                len(self.kernel), *self.kernel, len(self.stride), *self.stride, len(self.dilation), *self.dilation,
                self.groups, int(self.bias), self.flops, self.params)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Node:
        """A node from :meth:`to_dict` output; malformed entries raise :class:`GraphError`."""
        if not isinstance(d, dict):
            raise GraphError(f"a node must be a mapping of attributes, got {type(d).__name__}: {d!r:.80}")
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise GraphError(f"node has unknown attributes {sorted(map(str, unknown))[:5]!r:.200}; known: "
                             f"{sorted(names)}")
        if not isinstance(d.get("op"), str):
            raise GraphError(f"node {d!r:.80} has no op name")
        kw: dict[str, Any] = {}
        for k, v in d.items():
            if k in _SHAPE_FIELDS:
                if not isinstance(v, (list, tuple)) or not all(_is_int(x) for x in v):
                    raise GraphError(f"node {d['op']!r:.80}: {k} must be a list of ints, got {v!r:.80}")
                v = tuple(int(x) for x in v)
            elif k in _INT_FIELDS:
                if not _is_int(v):
                    raise GraphError(f"node {d['op']!r:.80}: {k} must be an int, got {v!r:.80}")
                v = int(v)
            kw[k] = v
        return cls(**kw)


_SHAPE_FIELDS = ("in_shape", "out_shape", "kernel", "stride", "dilation")
_INT_FIELDS = frozenset({"groups", "flops", "params"})
#: Bounds of every node attribute: dimensions per shape, and the largest count (what an int64 holds).
MAX_DIMS, MAX_INT = 8, 2 ** 63 - 1


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _edges(edges: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    """``edges`` as (src, dst) pairs of Python ints; GraphError for anything but pairs of ints (no bools, no floats)."""
    pairs = tuple(tuple(e) if isinstance(e, (tuple, list)) else e for e in edges)
    if all(type(e) is tuple and len(e) == 2 and type(e[0]) is int and type(e[1]) is int for e in pairs):
        return pairs
    bad = next((i for i, e in enumerate(pairs)
                if not (isinstance(e, tuple) and len(e) == 2 and all(_is_int(x) for x in e))), None)
    if bad is not None:
        raise GraphError(f"edges must be (src, dst) pairs of node indices; got {edges[bad]!r:.80}")
    return tuple((int(s), int(d)) for s, d in pairs)


def _digest(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p)
    return h.digest()


def _pack(values: Iterable[int]) -> bytes:
    return np.asarray(list(values), dtype=np.int64).tobytes()


class CompGraph:
    """A computation graph. Build one with :func:`nape_plugin.to_graph`, a space's ``to_graph`` or a GraphBuilder."""

    def __init__(self, nodes: Sequence[Node], edges: Sequence[tuple[int, int]], meta: dict[str, Any] | None = None,
                 validate: bool = True):
        if not isinstance(nodes, (list, tuple)) or not isinstance(edges, (list, tuple)):
            raise GraphError(f"nodes and edges must be lists, got {type(nodes).__name__} and {type(edges).__name__}")
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.edges: tuple[tuple[int, int], ...] = _edges(edges)
        if meta is not None and not isinstance(meta, dict):
            raise GraphError(f"graph meta must be a mapping, got {type(meta).__name__}")
        self.meta: dict[str, Any] = dict(meta or {})
        if validate:
            self.validate()

    # ----------------------------------------------------------------------------------------------------- views
    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    @property
    def ops(self) -> list[str]:
        """Op name per node, in node order."""
        return [n.op for n in self.nodes]

    @property
    def flops(self) -> int:
        """Total multiply-accumulates (see :mod:`nape_plugin.graph.ops` for the convention)."""
        return sum(n.flops for n in self.nodes)

    @property
    def params(self) -> int:
        """Total learnable parameters; equals ``sum(p.numel() for p in module.parameters())`` for traced modules."""
        return sum(n.params for n in self.nodes)

    @property
    def oov(self) -> list[str]:
        """Original names of the out-of-vocabulary nodes."""
        return [n.name for n in self.nodes if n.op == "oov"]

    @cached_property
    def predecessors(self) -> list[list[int]]:
        preds: list[list[int]] = [[] for _ in self.nodes]
        for s, d in self.edges:
            preds[d].append(s)
        return preds

    @cached_property
    def successors(self) -> list[list[int]]:
        succs: list[list[int]] = [[] for _ in self.nodes]
        for s, d in self.edges:
            succs[s].append(d)
        return succs

    # ------------------------------------------------------------------------------------------------ validation
    def validate(self) -> CompGraph:
        """Check the graph is a connected DAG in topological order with one input and one output; returns self."""
        n = len(self.nodes)
        if n < 2:
            raise GraphError(f"a computation graph needs at least an input and an output node, got {n} node(s)")
        for i, node in enumerate(self.nodes):
            if not isinstance(node, Node):
                raise GraphError(f"node {i} is a {type(node).__name__}, not a nape_plugin.Node")
            if node.op not in OP_INDEX:
                raise GraphError(f"node {i} ({node.name or node.op}) has op {node.op!r}, which is not in the op "
                                 "vocabulary (nape_plugin.graph.ops.VOCAB); use 'oov' for anything else")
        if self.nodes[0].op != "input" or self.nodes[-1].op != "output":
            raise GraphError(f"the first node must be 'input' and the last 'output', got {self.nodes[0].op!r} and "
                             f"{self.nodes[-1].op!r}; reorder the nodes topologically")
        for i, node in enumerate(self.nodes[1:-1], 1):
            if node.op in ("input", "output"):
                raise GraphError(f"node {i} ({node.name or node.op}) is a second {node.op!r}; a graph has exactly one "
                                 "input and one output node: merge them or add a joining node")
        if len(set(self.edges)) != len(self.edges):
            dup = next(e for i, e in enumerate(self.edges) if e in self.edges[:i])
            raise GraphError(f"edge {dup} appears more than once; a node consumes each producer once (build graphs "
                             "with GraphBuilder or nape_plugin.graph.builder.simplify, which merge repeated inputs)")
        for s, d in self.edges:
            if not (0 <= s < n and 0 <= d < n):
                raise GraphError(f"edge ({s}, {d}) points outside the {n} nodes")
            if s >= d:
                raise CyclicGraphError(
                    f"edge ({s}, {d}) goes from {self.nodes[s].name or self.nodes[s].op!r} back to "
                    f"{self.nodes[d].name or self.nodes[d].op!r}: the graph has a cycle or is not in topological order;"
                    " a network must be a DAG with nodes numbered in topological order (see CompGraph.from_edges)")
        reach = np.zeros(n, bool)
        reach[0] = True
        for s, d in sorted(self.edges, key=lambda e: e[0]):
            reach[d] |= reach[s]
        back = np.zeros(n, bool)
        back[-1] = True
        for s, d in sorted(self.edges, key=lambda e: -e[1]):
            back[s] |= back[d]
        bad = [i for i in range(n) if not (reach[i] and back[i])]
        if bad:
            i = bad[0]
            why = "cannot be reached from the input" if not reach[i] else "does not reach the output"
            raise DisconnectedGraphError(
                f"node {i} ({self.nodes[i].name or self.nodes[i].op}) {why}"
                f"{f' (and {len(bad) - 1} more nodes)' if len(bad) > 1 else ''}; remove dead branches or connect them")
        return self

    @classmethod
    def from_edges(cls, nodes: Sequence[Node], edges: Sequence[tuple[int, int]],
                   meta: dict[str, Any] | None = None) -> CompGraph:
        """Build a graph from nodes in any order, renumbering them topologically (stable for ties)."""
        n = len(nodes)
        indeg = [0] * n
        succ: list[list[int]] = [[] for _ in range(n)]
        for s, d in edges:
            if not (0 <= s < n and 0 <= d < n):
                raise GraphError(f"edge ({s}, {d}) points outside the {n} nodes")
            succ[s].append(d)
            indeg[d] += 1
        ready = [i for i in range(n) if indeg[i] == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for d in succ[i]:
                indeg[d] -= 1
                if indeg[d] == 0:
                    heapq.heappush(ready, d)
        if len(order) < n:
            left = set(range(n)) - set(order)
            pruned = True
            while pruned:                # drop nodes downstream of the cycle, keep the cycle itself
                dead = {i for i in left if not any(d in left for d in succ[i])}
                left -= dead
                pruned = bool(dead)
            stuck = [f"{i}:{nodes[i].name or nodes[i].op}" for i in sorted(left)]
            raise CyclicGraphError(f"the graph has a cycle: nodes {stuck[:5]}{' ...' if len(stuck) > 5 else ''} "
                                   "depend on each other; a network must be a DAG")
        pos = {old: new for new, old in enumerate(order)}
        return cls([nodes[i] for i in order], [(pos[s], pos[d]) for s, d in edges], meta)

    # ------------------------------------------------------------------------------------------ identity & hash
    @cached_property
    def fingerprint(self) -> str:
        """Canonical hex digest, independent of node numbering; equal graphs have equal fingerprints."""
        labels = [_digest(_pack(n.label())) for n in self.nodes]
        preds, succs = self.predecessors, self.successors
        fwd: list[bytes] = [b""] * len(labels)
        for i in range(len(labels)):
            fwd[i] = _digest(labels[i], *sorted(fwd[p] for p in preds[i]))
        bwd: list[bytes] = [b""] * len(labels)
        for i in reversed(range(len(labels))):
            bwd[i] = _digest(labels[i], *sorted(bwd[s] for s in succs[i]))
        sig = [_digest(f, b) for f, b in zip(fwd, bwd)]
        return _digest(*sorted(sig), *sorted(sig[s] + sig[d] for s, d in self.edges)).hex()

    def __hash__(self) -> int:
        return int(self.fingerprint[:16], 16)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompGraph):
            return NotImplemented
        return (self.num_nodes, self.num_edges) == (other.num_nodes, other.num_edges) and \
            self.fingerprint == other.fingerprint

    def __repr__(self) -> str:
        return (f"CompGraph(nodes={self.num_nodes}, edges={self.num_edges}, flops={self.flops / 1e6:.2f}M, "
                f"params={self.params / 1e6:.3f}M{', oov=' + str(len(self.oov)) if self.oov else ''})")

    def __getstate__(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges, "meta": self.meta}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.nodes, self.edges, self.meta = state["nodes"], state["edges"], state["meta"]

    def with_meta(self, **meta: Any) -> CompGraph:
        """A copy with ``meta`` entries added (nodes and edges shared)."""
        return CompGraph(self.nodes, self.edges, {**self.meta, **meta}, validate=False)

    # ------------------------------------------------------------------------------------------------ serialise
    def to_dict(self) -> dict[str, Any]:
        return {"format": GRAPH_FORMAT_VERSION, "nodes": [n.to_dict() for n in self.nodes],
                "edges": [list(e) for e in self.edges], "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CompGraph:
        if not isinstance(d, dict) or "nodes" not in d or "edges" not in d:
            raise GraphError("not a computation graph: expected a mapping with 'nodes' and 'edges' "
                             "(as written by CompGraph.to_json)")
        if d.get("format", GRAPH_FORMAT_VERSION) != GRAPH_FORMAT_VERSION:
            raise GraphError(f"graph format {d.get('format')} is not the current format {GRAPH_FORMAT_VERSION}; "
                             "rebuild the graph with this version of nape-plugin")
        if not isinstance(d["nodes"], list) or not isinstance(d["edges"], list):
            raise GraphError("graph 'nodes' and 'edges' must be lists (as written by CompGraph.to_json)")
        return cls([Node.from_dict(n) for n in d["nodes"]], d["edges"], d.get("meta"))

    def to_json(self, path: str | os.PathLike | None = None, indent: int | None = None) -> str:
        """The graph as JSON; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            atomic_write(path, text.encode())
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike) -> CompGraph:
        """Parse JSON text or read a JSON file written by :meth:`to_json`."""
        if not isinstance(text_or_path, (str, os.PathLike)):
            raise GraphError(f"expected graph JSON text or the path of a graph JSON file, got a "
                             f"{type(text_or_path).__name__}")
        text, where = str(text_or_path), "text"
        if not text.lstrip().startswith(("{", "[")):
            where = f"{text:.200}"
            try:
                text = input_file(text_or_path, "graph JSON file").read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise GraphError(f"{where} is not a graph JSON file (it is not text); write graphs with "
                                 "CompGraph.to_json") from None
            except OSError as e:
                if isinstance(e, PathError):
                    raise
                raise PathError(f"cannot read {where}: {e.strerror or e}") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:      # JSONDecodeError, ints beyond the digit limit, deep nesting
            raise GraphError(f"{where} is not valid graph JSON ({type(e).__name__}: {str(e)[:200]}); the file may be "
                             "truncated or corrupted: write graphs with CompGraph.to_json") from None
        return cls.from_dict(data)

    # ------------------------------------------------------------------------------------------------- features
    def to_pyg(self, featurizer=None):
        """A ``torch_geometric.data.Data`` with node features ``x``, ``edge_index`` and graph totals."""
        from .features import to_pyg
        return to_pyg(self, featurizer)

    def summary(self, max_rows: int | None = 40) -> str:
        """A readable table of the nodes and the totals."""
        head = f"{'#':>4}  {'op':<15} {'in':<16} {'out':<16} {'k/s':<7} {'MFLOPs':>9} {'params':>9}  name"
        rows = [head, "-" * len(head)]
        shown = self.nodes if max_rows is None or len(self.nodes) <= max_rows else self.nodes[:max_rows]
        for i, n in enumerate(shown):
            ks = f"{n.kernel[0]}/{n.stride[0]}" if n.kernel else ""
            rows.append(f"{i:>4}  {n.op:<15} {str(tuple(n.in_shape)):<16} {str(tuple(n.out_shape)):<16} {ks:<7} "
                        f"{n.flops / 1e6:>9.3f} {n.params:>9,}  {n.name}")
        if len(shown) < len(self.nodes):
            rows.append(f"  ... {len(self.nodes) - len(shown)} more nodes")
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        rows += ["-" * len(head),
                 f"nodes {self.num_nodes}  edges {self.num_edges}  FLOPs {self.flops / 1e6:.2f}M  "
                 f"params {self.params:,}",
                 "ops: " + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))]
        if self.oov:
            rows.append("out of vocabulary: " + ", ".join(sorted(set(self.oov))))
        return "\n".join(rows)
