"""A message-passing layer for DAGs that reads both directions of data flow."""
from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import spmm

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


class DAGConv(MessagePassing):
    r"""Bidirectional graph convolution on a DAG.

    .. math:: h_i' = W [\, h_i \;\|\; \mathrm{mean}_{j \to i} h_j \;\|\; \mathrm{mean}_{i \to j} h_j \,]

    Producers and consumers of a node get separate weights, so the layer tells a conv feeding an add from an add
    feeding a conv, which a plain undirected GraphConv cannot. ``edge_index`` may be a ``(2, E)`` tensor or a pair of
    sparse adjacency matrices ``(adj_in, adj_out)`` (rows = receiving node), precomputed once per batch by
    :func:`dag_adjacency` and shared by every layer, which is about twice as fast on CPU.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__(aggr="mean")
        self.lin = nn.Linear(3 * in_channels, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        adj_in, adj_out = edge_index if isinstance(edge_index, tuple) else dag_adjacency(edge_index, x.shape[0])
        return self.lin(torch.cat([x, self.propagate(adj_in, x=x), self.propagate(adj_out, x=x)], dim=1))

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
        return spmm(adj_t, x, reduce="mean")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.lin.in_features // 3}, {self.lin.out_features})"


def dag_adjacency(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
    """Sparse CSR adjacency of producers (row i: edges j -> i) and of consumers (row i: edges i -> j)."""
    def csr(rows: Tensor, cols: Tensor) -> Tensor:
        order = torch.argsort(rows * num_nodes + cols)
        crow = torch.zeros(num_nodes + 1, dtype=torch.long, device=rows.device)
        crow[1:] = torch.cumsum(torch.bincount(rows, minlength=num_nodes), 0)
        values = torch.ones(rows.numel(), dtype=torch.float32, device=rows.device)
        return torch.sparse_csr_tensor(crow, cols[order], values, (num_nodes, num_nodes), check_invariants=False)
    return csr(edge_index[1], edge_index[0]), csr(edge_index[0], edge_index[1])
