"""An equal-weight ensemble of estimators trained on random subsets of the labels (bagging).

GENNAPE's zero-shot model is an equal-weight ensemble of several variants; a single GNN's zero-shot ranking of an
unseen family varies a lot with its seed and training subset (docs/results.md), and averaging members trained on
different subsets with different seeds removes much of that variance.

>>> bag = BaggedEstimator(GennapeEstimator(epochs=12), n_members=3, subsample=5000).fit(graphs, y)   # from scratch
>>> bag.predict(new_graphs)                              # the mean of the members' scores
>>> tuned = nape.load_pretrained("gennape-nb101")        # a bag with pretrained="gennape-nb101"
>>> tuned.fit(fifty_graphs, fifty_y)                     # fine-tunes every member; predictions in the units of y
"""
from __future__ import annotations

import copy
import os
from typing import Any, Sequence, Union

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone

from ..errors import DataError, NotFittedError, WeightsError
from ..graph.packed import PackedGraphs
from ..utils.validation import check_labels
from . import io
from .estimator import GennapeEstimator, describe_start, pack, reject_pretraining_arguments, resolve_start, start_spec
from .io import BAG_FORMAT

#: What ``pretrained`` takes: a registered name or saved file of a bagged ensemble, a fitted one, or None.
BagStart = Union[str, os.PathLike, "BaggedEstimator", None]


