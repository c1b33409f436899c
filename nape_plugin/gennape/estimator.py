"""The GENNAPE estimator's front class: GNN encoder, contrastive pretraining, fuzzy c-means head ensemble, few-shot
fine-tuning (the work is done in ``model``, ``pretraining``, ``finetuning`` and ``io`` beside this module).

>>> est = nape.load_pretrained()                                 # pretrained="default": the shipped start
>>> est.predict(new_graphs, return_std=True)                     # zero-shot
>>> est.fit(twenty_target_graphs, their_accuracies)             # fine-tunes a fresh copy of the start's weights
>>> new = GennapeEstimator(epochs=40).fit(graphs, accuracies, groups=families)   # pretrained=None: from scratch
>>> GennapeEstimator.from_pretrained(new).fit(few_graphs, few_accuracies)       # fine-tune the model just trained

scikit-learn conventions: ``__init__`` stores parameters only, learned state ends in ``_``, ``fit`` returns self,
``get_params``/``set_params``/``clone`` work. What ``fit`` does depends on the ``pretrained`` parameter alone: without
a start it pretrains from scratch, with one (a registered name, a file written by ``save``, or a fitted estimator) it
fine-tunes a fresh copy of the start's weights, every time. ``clone`` keeps the start, so
``cross_val_score(nape.load_pretrained(), graphs, y)`` fine-tunes from the shipped weights in every fold.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .. import plugins
from ..convert import to_graph
from ..errors import DataError, EmptyBatchError, NonFiniteError, NotFittedError, UnknownNameError, WeightsError
from ..graph.core import CompGraph
from ..graph.features import NUM_NODE_FEATURES
from ..graph.packed import PackedGraphs
from ..utils import threads
from ..utils.progress import track
from ..utils.validation import check_labels, check_not_sparse
from . import finetuning, io, pretraining
from .labels import free_statistics
from .model import embed_packed, head_outputs

#: What ``pretrained`` takes: a registered pretrained name, the path of a file written by ``save``, a fitted
#: estimator, or None (no start: ``fit`` pretrains from scratch).
Start = Union[str, os.PathLike, "GennapeEstimator", None]
#: Parameters that fix the shapes of the weights: a start's weights only fit an estimator with the same values.
ARCHITECTURE = ("conv", "width", "layers", "embed_dim", "num_heads", "relative")


def pack(items: Sequence[Any] | PackedGraphs | None, context: dict[str, Any], progress: bool = False) -> PackedGraphs:
    """``items`` as packed tensors (CompGraphs as they are, other objects through ``nape.to_graph``); a PackedGraphs
    comes back as a view sharing its arrays, so setting its targets never changes the caller's object."""
    check_not_sparse(items, "graphs")
    if isinstance(items, PackedGraphs):
        packed = PackedGraphs.from_arrays(items.to_arrays()) if len(items) else items
    elif isinstance(items, (CompGraph, str, bytes, Mapping)) or (items is not None and not isinstance(items, Iterable)):
        raise DataError(f"expected a list of graphs (or of objects nape.to_graph accepts), got one "
                        f"{type(items).__name__}; pass a list, e.g. est.predict([graph])")
    else:
        graphs = [] if items is None else [g if isinstance(g, CompGraph) else to_graph(g, **context)
                                           for g in track(items, "build graphs", progress)]
        packed = PackedGraphs(graphs, progress=progress) if graphs else PackedGraphs()
    if len(packed) == 0:
        raise EmptyBatchError("got no graphs; pass a non-empty list of CompGraphs or objects nape.to_graph accepts")
    return packed


def describe_start(start: Any) -> str:
    """How errors name a start."""
    return repr(start) if isinstance(start, (str, os.PathLike)) else f"a fitted {type(start).__name__}"


