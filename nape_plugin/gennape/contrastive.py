"""Contrastive pretraining views: the same topology at another size should embed close, other networks far.

Two views of each graph differ by a random width multiplier and input resolution (applied to the log-scaled size,
FLOPs and params features, as if the network were rebuilt wider/narrower at another resolution), light noise on the
numeric features, and dropped edges. NT-Xent then pulls the two views together and pushes other graphs away, so
embeddings separate networks by topology rather than by size.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ..graph.features import COL_CHANNELS, COL_FLOPS, COL_PARAMS, COL_SPATIAL
from ..graph.ops import VOCAB


def augment(x: Tensor, edge_index: Tensor, batch: Tensor, u: Tensor, generator: torch.Generator,
            max_scale: float = 1.0, noise: float = 0.02, edge_drop: float = 0.1) -> tuple[Tensor, Tensor, Tensor]:
    """A random view of a batch: ``(x, edge_index, u)`` with rescaled sizes, noise and dropped edges."""
    n_graphs = u.shape[0]
    width = (torch.rand(n_graphs, generator=generator) * 2 - 1) * max_scale        # log2 multipliers
    res = (torch.rand(n_graphs, generator=generator) * 2 - 1) * max_scale
    w, r = width[batch], res[batch]
    x = x.clone()
    has_flops = x[:, COL_FLOPS] > 0
    has_params = x[:, COL_PARAMS] > 0
    for c in COL_CHANNELS:
        x[:, c] = torch.where(x[:, c] > 0, x[:, c] + w / 10.0, x[:, c])
    for c in COL_SPATIAL:
        x[:, c] = torch.where(x[:, c] > 0.1, x[:, c] + r / 10.0, x[:, c])
    log10_2 = math.log10(2.0)
    x[:, COL_FLOPS] = torch.where(has_flops, x[:, COL_FLOPS] + (2 * w + 2 * r) * log10_2 / 10.0, x[:, COL_FLOPS])
    x[:, COL_PARAMS] = torch.where(has_params, x[:, COL_PARAMS] + 2 * w * log10_2 / 8.0, x[:, COL_PARAMS])
    numeric = slice(len(VOCAB), x.shape[1])
    x[:, numeric] += noise * torch.randn(x[:, numeric].shape, generator=generator)
    keep = torch.rand(edge_index.shape[1], generator=generator) >= edge_drop
    u = u.clone()
    u[:, 0] += (2 * width + 2 * res) * log10_2 / 10.0
    u[:, 1] += 2 * width * log10_2 / 8.0
    return x, edge_index[:, keep], u