class BaggedEstimator(RegressorMixin, BaseEstimator):
    """``n_members`` clones of ``estimator`` with random states ``random_state + i``, each pretrained on its own
    random ``subsample`` of the labelled graphs (a count or a fraction; ``None``: all of them).

    The same methods as :class:`~nape_plugin.gennape.estimator.GennapeEstimator`, and the same rule for ``fit``: with
    a start (``pretrained``: a registered name or saved file of a bag, or a fitted bag) it fine-tunes a fresh copy
    of every start member on all of ``(graphs, y)``; without one it pretrains the members from scratch. ``predict``
    averages the members, ``predict_heads`` stacks every member's heads, ``save`` writes one file that ``nape.load``
    reads back.
    """

    def __init__(self, estimator: GennapeEstimator | None = None, n_members: int = 3,
                 subsample: float | int | None = None, pretrained: BagStart = None, random_state: int = 0):
        self.estimator = estimator
        self.n_members = n_members
        self.subsample = subsample
        self.pretrained = pretrained
        self.random_state = random_state

    @classmethod
    def from_pretrained(cls, start: str | os.PathLike | BaggedEstimator) -> BaggedEstimator:
        """A bag that fine-tunes from ``start`` (a registered name, a saved file or a fitted bag): the start's
        parameters with ``pretrained=start``, holding copies of its members (so it predicts zero-shot until ``fit``)."""
        loaded = resolve_start(start, cls, BAG_FORMAT)
        loaded._check_fitted()
        bag = clone(loaded).set_params(pretrained=start_spec(start))
        bag._take_start(loaded)
        return bag

    def _start(self) -> BaggedEstimator:
        """The fitted bag whose members ``fit`` starts from: the one ``pretrained`` names, or this one (pretrained
        here, without a start) once it is fitted."""
        if self.pretrained is None:
            self._check_fitted()
            return self
        start = resolve_start(self.pretrained, BaggedEstimator, BAG_FORMAT)
        if not hasattr(start, "estimators_"):
            raise NotFittedError(f"the start {describe_start(self.pretrained)} has no members: fit it first")
        if len(start.estimators_) != self.n_members:
            raise WeightsError(f"the start {describe_start(self.pretrained)} has {len(start.estimators_)} members but "
                               f"n_members={self.n_members}; BaggedEstimator.from_pretrained(...) or "
                               "nape.load_pretrained() take the start's parameters")
        return start

    def _take_start(self, start: BaggedEstimator) -> None:
        self.estimators_ = [GennapeEstimator.from_pretrained(m) for m in start.estimators_]
        self.card_ = copy.deepcopy(getattr(start, "card_", {}))

    # ------------------------------------------------------------------------------------------------- training
    def fit(self, graphs: Sequence[Any] | PackedGraphs, y: Sequence[float], groups: Sequence[str] | None = None,
            unlabelled: Sequence[Any] | PackedGraphs | None = None, mode: str | None = None,
            checkpoint_dir: str | None = None, **context: Any) -> BaggedEstimator:
        """Fine-tune a fresh copy of every start member on all of ``(graphs, y)`` (``pretrained`` set), or pretrain
        every member on its subsample (``None``); returns self. The arguments are those of
        :meth:`GennapeEstimator.fit <nape_plugin.gennape.estimator.GennapeEstimator.fit>`."""
        packed = pack(graphs, context)
        labels = check_labels(y, len(packed))
        if self.pretrained is not None:
            reject_pretraining_arguments(self, groups=groups, unlabelled=unlabelled, checkpoint_dir=checkpoint_dir)
            start = self._start()
            self.estimators_ = [GennapeEstimator.from_pretrained(m).fit(packed, labels, mode=mode)
                                for m in start.estimators_]
            self.card_ = copy.deepcopy(getattr(start, "card_", {}))
            return self
        if mode is not None:
            raise DataError(f"mode={mode!r} chooses a fine-tuning path, but this ensemble has no start "
                            "(pretrained=None) and pretrains its members from scratch")
        base = self.estimator if self.estimator is not None else GennapeEstimator()
        extra = None if unlabelled is None or len(unlabelled) == 0 else pack(unlabelled, {})
        self.estimators_ = []
        for i in range(self.n_members):
            rows = self._rows(len(packed), i)
            member = clone(base).set_params(random_state=self.random_state + i)
            member.fit(packed.subset(rows), labels[rows],
                       groups=None if groups is None else [groups[j] for j in rows], unlabelled=extra,
                       checkpoint_dir=None if checkpoint_dir is None else os.path.join(checkpoint_dir, f"member{i}"))
            self.estimators_.append(member)
        return self

    def pretrain_on_statistics(self, graphs: Sequence[Any] | PackedGraphs, epochs: int = 10, mode: str = "full",
                               **context: Any) -> BaggedEstimator:
        """Every start member's :meth:`~.estimator.GennapeEstimator.pretrain_on_statistics`: the tuned members become
        a new start (``pretrained``) and this bag's members; returns self."""
        start = self._start()
        packed = pack(graphs, context)
        tuned = type(self)(**self.get_params(deep=False))
        tuned.estimators_ = [GennapeEstimator.from_pretrained(m).pretrain_on_statistics(packed, epochs, mode)
                             for m in start.estimators_]
        tuned.card_ = copy.deepcopy(getattr(start, "card_", {}))
        self.set_params(pretrained=tuned)
        self._take_start(tuned)
        return self

    def _rows(self, n: int, member: int) -> np.ndarray:
        if self.subsample is None:
            return np.arange(n)
        size = int(round(self.subsample * n)) if isinstance(self.subsample, float) else int(self.subsample)
        return np.sort(np.random.default_rng(self.random_state + member).choice(n, min(size, n), replace=False))

    # ----------------------------------------------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            raise NotFittedError("this ensemble has no members yet: call fit(graphs, y) or use nape.load_pretrained()")

    def _packed(self, graphs: Any, context: dict[str, Any]) -> PackedGraphs:
        self._check_fitted()
        return pack(graphs, context)

    def predict(self, graphs: Sequence[Any] | PackedGraphs, return_std: bool = False, batch_size: int = 256,
                progress: bool | None = None, **context: Any):
        """The members' mean prediction; ``return_std`` adds the spread (within and across members)."""
        packed = self._packed(graphs, context)
        outs = [m.predict(packed, return_std=True, batch_size=batch_size, progress=progress)
                for m in self.estimators_]
        means = np.stack([o[0] for o in outs])
        mean = means.mean(0)
        if not return_std:
            return mean
        within = np.mean([o[1] ** 2 for o in outs], axis=0)
        return mean, np.sqrt(within + means.var(0))

    def predict_heads(self, graphs: Sequence[Any], batch_size: int = 256, **context: Any) -> np.ndarray:
        """Every member's heads, ``(n_members * num_heads, n)`` in output units."""
        packed = self._packed(graphs, context)
        return np.concatenate([m.predict_heads(packed, batch_size) for m in self.estimators_])

    def embed(self, graphs: Sequence[Any], batch_size: int = 256, **context: Any) -> np.ndarray:
        """The members' embeddings side by side, ``(n, n_members * embed_dim)``."""
        packed = self._packed(graphs, context)
        return np.concatenate([m.embed(packed, batch_size) for m in self.estimators_], axis=1)

    @property
    def finetune_mode_(self) -> str:
        self._check_fitted()
        return self.estimators_[0].finetune_mode_

    @property
    def family_(self) -> str | None:
        self._check_fitted()
        return self.estimators_[0].family_

    # ------------------------------------------------------------------------------------------------ persist
    def save(self, path: str | os.PathLike, card: dict | None = None) -> None:
        """Write every member to one file (loadable with ``weights_only=True`` through ``nape.load``)."""
        self._check_fitted()
        io.write({**io.header(BAG_FORMAT), "params": io.saved_params(self, "estimator"),
                  "members": [m.to_blob() for m in self.estimators_],
                  "card": card or getattr(self, "card_", {})}, path)

    @classmethod
    def from_blob(cls, blob: dict[str, Any], path: Any = "<blob>") -> BaggedEstimator:
        """Inverse of :meth:`save`'s contents (``pretrained`` is left to the caller: :func:`nape.load` sets the
        file)."""
        members = [GennapeEstimator.from_blob(b, path) for b in blob["members"]]
        bag = cls(clone(members[0]), **io.params(blob))
        bag.estimators_ = members
        bag.card_ = blob["card"]
        return bag

    def __sklearn_clone__(self) -> BaggedEstimator:
        """The same parameters, unfitted: the member template cloned, the start kept as it is."""
        params = self.get_params(deep=False)
        return type(self)(**{**params, "estimator": None if self.estimator is None else clone(self.estimator)})
