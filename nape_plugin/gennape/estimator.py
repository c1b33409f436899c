"""The GENNAPE estimator's front class: GNN encoder, contrastive pretraining, fuzzy c-means head ensemble, few-shot
fine-tuning (the work is done in ``model``, ``pretraining``, ``finetuning`` and ``io`` beside this module).

>>> est = GennapeEstimator(epochs=40).fit(graphs, accuracies, groups=families)   # pretrain from scratch
>>> est.predict(new_graphs, return_std=True)                                     # zero-shot
>>> est.fit(twenty_target_graphs, their_accuracies)                              # fine-tune (already trained)

scikit-learn conventions: ``__init__`` stores parameters only, learned state ends in ``_``, ``fit`` returns self,
``get_params``/``set_params``/``clone`` work. ``fit`` trains from scratch when the estimator holds no weights and
fine-tunes when it does (a loaded pretrained model, or after a first ``fit``); ``clone`` gives an untrained copy.
"""
from __future__ import annotations

import copy
import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from ..convert import to_graph
from ..errors import DataError, EmptyBatchError, NonFiniteError, NotFittedError
from ..graph.core import CompGraph
from ..graph.packed import PackedGraphs
from ..utils.progress import track
from ..utils.validation import check_labels
from . import finetuning, io, pretraining
from .labels import free_statistics
from .model import embed_packed, head_outputs


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
        relative: size features relative to each network (see :class:`~nape_plugin.gennape.nn.GraphEncoder`).
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
    def _pack(self, items: Sequence[Any] | PackedGraphs | None, context: dict[str, Any]) -> PackedGraphs:
        """``items`` as packed tensors (CompGraphs as they are, other objects through ``nape.to_graph``)."""
        if isinstance(items, PackedGraphs):
            packed = items
        elif isinstance(items, (CompGraph, str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise DataError(f"expected a list of graphs (or of objects nape.to_graph accepts), got one "
                            f"{type(items).__name__}; pass a list, e.g. est.predict([graph])")
        else:
            packed = PackedGraphs([g if isinstance(g, CompGraph) else to_graph(g, **context)
                                   for g in track(items, "build graphs", self.progress)], progress=self.progress)
        if len(packed) == 0:
            raise EmptyBatchError("got no graphs; pass a non-empty list of CompGraphs or objects nape.to_graph accepts")
        return packed

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this estimator has no weights yet: call fit(graphs, y) or use "
                                 "nape.load_pretrained()")

    # ------------------------------------------------------------------------------------------------- training
    def fit(self, graphs: Sequence[Any] | PackedGraphs, y: Sequence[float], groups: Sequence[str] | None = None,
            unlabelled: Sequence[Any] | PackedGraphs | None = None, mode: str | None = None,
            checkpoint_dir: str | None = None, **context: Any) -> GennapeEstimator:
        """Pretrain from scratch (no weights yet) or fine-tune (weights present); returns self.

        Args:
            graphs: CompGraphs or objects ``nape.to_graph`` accepts (``context`` is passed to it).
            y: one label per graph (accuracy; higher is better).
            groups: family of each graph (e.g. ``"nb101"``); labels are standardised per family. Pretraining only.
            unlabelled: extra graphs for the contrastive stage only. Pretraining only.
            mode: fine-tuning path (:data:`~nape_plugin.gennape.finetuning.FINETUNE_MODES`), overriding
                ``self.finetune``.
            checkpoint_dir: resumable checkpoints of each pretraining stage. Pretraining only.
        """
        packed = self._pack(graphs, context)
        labels = check_labels(y, len(packed))
        if not hasattr(self, "model_"):
            extra = None if unlabelled is None or len(unlabelled) == 0 else self._pack(unlabelled, {})
            pretraining.pretrain(self, packed, labels, groups, extra, checkpoint_dir)
        else:
            finetuning.finetune(self, packed, labels, mode or self.finetune)
        return self

    def pretrain_on_statistics(self, graphs: Sequence[Any] | PackedGraphs, epochs: int = 10, mode: str = "full",
                               **context: Any) -> GennapeEstimator:
        """FBNetV3's free pretraining: tune the network on unlabelled ``graphs`` of the target family to predict
        their standardised log FLOPs + log params (of the effective graph), and make that the starting point of every
        later ``fit``. Until then, predictions rank by those statistics. Helps most on families far from the
        pretraining data with few labels (docs/results.md); returns self."""
        self._check_fitted()
        packed = self._pack(graphs, context)
        u = packed.to_arrays()["u"]
        saved, self.finetune_epochs = self.finetune_epochs, epochs
        try:
            finetuning.tune_copy(self, packed, free_statistics(u[:, 0], u[:, 1]), mode)
        finally:
            self.finetune_epochs = saved
        self.pretrained_ = self.ensemble_ = self.family_ = None
        return self

    # ----------------------------------------------------------------------------------------------- inference
    def predict(self, graphs: Sequence[Any] | PackedGraphs, return_std: bool = False, batch_size: int = 256,
                progress: bool | None = None, **context: Any) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted accuracy per graph, shape ``(n,)``; with ``return_std``, also the spread across heads.

        Zero-shot, scores are in the training families' averaged units (rank them); after fine-tuning with
        ``fit(graphs, y)``, they are in the units of ``y``.
        """
        self._check_fitted()
        packed = self._pack(graphs, context)
        u, heads = head_outputs(self.model_, packed, self.centers_, self.fuzzifier, batch_size,
                                progress if progress is not None else self.progress)
        z = (u * heads).sum(1)
        spread = np.sqrt((u * (heads - z[:, None]) ** 2).sum(1))
        if self.family_ != finetuning.TARGET:
            z = finetuning.zero_shot_z(self, packed, z)
            mean = self.scaler_.inverse(z, None, packed.mflops)
            scale = np.abs(self.scaler_.inverse(z + 1, None, packed.mflops) - mean)
            spread = spread * (1 - self.size_weight)
        else:
            mean = finetuning.combine(self, z, finetuning.zero_shot_z(self, packed), finetuning.size_z(self, packed))
            e = self.ensemble_
            scale = abs(e["scale"]) * e["weights"][2] / e["std"][2]
        bad = ~(np.isfinite(mean) & np.isfinite(spread * scale))
        if bad.any():
            raise NonFiniteError(f"{int(bad.sum())} of {len(bad)} predictions are NaN or infinite (first: graph "
                                 f"{int(np.argmax(bad))}); the weights or the graphs' sizes are out of range")
        return (mean, spread * scale) if return_std else mean

    def predict_heads(self, graphs: Sequence[Any], batch_size: int = 256, **context: Any) -> np.ndarray:
        """Each head's prediction, ``(num_heads, n)`` in output units (an ensemble view for acquisition functions)."""
        self._check_fitted()
        packed = self._pack(graphs, context)
        _, heads = head_outputs(self.model_, packed, self.centers_, self.fuzzifier, batch_size)
        if self.family_ != finetuning.TARGET:
            return np.stack([self.scaler_.inverse(finetuning.zero_shot_z(self, packed, heads[:, k]), None,
                                                  packed.mflops) for k in range(heads.shape[1])])
        zero, size = finetuning.zero_shot_z(self, packed), finetuning.size_z(self, packed)
        return np.stack([finetuning.combine(self, heads[:, k], zero, size) for k in range(heads.shape[1])])

    def embed(self, graphs: Sequence[Any], batch_size: int = 256, **context: Any) -> np.ndarray:
        """Graph embeddings ``(n, embed_dim)`` from the encoder."""
        self._check_fitted()
        packed = self._pack(graphs, context)
        return embed_packed(self.model_, packed, np.arange(len(packed)), True, batch_size)

    # ------------------------------------------------------------------------------------------------ persist
    def save(self, path: str | os.PathLike, card: dict | None = None) -> None:
        """Write weights, fitted state and parameters to ``path`` (loadable with ``weights_only=True``)."""
        io.write(self.to_blob(card), path)

    def to_blob(self, card: dict | None = None) -> dict[str, Any]:
        """Everything :meth:`save` writes: tensors, numbers and strings only."""
        self._check_fitted()
        return io.to_blob(self, card)

    @classmethod
    def from_blob(cls, blob: dict[str, Any], path: Any = "<blob>") -> GennapeEstimator:
        """Inverse of :meth:`to_blob`."""
        return io.restore(cls(**blob["params"]), blob, path)

    def __sklearn_clone__(self) -> GennapeEstimator:
        return type(self)(**self.get_params())

    def __deepcopy__(self, memo: dict) -> GennapeEstimator:
        new = type(self)(**self.get_params())
        for k, v in self.__dict__.items():
            if k.endswith("_"):
                setattr(new, k, copy.deepcopy(v, memo))
        return new
