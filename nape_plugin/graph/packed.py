"""Compact tensors for many computation graphs, and fast batching.

Networks repeat the same op instances (a 3x3 conv at 16 channels on 32x32 appears thousands of times in a benchmark),
so node features are stored once in a table and each graph keeps only row indices into it. 30,000 NAS-Bench-101
graphs take a few MB instead of GBs, each distinct node is featurised once, and a batch is a few numpy slices.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch_geometric.data import Batch

from ..utils.progress import track
from .core import CompGraph
from .features import NUM_NODE_FEATURES, chw, graph_features, live_nodes, node_features


class PackedGraphs:
    """Many graphs in flat arrays: node rows index a table of unique node feature vectors.

    Each graph is packed as the estimator reads it: its effective graph (:func:`~.features.live_nodes`).

    ``batch(indices)`` returns a PyG ``Batch`` with ``x``, ``edge_index``, ``batch``, ``u`` (graph features) and, when
    set, ``y`` and ``group`` (per-graph targets and family ids).
    """

    def __init__(self, graphs: Sequence[CompGraph] = (), progress: bool | None = None) -> None:
        self._rows: dict[tuple, int] = {}
        self._features: list[list[float]] = []
        self._node_ids: list[np.ndarray] = []
        self._edges: list[np.ndarray] = []
        self._u: list[list[float]] = []
        self._mflops: list[float] = []
        self._packed = False
        self.y: np.ndarray | None = None
        self.group: np.ndarray | None = None
        self.extend(graphs, progress)

    def __len__(self) -> int:
        return len(self.u) if self._packed else len(self._u)

    def extend(self, graphs: Sequence[CompGraph], progress: bool | None = None) -> PackedGraphs:
        """Add graphs (featurising nodes not seen before); ``progress`` as :func:`~nape_plugin.utils.progress.track`."""
        if self._rows is None:
            raise TypeError("graphs packed from arrays cannot be extended; use PackedGraphs.concat")
        for g in track(graphs, "pack graphs", progress):
            hw = chw(g.nodes[0].out_shape)[1]
            live = live_nodes(g)
            position = np.cumsum(live) - 1
            ids = []
            for node, keep in zip(g.nodes, live):
                if keep:
                    key = (node.label(), hw)
                    row = self._rows.get(key)
                    if row is None:
                        row = self._rows[key] = len(self._features)
                        self._features.append(node_features(node, hw))
                    ids.append(row)
            edges = np.asarray(g.edges, dtype=np.int64).reshape(-1, 2)
            edges = edges[live[edges[:, 0]] & live[edges[:, 1]]]
            self._node_ids.append(np.asarray(ids, dtype=np.int64))
            self._edges.append(position[edges])
            self._u.append(graph_features(g, live))
            self._mflops.append(g.flops / 1e6)
        self._packed = False
        return self

    def _pack(self) -> None:
        if self._packed:
            return
        self.table = torch.tensor(np.asarray(self._features, dtype=np.float32).reshape(-1, NUM_NODE_FEATURES))
        self.node_ptr = np.concatenate([[0], np.cumsum([len(a) for a in self._node_ids])])
        self.edge_ptr = np.concatenate([[0], np.cumsum([len(e) for e in self._edges])])
        self.node_ids = np.concatenate(self._node_ids) if self._node_ids else np.zeros(0, np.int64)
        self.edges = np.concatenate(self._edges) if self._edges else np.zeros((0, 2), np.int64)
        self.u = torch.tensor(np.asarray(self._u, dtype=np.float32).reshape(-1, 3))
        self._mflops_array = np.asarray(self._mflops, dtype=np.float64)
        self._packed = True

    @property
    def mflops(self) -> np.ndarray:
        """FLOPs of every graph, in millions."""
        self._pack()
        return self._mflops_array

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything as numpy arrays (``np.savez`` them to keep a packed training set on disk)."""
        self._pack()
        return {"table": self.table.numpy(), "node_ptr": self.node_ptr, "edge_ptr": self.edge_ptr,
                "node_ids": self.node_ids, "edges": self.edges, "u": self.u.numpy(), "mflops": self.mflops}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> PackedGraphs:
        """Inverse of :meth:`to_arrays` (the result cannot be extended further)."""
        self = cls()
        self.table = torch.as_tensor(arrays["table"])
        self.node_ptr, self.edge_ptr = np.asarray(arrays["node_ptr"]), np.asarray(arrays["edge_ptr"])
        self.node_ids, self.edges = np.asarray(arrays["node_ids"]), np.asarray(arrays["edges"])
        self.u, self._mflops_array = torch.as_tensor(arrays["u"]), np.asarray(arrays["mflops"])
        self._rows = None
        self._packed = True
        return self

    @classmethod
    def concat(cls, parts: Sequence[PackedGraphs]) -> PackedGraphs:
        """All graphs of ``parts``, in order."""
        arrays = [p.to_arrays() for p in parts]
        offsets = np.cumsum([0] + [len(a["table"]) for a in arrays])
        node_offsets = np.cumsum([0] + [len(a["node_ids"]) for a in arrays])
        edge_offsets = np.cumsum([0] + [len(a["edges"]) for a in arrays])
        return cls.from_arrays({
            "table": np.concatenate([a["table"] for a in arrays]),
            "node_ids": np.concatenate([a["node_ids"] + o for a, o in zip(arrays, offsets)]),
            "edges": np.concatenate([a["edges"] for a in arrays]),
            "node_ptr": np.concatenate([[0]] + [a["node_ptr"][1:] + o for a, o in zip(arrays, node_offsets)]),
            "edge_ptr": np.concatenate([[0]] + [a["edge_ptr"][1:] + o for a, o in zip(arrays, edge_offsets)]),
            "u": np.concatenate([a["u"] for a in arrays]), "mflops": np.concatenate([a["mflops"] for a in arrays])})

    def subset(self, indices: Sequence[int]) -> PackedGraphs:
        """The graphs at ``indices`` (sharing the feature table)."""
        self._pack()
        idx = np.asarray(indices, dtype=np.int64)
        node_slices = [np.arange(self.node_ptr[i], self.node_ptr[i + 1]) for i in idx]
        edge_slices = [np.arange(self.edge_ptr[i], self.edge_ptr[i + 1]) for i in idx]
        return PackedGraphs.from_arrays({
            "table": self.table.numpy(), "node_ptr": np.concatenate([[0], np.cumsum([len(a) for a in node_slices])]),
            "edge_ptr": np.concatenate([[0], np.cumsum([len(a) for a in edge_slices])]),
            "node_ids": self.node_ids[np.concatenate(node_slices)] if len(idx) else np.zeros(0, np.int64),
            "edges": self.edges[np.concatenate(edge_slices)] if len(idx) else np.zeros((0, 2), np.int64),
            "u": self.u[idx].numpy(), "mflops": self.mflops[idx]})

    def batch(self, indices: Sequence[int]) -> Batch:
        """The graphs at ``indices`` as one disjoint-union batch."""
        self._pack()
        idx = np.asarray(indices, dtype=np.int64)
        n_nodes = self.node_ptr[idx + 1] - self.node_ptr[idx]
        n_edges = self.edge_ptr[idx + 1] - self.edge_ptr[idx]
        node_index = np.concatenate([np.arange(self.node_ptr[i], self.node_ptr[i + 1]) for i in idx])
        edge_index = np.concatenate([np.arange(self.edge_ptr[i], self.edge_ptr[i + 1]) for i in idx])
        offsets = np.repeat(np.concatenate([[0], np.cumsum(n_nodes)[:-1]]), n_edges)
        edges = self.edges[edge_index] + offsets[:, None]
        out = Batch(x=self.table[torch.from_numpy(self.node_ids[node_index])],
                    edge_index=torch.from_numpy(np.ascontiguousarray(edges.T)),
                    batch=torch.from_numpy(np.repeat(np.arange(len(idx)), n_nodes)), u=self.u[idx])
        if self.y is not None:
            out.y = torch.as_tensor(self.y[idx], dtype=torch.float32)
        if self.group is not None:
            out.group = torch.as_tensor(self.group[idx])
        return out