def resolve_start(start: Any, cls: type, fmt: str) -> Any:
    """The fitted ``cls`` a start names: a registered pretrained name (its loader's estimator), a file written by
    ``save`` in format ``fmt`` (read afresh), or the estimator itself. The pretrained registry comes from the plugin
    host, and files are read here, so this module never imports the registry, which imports it."""
    if isinstance(start, (str, os.PathLike)):
        loaders = plugins.pretrained()
        if isinstance(start, str) and start in loaders:
            start = loaders[start]()
        elif Path(start).is_file():
            blob = io.read(start)
            if blob["format"] != fmt:
                kind = "a bagged ensemble" if blob["format"] == io.BAG_FORMAT else "a single estimator"
                raise WeightsError(f"{start} holds {kind}, not a {cls.__name__}: load it with nape.load")
            start = cls.from_blob(blob, start)
        else:
            raise UnknownNameError(f"no pretrained model named {str(start)!r} and no such file; pretrained: "
                                   f"{', '.join(sorted(loaders)) or 'none'} (or the path of a file saved with "
                                   "est.save)")
    if not isinstance(start, cls):
        raise WeightsError(f"the start {describe_start(start)} is a {type(start).__name__}, not a {cls.__name__}: "
                           f"use {type(start).__name__}(pretrained=...) or nape.load_pretrained/nape.load, which "
                           "give the right class")
    return start


def start_spec(start: Any) -> Any:
    """The ``pretrained`` value that names ``start`` from anywhere: a file's absolute path, else ``start`` itself (a
    registered name or an estimator)."""
    if isinstance(start, os.PathLike) or (isinstance(start, str) and start not in plugins.pretrained()
                                          and Path(start).is_file()):
        return str(Path(start).resolve())
    return start


def reject_pretraining_arguments(est: Any, **given: Any) -> None:
    """A clear error when ``fit`` of an estimator with a start gets arguments that only pretraining reads."""
    named = [k for k, v in given.items() if v is not None]
    if named:
        raise DataError(f"{', '.join(named)} only apply when pretraining from scratch (pretrained=None); this "
                        f"estimator fine-tunes from {describe_start(est.pretrained)}")


