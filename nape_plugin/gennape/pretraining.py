"""Pretraining from scratch: a contrastive stage for the encoder, fuzzy c-means clusters of its embeddings, then the
supervised stage of encoder and heads on per-family standardised labels (clusters refitted every 5 epochs)."""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError, LengthMismatchError
from ..graph.features import NUM_NODE_FEATURES
from ..graph.ops import VOCAB
from ..graph.packed import PackedGraphs
from .clustering import fuzzy_cmeans
from .contrastive import augment
from .labels import FamilyScaler
from .losses import head_loss, nt_xent
from .model import GennapeModel, cluster_weights, embed_packed
from .training import train

if TYPE_CHECKING:
    from .estimator import GennapeEstimator


def pretrain(est: GennapeEstimator, labelled: PackedGraphs, y: np.ndarray, groups: Sequence[str] | None,
             unlabelled: PackedGraphs | None, checkpoint_dir: str | None) -> None:
    """Train ``est`` from scratch on ``(labelled, y)`` (``unlabelled`` graphs join the contrastive stage); sets its
    fitted state (``model_``, ``centers_``, ``scaler_``, ``size_stats_`` ...)."""
    torch.manual_seed(est.random_state)
    n = len(labelled)
    groups = [str(g) for g in groups] if groups is not None else ["train"] * n
    if len(groups) != n:
        raise LengthMismatchError(f"got {n} graphs but {len(groups)} groups; pass one family per graph")
    device = torch.device(est.device)
    est.model_ = model = GennapeModel.from_params(est.get_params(deep=False)).to(device)
    est.scaler_ = FamilyScaler(est.standardise, est.flops_aware)
    z = est.scaler_.fit_transform(y, groups, labelled.mflops)
    sizes = labelled.u[:, :2].numpy().astype(np.float64)
    est.size_stats_ = (sizes.mean(0), np.where(sizes.std(0) > 0, sizes.std(0), 1.0))
    est.family_ = est.pretrained_ = est.ensemble_ = None
    rows = labelled.table[np.unique(labelled.node_ids)]
    model.feature_mask[:] = (rows.amax(0) > rows.amin(0)).float().to(device)
    packed = labelled if unlabelled is None else PackedGraphs.concat([labelled, unlabelled])
    extra = len(packed) - n
    families = sorted(set(groups))
    packed.y = np.concatenate([z, np.zeros(extra)])
    packed.group = np.array([families.index(g) for g in groups] + [0] * extra)

    def ck(stage: str) -> str | None:
        return None if checkpoint_dir is None else os.path.join(checkpoint_dir, f"{stage}.pt")
    run_key = json.dumps({**est.get_params(deep=False), "progress": None, "device": None, "n": n,
                          "labels": float(np.round(z.sum(), 6))}, sort_keys=True)

    def check_run(state: dict) -> None:
        if state.get("run") != run_key:
            raise DataError(f"the checkpoints in {checkpoint_dir} belong to another training run (other "
                            "parameters or data); use a new --checkpoint-dir or delete it")
    if est.contrastive_epochs > 0:
        gen = torch.Generator().manual_seed(est.random_state + 1)

        def contrast(batch) -> Tensor:
            views = []
            for _ in range(2):
                x, ei, u = augment(batch.x * model.feature_mask.cpu(), batch.edge_index, batch.batch, batch.u, gen)
                views.append(model.project(model.encoder(x.to(device), ei.to(device), batch.batch.to(device),
                                                         u.to(device))))
            return nt_xent(*views)

        train(list(model.encoder.parameters()) + list(model.project.parameters()), range(len(packed)),
              packed.batch, contrast, epochs=est.contrastive_epochs, batch_size=max(est.batch_size, 128),
              lr=est.lr, weight_decay=est.weight_decay, seed=est.random_state, desc="contrastive",
              progress=est.progress, checkpoint=ck("contrastive"),
              state=lambda: {"model": model.state_dict(), "run": run_key},
              load_state=lambda s: (check_run(s), model.load_state_dict(s["model"])))
    est.centers_ = cluster(est, packed, n, init=None)

    drop_gen = torch.Generator().manual_seed(est.random_state + 2)

    def supervised(batch) -> Tensor:
        if est.op_dropout:
            hide = torch.rand(batch.x.shape[0], generator=drop_gen) < est.op_dropout
            batch.x[hide, :len(VOCAB)] = 0.0
        batch = batch.to(device)
        base, h = model.embed(batch)
        heads = model.heads(h)
        return head_loss(heads, batch.y, cluster_weights(base.detach(), est.centers_, est.fuzzifier), est.fuzzifier,
                         est.rank_weight, batch.group)

    def recluster(epoch: int) -> None:
        if est.num_heads > 1 and (epoch + 1) % 5 == 0:
            est.centers_ = cluster(est, packed, n, init=est.centers_.cpu().numpy())

    train(model.parameters(), range(n), packed.batch, supervised, epochs=est.epochs, batch_size=est.batch_size,
          lr=est.lr, weight_decay=est.weight_decay, seed=est.random_state, desc="supervised", progress=est.progress,
          checkpoint=ck("supervised"),
          state=lambda: {"model": model.state_dict(), "centers": est.centers_, "run": run_key},
          load_state=lambda s: (check_run(s), model.load_state_dict(s["model"]),
                                setattr(est, "centers_", s["centers"])),
          on_epoch_end=recluster)
    est.n_features_in_ = NUM_NODE_FEATURES


def cluster(est: GennapeEstimator, packed: PackedGraphs, n: int, init: np.ndarray | None, sample: int = 4000) -> Tensor:
    """Fuzzy c-means centres of the base embeddings of (a sample of) the first ``n`` graphs."""
    device = next(est.model_.parameters()).device
    if est.num_heads == 1:
        return torch.zeros(1, est.embed_dim, device=device)
    rng = np.random.default_rng(est.random_state)
    idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    base = embed_packed(est.model_, packed, idx, base_only=True)
    centers, _ = fuzzy_cmeans(base, est.num_heads, est.fuzzifier, seed=est.random_state, init=init)
    return torch.tensor(centers, dtype=torch.float32, device=device)
