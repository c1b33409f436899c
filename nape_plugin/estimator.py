"""The GENNAPE estimator: GNN encoder, contrastive pretraining, fuzzy c-means head ensemble, few-shot fine-tuning.

>>> est = GennapeEstimator(epochs=40).fit(graphs, accuracies, groups=families)   # pretrain from scratch
>>> est.predict(new_graphs, return_std=True)                                     # zero-shot
>>> est.fit(twenty_target_graphs, their_accuracies)                              # fine-tune (already trained)

scikit-learn conventions: ``__init__`` stores parameters only, learned state ends in ``_``, ``fit`` returns self,
``get_params``/``set_params``/``clone`` work. ``fit`` trains from scratch when the estimator holds no weights and
fine-tunes when it does (a loaded pretrained model, or after a first ``fit``); ``clone`` gives an untrained copy.
"""
from __future__ import annotations

import copy
import io
import json
import os
from typing import Any, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from torch import Tensor, nn

from . import __version__, metrics, threads
from .convert import to_graph
from .errors import DataError, EmptyBatchError, LabelError, LengthMismatchError, NotFittedError, WeightsError
from .features import FEATURE_VERSION, NUM_NODE_FEATURES
from .graph import CompGraph
from .labels import FamilyScaler, check_labels, free_statistics
from .losses import nt_xent, pairwise_rank_loss, weighted_head_mse
from .nn import GraphEncoder, HeadEnsemble, fuzzy_cmeans, memberships
from .ops import VOCAB
from .progress import progress_bar
from .tensorize import PackedGraphs
from .training import atomic_save, train

FORMAT = "nape-plugin/estimator"
FORMAT_VERSION = 1
FINETUNE_MODES = ("auto", "rescale", "heads", "adapter", "full")
TARGET = "target"   # family name of fine-tuning labels
MEMBERS = ("zero-shot", "size", "fine-tuned")   # members of a fine-tuned estimator's ensemble
TAU_POWER = 4                                   # member weight = Kendall tau on the fine-tuning samples ** TAU_POWER


class GennapeModel(nn.Module):
    """Encoder (+ optional adapter encoder) -> head ensemble; a projection head for the contrastive stage."""

    def __init__(self, conv: str, width: int, layers: int, embed_dim: int, num_heads: int, adapter_width: int = 0,
                 adapter_layers: int = 2, relative: bool = False):
        super().__init__()
        self.encoder = GraphEncoder(NUM_NODE_FEATURES, 3, width, layers, conv, embed_dim, relative=relative)
        self.project = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.ReLU(), nn.Linear(embed_dim, 32))
        self.adapter = GraphEncoder(NUM_NODE_FEATURES, 3, adapter_width, adapter_layers, conv, adapter_width,
                                    relative=relative) if adapter_width else None
        self.heads = HeadEnsemble(embed_dim + adapter_width, num_heads)
        #: 0 for the feature columns that never varied in the labelled training graphs (the one-hot of an op they
        #: never contained, a dilation flag NB101 never sets): the model reads such nodes through the features it
        #: learned, never through untrained weights.
        self.register_buffer("feature_mask", torch.ones(NUM_NODE_FEATURES))

    def embed(self, batch) -> tuple[Tensor, Tensor]:
        """``(base embedding, head input)``; they differ only when an adapter is attached."""
        x = batch.x * self.feature_mask
        base = self.encoder(x, batch.edge_index, batch.batch, batch.u)
        if self.adapter is None:
            return base, base
        return base, torch.cat([base, self.adapter(x, batch.edge_index, batch.batch, batch.u)], dim=1)

    def attach_adapter(self, width: int, layers: int = 2) -> None:
        """AIO-P's K-adapter: a new small encoder whose embedding is appended; heads start from their old weights."""
        old = self.heads
        conv = "dag" if type(self.encoder.convs[0]).__name__ == "DAGConv" else \
            "gin" if type(self.encoder.convs[0]).__name__ == "GINConv" else "graphconv"
        self.adapter = GraphEncoder(NUM_NODE_FEATURES, 3, width, layers, conv, width, relative=self.encoder.relative)
        self.heads = HeadEnsemble(old.w1.shape[1] + width, old.num_heads, old.w1.shape[2])
        with torch.no_grad():
            self.heads.w1.zero_()
            self.heads.w1[:, : old.w1.shape[1]] = old.w1
            for name in ("b1", "w2", "b2"):
                getattr(self.heads, name).copy_(getattr(old, name))


