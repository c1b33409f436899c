"""An on-disk cache of built computation graphs: compact arrays, checksummed files, atomic writes.

A cache file is ``MAGIC + blake2b(payload) + payload``; the payload is an ``.npz`` archive (read with
``allow_pickle=False``) holding a table of the distinct nodes (JSON) and, per graph, indices into it and its edges.
Sharing node objects this way makes files small and loading fast: NAS benchmark networks repeat the same few hundred
nodes. A file is written to a temporary file in the same folder, fsynced and moved into place with ``os.replace``, so
a crash mid-write leaves the old file or none, never a torn one; a file that is truncated, corrupted or not ours is
reported as absent and rebuilt by the caller.

A :class:`Manifest` in the folder lists the files the cache wrote and what each one holds, so the cache only ever
deletes its own files: a user's file in the folder is never touched, whatever its name.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..graph.core import CompGraph, Node
from ..utils.files import atomic_write
from ..utils.progress import track

MAGIC = b"NAPE-GRAPH-CACHE/1\n"
_DIGEST = 32


def fingerprint(*parts: bytes | str) -> str:
    """A hex digest of ``parts`` (strings are UTF-8 encoded)."""
    h = hashlib.blake2b(digest_size=20)
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def file_fingerprint(path: Path) -> str:
    """Digest of a file's bytes (robust to copies and touched mtimes)."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` under a checksum, atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    payload = buf.getvalue()
    atomic_write(path, MAGIC + hashlib.blake2b(payload, digest_size=_DIGEST).digest() + payload)


def read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path``, or None when the file is missing, truncated, corrupted or foreign."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + _DIGEST
    if len(data) < head or not data.startswith(MAGIC):
        return None
    payload = memoryview(data)[head:]
    if hashlib.blake2b(payload, digest_size=_DIGEST).digest() != data[len(MAGIC):head]:
        return None
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, KeyError):
        return None


class Manifest:
    """The files a cache folder's writer created, each with its owner (a string naming what it caches: two files of
    one owner hold two versions of the same thing). Updates are atomic and, where the OS has ``fcntl``, serialised
    between processes."""

    NAME = "nape-cache-manifest.json"

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / self.NAME

    def entries(self) -> dict[str, str]:
        """``{file name: owner}`` of the files the cache wrote (an unreadable manifest lists none)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        files = data.get("files") if isinstance(data, dict) else None
        return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)} \
            if isinstance(files, dict) else {}

    def record(self, name: str, owner: str) -> list[Path]:
        """Record that the cache wrote ``name`` for ``owner``; delete the files it wrote earlier for the same owner
        (now superseded) and forget those that are gone. Returns the deleted paths."""
        with self._locked():
            entries = self.entries()
            stale = [k for k, v in entries.items() if v == owner and k != name]
            for k in stale:
                (self.folder / k).unlink(missing_ok=True)
            entries = {k: v for k, v in entries.items() if k not in stale and (self.folder / k).is_file()}
            entries[name] = owner
            atomic_write(self.path, json.dumps({"files": entries}, indent=0, sort_keys=True).encode())
        return [self.folder / k for k in stale]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:                                     # no fcntl (Windows): updates are atomic, not locked
            yield
            return
        with open(self.folder / f".{self.NAME}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def json_array(obj: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, separators=(",", ":")).encode(), dtype=np.uint8)


def from_json_array(a: np.ndarray) -> Any:
    return json.loads(a.tobytes().decode())


def _index_dtype(n: int) -> type:
    return np.uint16 if n <= np.iinfo(np.uint16).max else np.int32


def pack_graphs(graphs: Sequence[CompGraph], base: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Graphs as arrays: a table of distinct nodes, node indices and edges per graph, offsets, metadata.

    With ``base`` (arrays from an earlier call), the result holds the base graphs followed by ``graphs``.
    """
    nodes = [Node.from_dict(d) for d in from_json_array(base["nodes"])] if base is not None else []
    table: dict[tuple[Node, str], int] = {(n, n.name): i for i, n in enumerate(nodes)}
    node_ids: list[int] = []
    edges: list[tuple[int, int]] = []
    node_ptr, edge_ptr = [0], [0]
    for g in graphs:
        for n in g.nodes:
            i = table.setdefault((n, n.name), len(table))
            if i == len(nodes):
                nodes.append(n)
            node_ids.append(i)
        edges.extend(g.edges)
        node_ptr.append(len(node_ids))
        edge_ptr.append(len(edges))
    new_ids = np.asarray(node_ids, dtype=np.int64)
    new_edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    metas = [g.meta for g in graphs]
    if base is not None:
        new_ids = np.concatenate([base["node_ids"].astype(np.int64), new_ids])
        new_edges = np.concatenate([base["edges"].astype(np.int64), new_edges])
        node_ptr = np.concatenate([base["node_ptr"], base["node_ptr"][-1] + np.asarray(node_ptr[1:], np.int64)])
        edge_ptr = np.concatenate([base["edge_ptr"], base["edge_ptr"][-1] + np.asarray(edge_ptr[1:], np.int64)])
        metas = from_json_array(base["meta"]) + metas
    return {
        "nodes": json_array([n.to_dict() for n in nodes]),
        "node_ids": new_ids.astype(_index_dtype(len(nodes))),
        "node_ptr": np.asarray(node_ptr, dtype=np.int64),
        "edges": new_edges.astype(_index_dtype(int(new_edges.max(initial=0)))),
        "edge_ptr": np.asarray(edge_ptr, dtype=np.int64),
        "meta": json_array(metas),
    }


def unpack_graphs(arrays: dict[str, np.ndarray], select: Sequence[int] | None = None) -> list[CompGraph]:
    """The graphs stored by :func:`pack_graphs` (only positions ``select`` when given), not re-validated."""
    table = [Node.from_dict(d) for d in from_json_array(arrays["nodes"])]
    metas = from_json_array(arrays["meta"])
    node_ptr, edge_ptr = arrays["node_ptr"].tolist(), arrays["edge_ptr"].tolist()
    node_ids, ends = arrays["node_ids"], arrays["edges"].reshape(-1)
    if select is None or len(select) > len(metas) // 8:       # one conversion beats many small ones
        node_ids, ends = node_ids.tolist(), ends.tolist()
    to_list = list if isinstance(ends, list) else np.ndarray.tolist

    def graph(i: int) -> CompGraph:
        flat = iter(to_list(ends[2 * edge_ptr[i]:2 * edge_ptr[i + 1]]))
        g = CompGraph.__new__(CompGraph)       # the graphs were valid when stored; skip __init__'s validation
        g.__setstate__({"nodes": tuple(map(table.__getitem__, to_list(node_ids[node_ptr[i]:node_ptr[i + 1]]))),
                        "edges": tuple(zip(flat, flat)), "meta": metas[i]})
        return g

    gc_was_enabled = gc.isenabled()
    gc.disable()               # millions of new tuples would set off many collections that free nothing
    try:
        return [graph(i) for i in track(range(len(metas)) if select is None else select, "load cached graphs")]
    finally:
        if gc_was_enabled:
            gc.enable()
