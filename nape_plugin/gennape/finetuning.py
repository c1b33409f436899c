"""Fine-tuning a pretrained estimator on a few labels (AIO-P's paths), and GENNAPE's weighting of ensemble members.

Modes: ``"rescale"`` (the heads' last layer on fixed embeddings), ``"heads"`` (all of the heads on fixed embeddings),
``"adapter"`` (AIO-P's K-adapter: a small new encoder beside the frozen one, and the heads), ``"full"`` (everything;
``"auto"`` picks it). Every fit starts afresh from the pretrained weights. The fine-tuned estimator then mixes three
members, each weighted by its Kendall tau on the fine-tuning samples: the pretrained model's zero-shot score, the size
member (standardised log FLOPs and params) and the fine-tuned model.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from .. import metrics
from ..errors import EmptyBatchError, LabelError, ParameterError
from ..graph.packed import PackedGraphs
from .losses import head_loss
from .model import GennapeModel, cluster_weights, embeddings, mixture
from .nn import HeadEnsemble
from .training import train

if TYPE_CHECKING:
    from .estimator import GennapeEstimator

FINETUNE_MODES = ("auto", "rescale", "heads", "adapter", "full")
TARGET = "target"   # family name of fine-tuning labels
MEMBERS = ("zero-shot", "size", "fine-tuned")   # members of a fine-tuned estimator's ensemble
TAU_POWER = 4                                   # member weight = Kendall tau on the fine-tuning samples ** TAU_POWER


def finetune(est: GennapeEstimator, packed: PackedGraphs, y: np.ndarray, mode: str) -> None:
    """Fine-tune the pretrained weights afresh on ``(packed, y)`` and weight the ensemble members (GENNAPE).

    Members: the zero-shot score of the pretrained model, the size member, and the fine-tuned model. As in
    GENNAPE, each is weighted by its Kendall tau on the fine-tuning samples, here raised to the power
    :data:`TAU_POWER` (measured in docs/results.md: the fine-tuned member, whose in-sample tau is optimistic, is
    still the best one from about 50 samples on); one affine map then puts the mix in the units of ``y``.
    """
    model = tune_copy(est, packed, y, mode)
    zero = zero_shot_z(est, packed)
    members = np.stack([zero, size_z(est, packed), mixture(model, packed, est.centers_, est.fuzzifier)], 1)
    taus = np.array([metrics.kendall_tau(y, members[:, i]) for i in range(3)])
    weights = np.clip(taus, 0, None) ** TAU_POWER
    weights = weights / weights.sum() if weights.sum() > 0 else np.array([1.0, 0.0, 0.0])
    mean, std = members.mean(0), np.where(members.std(0) > 0, members.std(0), 1.0)
    mixed = ((members - mean) / std) @ weights
    scale, shift = np.polyfit(mixed, y, 1) if np.ptp(mixed) > 0 else (0.0, float(y.mean()))
    est.ensemble_ = {"members": list(MEMBERS), "weights": weights, "mean": mean, "std": std,
                     "scale": float(scale), "shift": float(shift), "kendall_tau": taus}
    est.family_ = TARGET


def tune_copy(est: GennapeEstimator, packed: PackedGraphs, y: np.ndarray, mode: str) -> GennapeModel:
    """Set ``est.model_`` to a fresh copy of the pretrained weights tuned on ``(packed, y)`` standardised; return it."""
    if mode not in FINETUNE_MODES:
        raise ParameterError(f"unknown fine-tuning mode {mode!r:.40}; choose one of {FINETUNE_MODES}")
    n = len(packed)
    if n < 3:
        raise EmptyBatchError(f"fine-tuning needs at least 3 labelled graphs, got {n}")
    if np.ptp(y) == 0:
        raise LabelError("all fine-tuning labels are equal; nothing to learn a ranking from")
    if mode == "auto":
        mode = "full"
    torch.manual_seed(est.random_state)
    device = torch.device(est.device)
    if getattr(est, "pretrained_", None) is None:
        est.pretrained_ = copy.deepcopy(est.model_).cpu()
    est.model_ = model = copy.deepcopy(est.pretrained_).to(device)
    est.centers_ = est.centers_.to(device)
    z = (y - y.mean()) / (y.std() or 1.0)
    if mode in ("rescale", "heads"):
        base, h = embeddings(model, packed)
        _fit_heads(est, model.heads, base, h, z, mode)
    else:
        _fit_network(est, model, packed, z, mode, device)
    est.finetune_mode_ = mode
    return model


def _loss(est: GennapeEstimator, base: Tensor, heads: Tensor, target: Tensor) -> Tensor:
    return head_loss(heads, target, cluster_weights(base.detach(), est.centers_, est.fuzzifier), est.fuzzifier,
                     est.rank_weight)


def _fit_heads(est: GennapeEstimator, heads: HeadEnsemble, base: Tensor, h: Tensor, z: np.ndarray, mode: str) -> None:
    """Train the heads (``"rescale"``: their last layer only) on fixed embeddings, full batch."""
    params = [heads.w2, heads.b2] if mode == "rescale" else list(heads.parameters())
    target = torch.as_tensor(z, dtype=torch.float32, device=h.device)
    opt = torch.optim.AdamW(params, lr=est.lr, weight_decay=est.weight_decay)
    for _ in range(est.finetune_epochs or 300):
        loss = _loss(est, base, heads(h), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def _fit_network(est: GennapeEstimator, model: GennapeModel, packed: PackedGraphs, z: np.ndarray, mode: str,
                 device: torch.device) -> None:
    """Fine-tune the heads with an adapter encoder (``"adapter"``) or everything (``"full"``)."""
    if mode == "adapter":
        model.attach_adapter(est.adapter_width)
        model.to(device)
    packed.y = z
    packed.group = None
    for p in model.parameters():
        p.requires_grad_(mode == "full")
    trainable = list(model.parameters()) if mode == "full" else \
        list(model.heads.parameters()) + list(model.adapter.parameters())
    for p in trainable:
        p.requires_grad_(True)

    def step(batch) -> Tensor:
        batch = batch.to(device)
        base, h = model.embed(batch)
        return _loss(est, base, model.heads(h), batch.y)

    model.train()
    train(trainable, range(len(packed)), packed.batch, step,
          epochs=est.finetune_epochs or {"adapter": 60, "full": 40}[mode], batch_size=min(32, len(packed)),
          lr=est.lr * (0.3 if mode == "full" else 1.0), weight_decay=est.weight_decay, seed=est.random_state,
          desc=f"fine-tune ({mode})", progress=est.progress)
    for p in model.parameters():
        p.requires_grad_(True)
    packed.y = None


def size_z(est: GennapeEstimator, packed: PackedGraphs) -> np.ndarray:
    """The size member: mean of the standardised log FLOPs and log params of the effective graphs."""
    mu, sd = est.size_stats_
    return ((packed.u[:, :2].numpy() - mu) / sd).mean(1)


def zero_shot_z(est: GennapeEstimator, packed: PackedGraphs, mixed: np.ndarray | None = None) -> np.ndarray:
    """The pretrained model's score mixed with the size member, in standardised units (``mixed``: the pretrained
    model's head mixture when already computed)."""
    if mixed is None:
        pretrained = est.pretrained_ if getattr(est, "pretrained_", None) is not None else est.model_
        mixed = mixture(pretrained, packed, est.centers_, est.fuzzifier)
    if not est.size_weight:
        return mixed
    return (1 - est.size_weight) * mixed + est.size_weight * size_z(est, packed)


def combine(est: GennapeEstimator, tuned: np.ndarray, zero: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The fine-tuned ensemble of the members' scores, in the units of the fine-tuning labels."""
    e = est.ensemble_
    mixed = ((np.stack([zero, size, tuned], 1) - e["mean"]) / e["std"]) @ e["weights"]
    return e["scale"] * mixed + e["shift"]