class GennapeEstimator(BaseEstimator, RegressorMixin):
    """Generalised neural architecture performance estimator (see module docstring).

    Args:
        conv, width, layers, embed_dim: encoder type (``"dag"``, ``"graphconv"``, ``"gin"``) and size.
        num_heads: heads = fuzzy clusters K (1 gives a single head). fuzzifier: fuzzy c-means ``m``.
        standardise: per-family label standardisation, ``"rank"`` or ``"zscore"``. flops_aware: AIO-P FLOPs transform.
        rank_weight: weight of the pairwise ranking loss beside the regression loss.
        contrastive_epochs, epochs, batch_size, lr, weight_decay: pretraining schedule.
        size_weight: weight of a size member mixed into zero-shot scores (the mean of the standardised log FLOPs and
            log params of the effective graph), as GENNAPE's zero-shot ensemble includes FLOPs; 0 disables it.
        finetune: fine-tuning path for ``fit`` on a trained estimator; ``"auto"`` picks by sample count.
        finetune_epochs: passes over the fine-tuning samples (``None``: by mode). adapter_width: K-adapter size.
        relative: size features relative to each network (see :class:`~nape_plugin.nn.GraphEncoder`).
        op_dropout: probability of hiding a node's one-hot op during pretraining, so the model also learns to read
            the op category features it relies on for ops absent from its training labels.
        seed: all randomness. device: torch device for training and inference.
        progress: show bars (``None``: on terminals only).
    """

    def __init__(self, conv: str = "dag", width: int = 64, layers: int = 4, embed_dim: int = 64, num_heads: int = 4,
                 fuzzifier: float = 2.0, standardise: str = "rank", flops_aware: bool = False,
                 rank_weight: float = 1.0, contrastive_epochs: int = 10, epochs: int = 40, batch_size: int = 64,
                 lr: float = 1e-3, weight_decay: float = 1e-4, size_weight: float = 0.0, finetune: str = "auto",
                 finetune_epochs: int | None = None, adapter_width: int = 16, relative: bool = False,
                 op_dropout: float = 0.1, seed: int = 0,
                 device: str = "cpu", progress: bool | None = None):
        self.conv = conv
        self.width = width
        self.layers = layers
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.fuzzifier = fuzzifier
        self.standardise = standardise
        self.flops_aware = flops_aware
        self.rank_weight = rank_weight
        self.contrastive_epochs = contrastive_epochs
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.size_weight = size_weight
        self.finetune = finetune
        self.finetune_epochs = finetune_epochs
        self.adapter_width = adapter_width
        self.relative = relative
        self.op_dropout = op_dropout
        self.seed = seed
        self.device = device
        self.progress = progress

    # --------------------------------------------------------------------------------------------------- helpers
    def _pack(self, items: Sequence[Any] | PackedGraphs, context: dict[str, Any]) -> PackedGraphs:
        """``items`` as packed tensors (CompGraphs as they are, other objects through ``nape.to_graph``)."""
        if isinstance(items, PackedGraphs):
            packed = items
        elif items is None or len(items) == 0:
            packed = PackedGraphs()
        else:
            packed = PackedGraphs([g if isinstance(g, CompGraph) else to_graph(g, **context) for g in items])
        if len(packed) == 0:
            raise EmptyBatchError("got no graphs; pass a non-empty list of CompGraphs or objects nape.to_graph accepts")
        return packed

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this estimator has no weights yet: call fit(graphs, y) or use "
                                 "nape.load_pretrained()")

    def _new_model(self) -> GennapeModel:
        return GennapeModel(self.conv, self.width, self.layers, self.embed_dim, self.num_heads, relative=self.relative)

    def _head_loss(self, base: Tensor, heads: Tensor, target: Tensor, groups: Tensor | None = None) -> Tensor:
        """Membership-weighted squared error of every head, plus the ranking loss of their mixture."""
        u = self._weights(base.detach())
        w = u ** self.fuzzifier
        loss = weighted_head_mse(heads, target, w / w.sum(1, keepdim=True))
        if self.rank_weight:
            loss = loss + self.rank_weight * pairwise_rank_loss((u * heads).sum(1), target, groups)
        return loss

    def _weights(self, base: Tensor) -> Tensor:
        """Fuzzy memberships of base embeddings in the fitted clusters, ``(batch, K)``."""
        return memberships(base, self.centers_.to(base.device, base.dtype), self.fuzzifier)

    def _size_z(self, packed: PackedGraphs) -> np.ndarray:
        """The size member: mean of the standardised log FLOPs and log params of the effective graphs."""
        mu, sd = self.size_stats_
        return ((packed.u[:, :2].numpy() - mu) / sd).mean(1)

    # ------------------------------------------------------------------------------------------------- training
    @threads.limited
    def fit(self, graphs: Sequence[Any] | PackedGraphs, y: Sequence[float], groups: Sequence[str] | None = None,
            unlabelled: Sequence[Any] | PackedGraphs | None = None, mode: str | None = None, checkpoint_dir: str | None = None,
            **context: Any) -> "GennapeEstimator":
        """Pretrain from scratch (no weights yet) or fine-tune (weights present); returns self.

        Args:
            graphs: CompGraphs or objects ``nape.to_graph`` accepts (``context`` is passed to it).
            y: one label per graph (accuracy; higher is better).
            groups: family of each graph (e.g. ``"nb101"``); labels are standardised per family. Pretraining only.
            unlabelled: extra graphs for the contrastive stage only. Pretraining only.
            mode: fine-tuning path, overriding ``self.finetune``.
            checkpoint_dir: resumable checkpoints of each pretraining stage. Pretraining only.
        """
        packed = self._pack(graphs, context)
        y = check_labels(y, len(packed))
        if not hasattr(self, "model_"):
            extra = None if unlabelled is None or len(unlabelled) == 0 else self._pack(unlabelled, {})
            return self._pretrain(packed, y, groups, extra, checkpoint_dir)
        return self._finetune(packed, y, mode or self.finetune)

    def _pretrain(self, labelled: PackedGraphs, y: np.ndarray, groups: Sequence[str] | None,
                  unlabelled: PackedGraphs | None, checkpoint_dir: str | None) -> "GennapeEstimator":
        torch.manual_seed(self.seed)
        n = len(labelled)
        groups = [str(g) for g in groups] if groups is not None else ["train"] * n
        if len(groups) != n:
            raise LengthMismatchError(f"got {n} graphs but {len(groups)} groups; pass one family per graph")
        device = torch.device(self.device)
        self.model_ = model = self._new_model().to(device)
        self.scaler_ = FamilyScaler(self.standardise, self.flops_aware)
        z = self.scaler_.fit_transform(y, groups, labelled.mflops)
        sizes = labelled.u[:, :2].numpy().astype(np.float64)
        self.size_stats_ = (sizes.mean(0), np.where(sizes.std(0) > 0, sizes.std(0), 1.0))
        self.family_ = self.pretrained_ = self.ensemble_ = None
        rows = labelled.table[np.unique(labelled.node_ids)]
        model.feature_mask[:] = (rows.amax(0) > rows.amin(0)).float().to(device)
        packed = labelled if unlabelled is None else PackedGraphs.concat([labelled, unlabelled])
        extra = len(packed) - n
        families = sorted(set(groups))
        packed.y = np.concatenate([z, np.zeros(extra)])
        packed.group = np.array([families.index(g) for g in groups] + [0] * extra)
        ck = (lambda stage: None if checkpoint_dir is None else os.path.join(checkpoint_dir, f"{stage}.pt"))
        run_key = json.dumps({**self.get_params(), "progress": None, "device": None, "n": n,
                              "labels": float(np.round(z.sum(), 6))}, sort_keys=True)

        def check_run(state: dict) -> None:
            if state.get("run") != run_key:
                raise DataError(f"the checkpoints in {checkpoint_dir} belong to another training run (other "
                                "parameters or data); use a new --checkpoint-dir or delete it")
        if self.contrastive_epochs > 0:
            gen = torch.Generator().manual_seed(self.seed + 1)

            def contrast(batch) -> Tensor:
                from .contrastive import augment
                views = []
                for _ in range(2):
                    x, ei, u = augment(batch.x * model.feature_mask.cpu(), batch.edge_index, batch.batch, batch.u, gen)
                    views.append(model.project(model.encoder(x.to(device), ei.to(device), batch.batch.to(device),
                                                             u.to(device))))
                return nt_xent(*views)

            train(list(model.encoder.parameters()) + list(model.project.parameters()), range(len(packed)),
                  packed.batch, contrast, epochs=self.contrastive_epochs, batch_size=max(self.batch_size, 128),
                  lr=self.lr, weight_decay=self.weight_decay, seed=self.seed, desc="contrastive",
                  progress=self.progress, checkpoint=ck("contrastive"),
                  state=lambda: {"model": model.state_dict(), "run": run_key},
                  load_state=lambda s: (check_run(s), model.load_state_dict(s["model"])))
        self.centers_ = self._cluster(packed, n, init=None)

        drop_gen = torch.Generator().manual_seed(self.seed + 2)

        def supervised(batch) -> Tensor:
            if self.op_dropout:
                hide = torch.rand(batch.x.shape[0], generator=drop_gen) < self.op_dropout
                batch.x[hide, :len(VOCAB)] = 0.0
            batch = batch.to(device)
            base, h = model.embed(batch)
            return self._head_loss(base, model.heads(h), batch.y, batch.group)

        def recluster(epoch: int) -> None:
            if self.num_heads > 1 and (epoch + 1) % 5 == 0:
                self.centers_ = self._cluster(packed, n, init=self.centers_.cpu().numpy())

        train(model.parameters(), range(n), packed.batch, supervised, epochs=self.epochs, batch_size=self.batch_size,
              lr=self.lr, weight_decay=self.weight_decay, seed=self.seed, desc="supervised", progress=self.progress,
              checkpoint=ck("supervised"),
              state=lambda: {"model": model.state_dict(), "centers": self.centers_, "run": run_key},
              load_state=lambda s: (check_run(s), model.load_state_dict(s["model"]),
                                    setattr(self, "centers_", s["centers"])),
              on_epoch_end=recluster)
        self.n_features_in_ = NUM_NODE_FEATURES
        return self

    def _cluster(self, packed: PackedGraphs, n: int, init: np.ndarray | None, sample: int = 4000) -> Tensor:
        """Fuzzy c-means centres of the base embeddings of (a sample of) the first ``n`` graphs."""
        device = next(self.model_.parameters()).device
        if self.num_heads == 1:
            return torch.zeros(1, self.embed_dim, device=device)
        rng = np.random.default_rng(self.seed)
        idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
        base = self._embed_packed(packed, idx, base_only=True)
        centers, _ = fuzzy_cmeans(base, self.num_heads, self.fuzzifier, seed=self.seed, init=init)
        return torch.tensor(centers, dtype=torch.float32, device=device)

    def _finetune(self, packed: PackedGraphs, y: np.ndarray, mode: str) -> "GennapeEstimator":
        """Fine-tune the pretrained weights afresh on ``(packed, y)`` and weight the ensemble members (GENNAPE).

        Members: the zero-shot score of the pretrained model, the size member, and the fine-tuned model. As in
        GENNAPE, each is weighted by its Kendall tau on the fine-tuning samples, here raised to the power
        :data:`TAU_POWER` (measured in docs/results.md: the fine-tuned member, whose in-sample tau is optimistic, is
        still the best one from about 50 samples on); one affine map then puts the mix in the units of ``y``.
        """
        model = self._tune_copy(packed, y, mode)
        zero = self._zero_shot_z(packed)
        members = np.stack([zero, self._size_z(packed), self._mixture(model, packed)], 1)
        taus = np.array([metrics.kendall_tau(y, members[:, i]) for i in range(3)])
        weights = np.clip(taus, 0, None) ** TAU_POWER
        weights = weights / weights.sum() if weights.sum() > 0 else np.array([1.0, 0.0, 0.0])
        mean, std = members.mean(0), np.where(members.std(0) > 0, members.std(0), 1.0)
        mixed = ((members - mean) / std) @ weights
        scale, shift = np.polyfit(mixed, y, 1) if np.ptp(mixed) > 0 else (0.0, float(y.mean()))
        self.ensemble_ = {"members": list(MEMBERS), "weights": weights, "mean": mean, "std": std,
                          "scale": float(scale), "shift": float(shift), "kendall_tau": taus}
        self.family_ = TARGET
        return self

    def _tune_copy(self, packed: PackedGraphs, y: np.ndarray, mode: str) -> GennapeModel:
        """Set ``model_`` to a fresh copy of the pretrained weights tuned on ``(packed, y)`` standardised; return it."""
        if mode not in FINETUNE_MODES:
            raise ValueError(f"unknown fine-tuning mode {mode!r}; choose one of {FINETUNE_MODES}")
        n = len(packed)
        if n < 3:
            raise EmptyBatchError(f"fine-tuning needs at least 3 labelled graphs, got {n}")
        if np.ptp(y) == 0:
            raise LabelError("all fine-tuning labels are equal; nothing to learn a ranking from")
        if mode == "auto":
            mode = "full"
        torch.manual_seed(self.seed)
        device = torch.device(self.device)
        if getattr(self, "pretrained_", None) is None:
            self.pretrained_ = copy.deepcopy(self.model_).cpu()
        self.model_ = model = copy.deepcopy(self.pretrained_).to(device)
        self.centers_ = self.centers_.to(device)
        self._tune(model, packed, (y - y.mean()) / (y.std() or 1.0), mode, device)
        self.finetune_mode_ = mode
        return model

    def pretrain_on_statistics(self, graphs: Sequence[Any] | PackedGraphs, epochs: int = 10, mode: str = "full",
                               **context: Any) -> "GennapeEstimator":
        """FBNetV3's free pretraining: tune the network on unlabelled ``graphs`` of the target family to predict
        their standardised log FLOPs + log params (of the effective graph), and make that the starting point of every
        later ``fit``. Until then, predictions rank by those statistics. Helps most on families far from the
        pretraining data with few labels (docs/results.md); returns self."""
        self._check_fitted()
        packed = self._pack(graphs, context)
        u = packed.to_arrays()["u"]
        saved, self.finetune_epochs = self.finetune_epochs, epochs
        try:
            self._tune_copy(packed, free_statistics(u[:, 0], u[:, 1]), mode)
        finally:
            self.finetune_epochs = saved
        self.pretrained_ = self.ensemble_ = self.family_ = None
        return self

    def _embeddings(self, model: GennapeModel, packed: PackedGraphs) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            model.eval()
            device = next(model.parameters()).device
            parts = [model.embed(packed.batch(np.arange(i, min(i + 256, len(packed)))).to(device))
                     for i in range(0, len(packed), 256)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _fit_heads(self, heads: HeadEnsemble, base: Tensor, h: Tensor, z: np.ndarray, mode: str) -> None:
        """Train the heads (``"rescale"``: their last layer only) on fixed embeddings, full batch."""
        params = [heads.w2, heads.b2] if mode == "rescale" else list(heads.parameters())
        target = torch.as_tensor(z, dtype=torch.float32, device=h.device)
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        for _ in range(self.finetune_epochs or 300):
            loss = self._head_loss(base, heads(h), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def _tune(self, model: GennapeModel, packed: PackedGraphs, z: np.ndarray, mode: str,
              device: torch.device) -> None:
        """Fine-tune ``model`` (a copy of the pretrained one) on ``(packed, z)`` in ``mode``."""
        if mode in ("rescale", "heads"):
            base, h = self._embeddings(model, packed)
            self._fit_heads(model.heads, base, h, z, mode)
        else:
            self._fit_network(model, packed, z, mode, device)

    def _fit_network(self, model: GennapeModel, packed: PackedGraphs, z: np.ndarray, mode: str,
                     device: torch.device) -> None:
        """Fine-tune the heads with an adapter encoder (``"adapter"``) or everything (``"full"``)."""
        if mode == "adapter":
            model.attach_adapter(self.adapter_width)
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
            return self._head_loss(base, model.heads(h), batch.y)

        model.train()
        train(trainable, range(len(packed)), packed.batch, step,
              epochs=self.finetune_epochs or {"adapter": 60, "full": 40}[mode], batch_size=min(32, len(packed)),
              lr=self.lr * (0.3 if mode == "full" else 1.0), weight_decay=self.weight_decay, seed=self.seed,
              desc=f"fine-tune ({mode})", progress=self.progress)
        for p in model.parameters():
            p.requires_grad_(True)
        packed.y = None

    # ----------------------------------------------------------------------------------------------- inference
    @torch.no_grad()
    def _embed_packed(self, packed: PackedGraphs, indices: np.ndarray, base_only: bool = False,
                      batch_size: int = 256) -> np.ndarray:
        model = self.model_
        device = next(model.parameters()).device
        was = model.training
        model.eval()
        out = []
        for i in range(0, len(indices), batch_size):
            base, h = model.embed(packed.batch(indices[i:i + batch_size]).to(device))
            out.append((base if base_only else h).cpu().numpy())
        model.train(was)
        return np.concatenate(out)

    @torch.no_grad()
    def _raw(self, model: GennapeModel, packed: PackedGraphs, batch_size: int = 256,
             progress: bool | None = False) -> tuple[np.ndarray, np.ndarray]:
        """``(memberships (n, K), head outputs (n, K))`` of ``model`` in standardised units."""
        device = next(model.parameters()).device
        was = model.training
        model.eval()
        bar = progress_bar(total=len(packed), desc="predict", enabled=progress)
        us, hs = [], []
        for i in range(0, len(packed), batch_size):
            chunk = np.arange(i, min(i + batch_size, len(packed)))
            base, h = model.embed(packed.batch(chunk).to(device))
            us.append(self._weights(base).cpu().numpy())
            hs.append(model.heads(h).cpu().numpy())
            bar.update(len(chunk))
        bar.close()
        model.train(was)
        return np.concatenate(us), np.concatenate(hs)

    def _mixture(self, model: GennapeModel, packed: PackedGraphs) -> np.ndarray:
        u, heads = self._raw(model, packed)
        return (u * heads).sum(1)

    def _zero_shot_z(self, packed: PackedGraphs, mixture: np.ndarray | None = None) -> np.ndarray:
        """The pretrained model's score mixed with the size member, in standardised units (``mixture``: the
        pretrained model's head mixture when already computed)."""
        if mixture is None:
            pretrained = self.pretrained_ if getattr(self, "pretrained_", None) is not None else self.model_
            mixture = self._mixture(pretrained, packed)
        if not self.size_weight:
            return mixture
        return (1 - self.size_weight) * mixture + self.size_weight * self._size_z(packed)

    def _finetuned(self, tuned: np.ndarray, zero: np.ndarray, size: np.ndarray) -> np.ndarray:
        """The fine-tuned ensemble in the units of the fine-tuning labels."""
        e = self.ensemble_
        mixed = ((np.stack([zero, size, tuned], 1) - e["mean"]) / e["std"]) @ e["weights"]
        return e["scale"] * mixed + e["shift"]

    @threads.limited
    def predict(self, graphs: Sequence[Any] | PackedGraphs, return_std: bool = False, batch_size: int = 256,
                progress: bool | None = None, **context: Any):
        """Predicted accuracy per graph, shape ``(n,)``; with ``return_std``, also the spread across heads.

        Zero-shot, scores are in the training families' averaged units (rank them); after fine-tuning with
        ``fit(graphs, y)``, they are in the units of ``y``.
        """
        self._check_fitted()
        packed = self._pack(graphs, context)
        show = progress if progress is not None else (self.progress if len(packed) > 2000 else False)
        u, heads = self._raw(self.model_, packed, batch_size, show)
        z = (u * heads).sum(1)
        spread = np.sqrt((u * (heads - z[:, None]) ** 2).sum(1))
        if self.family_ != TARGET:
            z = self._zero_shot_z(packed, z)
            mean = self.scaler_.inverse(z, None, packed.mflops)
            scale = np.abs(self.scaler_.inverse(z + 1, None, packed.mflops) - mean)
            spread = spread * (1 - self.size_weight)
        else:
            mean = self._finetuned(z, self._zero_shot_z(packed), self._size_z(packed))
            e = self.ensemble_
            scale = abs(e["scale"]) * e["weights"][2] / e["std"][2]
        return (mean, spread * scale) if return_std else mean

    @threads.limited
    def predict_heads(self, graphs: Sequence[Any], batch_size: int = 256, **context: Any) -> np.ndarray:
        """Each head's prediction, ``(num_heads, n)`` in output units (an ensemble view for acquisition functions)."""
        self._check_fitted()
        packed = self._pack(graphs, context)
        _, heads = self._raw(self.model_, packed, batch_size)
        if self.family_ != TARGET:
            return np.stack([self.scaler_.inverse(self._zero_shot_z(packed, heads[:, k]), None, packed.mflops)
                             for k in range(heads.shape[1])])
        zero, size = self._zero_shot_z(packed), self._size_z(packed)
        return np.stack([self._finetuned(heads[:, k], zero, size) for k in range(heads.shape[1])])

    @threads.limited
    def embed(self, graphs: Sequence[Any], batch_size: int = 256, **context: Any) -> np.ndarray:
        """Graph embeddings ``(n, embed_dim)`` from the encoder."""
        self._check_fitted()
        packed = self._pack(graphs, context)
        return self._embed_packed(packed, np.arange(len(packed)), True, batch_size)

    # ------------------------------------------------------------------------------------------------ persist
    def save(self, path: str | os.PathLike, card: dict | None = None) -> None:
        """Write weights, fitted state and parameters to ``path`` (loadable with ``weights_only=True``)."""
        atomic_save(self.to_blob(card), path)

    def to_blob(self, card: dict | None = None) -> dict[str, Any]:
        """Everything :meth:`save` writes: tensors, numbers and strings only."""
        self._check_fitted()
        m = self.model_
        pre = getattr(self, "pretrained_", None)
        ensemble = getattr(self, "ensemble_", None)
        blob = {"format": FORMAT, "format_version": FORMAT_VERSION, "feature_version": FEATURE_VERSION,
                "nape_version": __version__, "params": self.get_params(),
                "adapter_width": m.adapter.embed_dim if m.adapter is not None else 0,
                "state_dict": {k: v.cpu() for k, v in m.state_dict().items()}, "centers": self.centers_.cpu(),
                "pretrained_state_dict": None if pre is None else {k: v.cpu() for k, v in pre.state_dict().items()},
                "ensemble": None if ensemble is None else
                {k: (torch.as_tensor(v) if isinstance(v, np.ndarray) else v) for k, v in ensemble.items()},
                "finetune_mode": getattr(self, "finetune_mode_", None),
                "scaler": {"standardise": self.scaler_.standardise, "flops_aware": self.scaler_.flops_aware,
                           "stats": {k: list(v) for k, v in self.scaler_.stats_.items()}},
                "size_stats": [torch.tensor(a) for a in self.size_stats_], "family": self.family_,
                "card": card or getattr(self, "card_", {})}
        return blob

    def __sklearn_clone__(self):
        return type(self)(**self.get_params())

    def __deepcopy__(self, memo):
        new = type(self)(**self.get_params())
        for k, v in self.__dict__.items():
            if k.endswith("_"):
                setattr(new, k, copy.deepcopy(v, memo))
        return new


def read(path: str | os.PathLike | io.BytesIO) -> dict[str, Any]:
    """The contents of a nape-plugin weight file, checked for its marker and versions."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:
        raise WeightsError(f"cannot read estimator weights from {path}: {type(e).__name__}: {e}. The file is "
                           "corrupted, truncated or not a nape-plugin estimator; re-download or re-save it") from None
    if not isinstance(blob, dict) or not str(blob.get("format", "")).startswith(FORMAT):
        raise WeightsError(f"{path} is not a nape-plugin estimator file (no '{FORMAT}' marker); save estimators "
                           "with est.save(path)")
    if blob.get("format_version") != FORMAT_VERSION or blob.get("feature_version") != FEATURE_VERSION:
        raise WeightsError(f"{path} was written with estimator format {blob.get('format_version')} / features "
                           f"{blob.get('feature_version')}; this nape-plugin {__version__} reads format "
                           f"{FORMAT_VERSION} / features {FEATURE_VERSION}: retrain or use a matching version")
    return blob


def load(path: str | os.PathLike | io.BytesIO):
    """An estimator written by ``save`` (a :class:`GennapeEstimator` or a bagged ensemble of them)."""
    blob = read(path)
    if blob["format"] != FORMAT:
        from .bagging import BaggedEstimator
        return BaggedEstimator.from_blob(blob, path)
    return from_blob(blob, path)


def from_blob(blob: dict[str, Any], path: Any = "<blob>") -> GennapeEstimator:
    """Inverse of :meth:`GennapeEstimator.to_blob`."""
    est = GennapeEstimator(**blob["params"])
    model = est._new_model()
    if blob["adapter_width"]:
        model.attach_adapter(blob["adapter_width"])
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as e:
        raise WeightsError(f"weights in {path} do not fit the architecture in its parameters: {e}") from None
    est.model_ = model
    est.pretrained_ = None
    if blob.get("pretrained_state_dict") is not None:
        est.pretrained_ = est._new_model()
        est.pretrained_.load_state_dict(blob["pretrained_state_dict"])
    est.ensemble_ = None if blob.get("ensemble") is None else \
        {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in blob["ensemble"].items()}
    if blob.get("finetune_mode") is not None:
        est.finetune_mode_ = blob["finetune_mode"]
    est.centers_ = blob["centers"]
    sc = blob["scaler"]
    est.scaler_ = FamilyScaler(sc["standardise"], sc["flops_aware"], {k: tuple(v) for k, v in sc["stats"].items()})
    est.size_stats_ = tuple(t.numpy() for t in blob["size_stats"])
    est.family_ = blob["family"]
    est.card_ = blob["card"]
    est.n_features_in_ = NUM_NODE_FEATURES
    return est