class GennapeEstimator(RegressorMixin, BaseEstimator):
    """Generalised neural architecture performance estimator (see module docstring).

    Args:
        pretrained: the start ``fit`` fine-tunes from: a registered pretrained name (``"default"``), the path of a
            file written by ``save``, or a fitted estimator; None pretrains from scratch. The start's weights fix
            the :data:`ARCHITECTURE` parameters (``nape.load_pretrained``, ``nape.load`` and :meth:`from_pretrained`
            copy them from the start).
        conv, width, layers, embed_dim: encoder type (``"dag"``, ``"graphconv"``, ``"gin"``) and size.
        num_heads: heads = fuzzy clusters K (1 gives a single head). fuzzifier: fuzzy c-means ``m``.
        standardise: per-family label standardisation, ``"rank"`` or ``"zscore"``. flops_aware: AIO-P FLOPs transform.
        rank_weight: weight of the pairwise ranking loss beside the regression loss.
        contrastive_epochs, epochs, batch_size, lr, weight_decay: pretraining schedule.
        size_weight: weight of a size member mixed into zero-shot scores (the mean of the standardised log FLOPs and
            log params of the effective graph), as GENNAPE's zero-shot ensemble includes FLOPs; 0 disables it.
        finetune: fine-tuning path of ``fit`` from a start; ``"auto"`` picks by sample count.
        finetune_epochs: passes over the fine-tuning samples (``None``: by mode). adapter_width: K-adapter size.
        relative: size features relative to each network (see :class:`~nape_plugin.gennape.nn.GraphEncoder`).
        op_dropout: probability of hiding a node's one-hot op during pretraining, so the model also learns to read
            the op category features it relies on for ops absent from its training labels.
        random_state: seed of all randomness (an int). device: torch device for training and inference.
        progress: show bars (``None``: on terminals only).
    """

    def __init__(self, pretrained: Start = None, conv: str = "dag", width: int = 64, layers: int = 4,
                 embed_dim: int = 64, num_heads: int = 4, fuzzifier: float = 2.0, standardise: str = "rank",
                 flops_aware: bool = False, rank_weight: float = 1.0, contrastive_epochs: int = 10, epochs: int = 40,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4, size_weight: float = 0.0,
                 finetune: str = "auto", finetune_epochs: int | None = None, adapter_width: int = 16,
                 relative: bool = False, op_dropout: float = 0.1, random_state: int = 0, device: str = "cpu",
                 progress: bool | None = None):
        self.pretrained = pretrained
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
        self.random_state = random_state
        self.device = device
        self.progress = progress

    @classmethod
    def from_pretrained(cls, start: str | os.PathLike | GennapeEstimator) -> GennapeEstimator:
        """An estimator that fine-tunes from ``start`` (a registered name, a file written by ``save``, or a fitted
        estimator): the start's parameters with ``pretrained=start``, holding the start's weights (so it predicts
        zero-shot until ``fit``)."""
        loaded = resolve_start(start, cls, io.FORMAT)
        est = type(loaded)(**{**loaded.get_params(deep=False), "pretrained": start_spec(start)})
        est._take_start(loaded)
        return est

    # --------------------------------------------------------------------------------------------------- helpers
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this estimator has no weights yet: call fit(graphs, y) or use "
                                 "nape.load_pretrained()")

    def _start(self) -> GennapeEstimator:
        """The fitted estimator whose weights ``fit`` starts from: the one ``pretrained`` names, or this one (an
        estimator pretrained here, without a start) once it is fitted."""
        if self.pretrained is None:
            self._check_fitted()
            return self
        start = resolve_start(self.pretrained, GennapeEstimator, io.FORMAT)
        if not hasattr(start, "model_"):
            raise NotFittedError(f"the start {describe_start(self.pretrained)} has no weights: fit it first")
        ours, theirs = self.get_params(deep=False), start.get_params(deep=False)
        differ = [f"{k}={ours[k]!r} (the start's: {theirs[k]!r})" for k in ARCHITECTURE if ours[k] != theirs[k]]
        if differ:
            raise WeightsError(f"the weights of {describe_start(self.pretrained)} do not fit this estimator's "
                               f"{', '.join(differ)}; GennapeEstimator.from_pretrained(...) or nape.load_pretrained() "
                               "take the start's parameters")
        return start

    def _take_start(self, start: GennapeEstimator) -> None:
        """Make this estimator's fitted state a copy of ``start``'s pretrained (zero-shot) state."""
        self.model_ = copy.deepcopy(start.pretrained_ if getattr(start, "pretrained_", None) is not None
                                    else start.model_)
        self.centers_ = start.centers_.detach().clone()
        self.scaler_ = copy.deepcopy(start.scaler_)
        self.size_stats_ = copy.deepcopy(start.size_stats_)
        self.card_ = copy.deepcopy(getattr(start, "card_", {}))
        self.pretrained_ = self.ensemble_ = self.family_ = None
        self.n_features_in_ = NUM_NODE_FEATURES

    # ------------------------------------------------------------------------------------------------- training
    @threads.limited
    def fit(self, graphs: Sequence[Any] | PackedGraphs, y: Sequence[float], groups: Sequence[str] | None = None,
            unlabelled: Sequence[Any] | PackedGraphs | None = None, mode: str | None = None,
            checkpoint_dir: str | None = None, **context: Any) -> GennapeEstimator:
        """Fine-tune a fresh copy of the start's weights (``pretrained`` set) or pretrain from scratch (``None``);
        returns self. Neither ``graphs`` nor ``y`` is changed.

        Args:
            graphs: CompGraphs or objects ``nape.to_graph`` accepts (``context`` is passed to it).
            y: one label per graph (accuracy; higher is better).
            groups: family of each graph (e.g. ``"nb101"``); labels are standardised per family. Pretraining only.
            unlabelled: extra graphs for the contrastive stage only. Pretraining only.
            mode: fine-tuning path (:data:`~nape_plugin.gennape.finetuning.FINETUNE_MODES`), overriding
                ``self.finetune``. Fine-tuning only.
            checkpoint_dir: resumable checkpoints of each pretraining stage. Pretraining only.
        """
        packed = pack(graphs, context, self.progress)
        labels = check_labels(y, len(packed))
        if self.pretrained is None:
            if mode is not None:
                raise DataError(f"mode={mode!r} chooses a fine-tuning path, but this estimator has no start "
                                "(pretrained=None) and pretrains from scratch; give it one with pretrained=<name, "
                                "file or fitted estimator>")
            extra = None if unlabelled is None or len(unlabelled) == 0 else pack(unlabelled, {}, self.progress)
            pretraining.pretrain(self, packed, labels, groups, extra, checkpoint_dir)
        else:
            reject_pretraining_arguments(self, groups=groups, unlabelled=unlabelled, checkpoint_dir=checkpoint_dir)
            self._take_start(self._start())
            finetuning.finetune(self, packed, labels, mode or self.finetune)
        return self

    def pretrain_on_statistics(self, graphs: Sequence[Any] | PackedGraphs, epochs: int = 10, mode: str = "full",
                               **context: Any) -> GennapeEstimator:
        """FBNetV3's free pretraining, as a new start: a copy of the start's weights (this estimator's own when it
        was pretrained here) tuned on unlabelled ``graphs`` of the target family to predict their standardised log
        FLOPs + log params (of the effective graph). That copy becomes ``pretrained``, so every later ``fit`` (and
        every clone's) fine-tunes from it, and this estimator's model, which then ranks by those statistics. Helps
        most on families far from the pretraining data with few labels (docs/results.md); returns self."""
        start = self._start()
        packed = pack(graphs, context, self.progress)
        u = packed.to_arrays()["u"]
        tuned = type(self)(**{**self.get_params(deep=False), "finetune_epochs": epochs})
        tuned._take_start(start)
        finetuning.tune_copy(tuned, packed, free_statistics(u[:, 0], u[:, 1]), mode)
        tuned.set_params(finetune_epochs=self.finetune_epochs)
        tuned.pretrained_ = tuned.ensemble_ = tuned.family_ = None
        self.set_params(pretrained=tuned)
        self._take_start(tuned)
        return self

    # ----------------------------------------------------------------------------------------------- inference
    @threads.limited
    def predict(self, graphs: Sequence[Any] | PackedGraphs, return_std: bool = False, batch_size: int = 256,
                progress: bool | None = None, **context: Any) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted accuracy per graph, shape ``(n,)``; with ``return_std``, also the spread across heads.

        Zero-shot, scores are in the training families' averaged units (rank them); after fine-tuning with
        ``fit(graphs, y)``, they are in the units of ``y``.
        """
        self._check_fitted()
        packed = pack(graphs, context, self.progress)
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

    @threads.limited
    def predict_heads(self, graphs: Sequence[Any], batch_size: int = 256, **context: Any) -> np.ndarray:
        """Each head's prediction, ``(num_heads, n)`` in output units (an ensemble view for acquisition functions)."""
        self._check_fitted()
        packed = pack(graphs, context, self.progress)
        _, heads = head_outputs(self.model_, packed, self.centers_, self.fuzzifier, batch_size)
        if self.family_ != finetuning.TARGET:
            return np.stack([self.scaler_.inverse(finetuning.zero_shot_z(self, packed, heads[:, k]), None,
                                                  packed.mflops) for k in range(heads.shape[1])])
        zero, size = finetuning.zero_shot_z(self, packed), finetuning.size_z(self, packed)
        return np.stack([finetuning.combine(self, heads[:, k], zero, size) for k in range(heads.shape[1])])

    @threads.limited
    def embed(self, graphs: Sequence[Any], batch_size: int = 256, **context: Any) -> np.ndarray:
        """Graph embeddings ``(n, embed_dim)`` from the encoder."""
        self._check_fitted()
        packed = pack(graphs, context, self.progress)
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
        """Inverse of :meth:`to_blob` (``pretrained`` is left to the caller: :func:`nape.load` sets the file)."""
        return io.restore(cls(**io.params(blob)), blob, path)

    def __sklearn_clone__(self) -> GennapeEstimator:
        """The same parameters, unfitted; the start is kept as it is (never cloned), so the clone's ``fit`` starts
        from the same weights."""
        return type(self)(**self.get_params(deep=False))

    def __deepcopy__(self, memo: dict) -> GennapeEstimator:
        new = type(self)(**self.get_params(deep=False))
        for k, v in self.__dict__.items():
            if k.endswith("_"):
                setattr(new, k, copy.deepcopy(v, memo))
        return new
