"""Compact tensors for many computation graphs.

Networks repeat the same op instances (a 3x3 conv at 16 channels on 32x32 appears thousands of times in a benchmark),
so node features are stored once in a table and each graph keeps only row indices into it. This keeps 30,000
NAS-Bench-101 graphs in a few MB instead of GBs, and featurises each distinct node once.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from .features import NUM_NODE_FEATURES, chw, graph_features, node_features
from .graph import CompGraph


class GraphTable:
    """Unique node feature rows plus per-graph ``Data(node_ids, edge_index, u)``."""

    def __init__(self) -> None:
        self._rows: dict[tuple, int] = {}
        self._features: list[list[float]] = []
        self._table: torch.Tensor | None = None

    def encode(self, g: CompGraph) -> Data:
        """``Data`` for one graph; its ``node_ids`` index :attr:`table`."""
        hw = chw(g.nodes[0].out_shape)[1]
        ids = np.empty(g.num_nodes, dtype=np.int64)
        for i, node in enumerate(g.nodes):
            key = (node.label(), hw)
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = len(self._features)
                self._features.append(node_features(node, hw))
                self._table = None
            ids[i] = row
        edges = np.asarray(g.edges, dtype=np.int64).reshape(-1, 2).T
        return Data(node_ids=torch.from_numpy(ids), edge_index=torch.from_numpy(np.ascontiguousarray(edges)),
                    u=torch.tensor([graph_features(g)], dtype=torch.float32), num_nodes=g.num_nodes)

    def encode_all(self, graphs: Sequence[CompGraph]) -> list[Data]:
        return [self.encode(g) for g in graphs]

    @property
    def table(self) -> torch.Tensor:
        """``(unique nodes, NUM_NODE_FEATURES)`` float tensor."""
        if self._table is None:
            self._table = torch.tensor(np.asarray(self._features, dtype=np.float32).reshape(-1, NUM_NODE_FEATURES))
        return self._table

    def collate(self, items: Sequence[Data]) -> Batch:
        """A PyG ``Batch`` with node features ``x`` looked up from the table."""
        batch = Batch.from_data_list(list(items))
        batch.x = self.table[batch.node_ids]
        return batch
