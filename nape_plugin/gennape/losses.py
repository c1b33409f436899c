"""Losses: membership-weighted regression for the head ensemble, pairwise ranking, and NT-Xent for contrast."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def weighted_head_mse(heads: Tensor, target: Tensor, weights: Tensor) -> Tensor:
    """Mean over graphs of ``sum_k w_ik (head_ik - y_i)^2`` with rows of ``weights`` summing to 1."""
    return ((heads - target[:, None]) ** 2 * weights).sum(1).mean()


def pairwise_rank_loss(pred: Tensor, target: Tensor, groups: Tensor | None = None, margin: float = 0.05) -> Tensor:
    """Logistic loss on every pair of graphs of the same group whose targets differ by more than ``margin``."""
    diff_t = target[:, None] - target[None, :]
    mask = diff_t.abs() > margin
    if groups is not None:
        mask &= groups[:, None] == groups[None, :]
    if not mask.any():
        return pred.sum() * 0.0
    diff_p = pred[:, None] - pred[None, :]
    return F.softplus(-torch.sign(diff_t[mask]) * diff_p[mask]).mean()


def nt_xent(a: Tensor, b: Tensor, temperature: float = 0.1) -> Tensor:
    """SimCLR's normalised-temperature cross entropy: ``a[i]`` and ``b[i]`` are views of the same graph."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    sim = z @ z.t() / temperature
    n = a.shape[0]
    sim.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(a.device)
    return F.cross_entropy(sim, targets)


def head_loss(heads: Tensor, target: Tensor, u: Tensor, fuzzifier: float, rank_weight: float,
              groups: Tensor | None = None) -> Tensor:
    """The estimator's loss: each head's squared error weighted by the memberships ``u`` (raised to the fuzzifier and
    renormalised), plus ``rank_weight`` times the ranking loss of the heads' membership-weighted mixture."""
    w = u ** fuzzifier
    loss = weighted_head_mse(heads, target, w / w.sum(1, keepdim=True))
    if rank_weight:
        loss = loss + rank_weight * pairwise_rank_loss((u * heads).sum(1), target, groups)
    return loss
