"""The graph encoder: node features -> message passing -> one embedding per graph."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import GINConv, GraphConv, global_max_pool, global_mean_pool

from ...graph.features import COL_CHANNELS, COL_FLOPS, COL_PARAMS, COL_SPATIAL
from .dag_conv import DAGConv, dag_adjacency

#: Node feature columns that grow with the network's size (log channels, resolution, FLOPs, params).
SIZE_COLUMNS = [*COL_CHANNELS, *COL_SPATIAL, COL_FLOPS, COL_PARAMS]

CONVS = ("dag", "graphconv", "gin")


def _conv(kind: str, width: int) -> nn.Module:
    if kind == "dag":
        return DAGConv(width, width)
    if kind == "graphconv":                      # GENNAPE's k-GNN layer, on the directed edges
        return GraphConv(width, width, aggr="mean")
    if kind == "gin":
        return GINConv(nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)), train_eps=True)
    raise ValueError(f"unknown conv {kind!r}; choose one of {CONVS}")


class GraphEncoder(nn.Module):
    """``layers`` residual message-passing layers of ``width`` units, mean+max pooling, graph totals appended.

    Args:
        in_features: node feature size.
        graph_features: size of the per-graph vector ``u`` appended after pooling.
        width: hidden size. layers: message-passing depth. conv: ``"dag"``, ``"graphconv"`` or ``"gin"``.
        embed_dim: size of the graph embedding.
        relative: centre the size features of each graph on their mean and drop the graph totals, so the encoder
            sees shapes relative to the network itself (a narrow NB201 net and a wide NB101 net look alike).
    """

    def __init__(self, in_features: int, graph_features: int = 3, width: int = 64, layers: int = 4,
                 conv: str = "dag", embed_dim: int = 64, dropout: float = 0.0, relative: bool = False):
        super().__init__()
        self.relative = relative
        self.inp = nn.Linear(in_features, width)
        self.convs = nn.ModuleList(_conv(conv, width) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Sequential(nn.Linear(2 * width + graph_features, embed_dim), nn.Tanh())
        self.embed_dim = embed_dim
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def node_states(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = torch.tanh(self.inp(x))
        if isinstance(self.convs[0], DAGConv):
            edge_index = dag_adjacency(edge_index, x.shape[0])
        for conv, norm in zip(self.convs, self.norms):
            h = h + self.dropout(torch.tanh(norm(conv(h, edge_index))))
        return h

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor, u: Tensor) -> Tensor:
        size = u.shape[0]
        if self.relative:
            x = x.clone()
            x[:, SIZE_COLUMNS] = x[:, SIZE_COLUMNS] - global_mean_pool(x[:, SIZE_COLUMNS], batch, size)[batch]
            u = torch.zeros_like(u)
        h = self.node_states(x, edge_index)
        pooled = torch.cat([global_mean_pool(h, batch, size), global_max_pool(h, batch, size), u], dim=1)
        return self.out(pooled)
