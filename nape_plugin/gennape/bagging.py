"""An equal-weight ensemble of estimators trained on random subsets of the labels (bagging).

GENNAPE's zero-shot model is an equal-weight ensemble of several variants; a single GNN's zero-shot ranking of an
unseen family varies a lot with its seed and training subset (docs/results.md), and averaging members trained on
different subsets with different seeds removes much of that variance.

>>> bag = BaggedEstimator(GennapeEstimator(epochs=12), n_members=3, subsample=5000).fit(graphs, y)
>>> bag.predict(new_graphs)            # the mean of the members' scores
>>> bag.fit(fifty_graphs, fifty_y)     # fine-tunes every member; predictions are then in the units of y
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone

from ..errors import NotFittedError
from ..graph.packed import PackedGraphs
from ..utils.validation import check_labels
from . import io
from .estimator import GennapeEstimator
from .io import BAG_FORMAT


class BaggedEstimator(BaseEstimator, RegressorMixin):
    """``n_members`` clones of ``estimator`` with seeds ``seed + i``, each pretrained on its own random
    ``subsample`` of the labelled graphs (a count or a fraction; ``None``: all of them).

    The same methods as :class:`~nape_plugin.gennape.estimator.GennapeEstimator`: ``fit`` pretrains the members (no
    weights yet) or fine-tunes each of them (weights present), ``predict`` averages them, ``predict_heads`` stacks every
    member's heads, ``save`` writes one file that ``nape.load`` reads back.
    """

    def __init__(self, estimator: GennapeEstimator | None = None, n_members: int = 3,
                 subsample: float | int | None = None, seed: int = 0):
        self.estimator = estimator
        self.n_members = n_members
        self.subsample = subsample
        self.seed = seed

    # ------------------------------------------------------------------------------------------------- training
    def fit(self, graphs: Sequence[Any] | PackedGraphs, y: Sequence[float], groups: Sequence[str] | None = None,
            unlabelled: Sequence[Any] | PackedGraphs | None = None, mode: str | None = None,
            checkpoint_dir: str | None = None, **context: Any) -> BaggedEstimator:
        """Pretrain every member on its subsample, or fine-tune every member on all of ``(graphs, y)``."""
        base = self.estimator if self.estimator is not None else GennapeEstimator()
        packed = base._pack(graphs, context)
        y = check_labels(y, len(packed))
        if hasattr(self, "estimators_"):
            for member in self.estimators_:
                member.fit(packed, y, mode=mode)
            return self
        extra = None if unlabelled is None or len(unlabelled) == 0 else base._pack(unlabelled, {})
        self.estimators_ = []
        for i in range(self.n_members):
            rows = self._rows(len(packed), i)
            member = clone(base).set_params(seed=self.seed + i)
            member.fit(packed.subset(rows), y[rows], groups=None if groups is None else [groups[j] for j in rows],
                       unlabelled=extra,
                       checkpoint_dir=None if checkpoint_dir is None else os.path.join(checkpoint_dir, f"member{i}"))
            self.estimators_.append(member)
        return self

    def pretrain_on_statistics(self, graphs: Sequence[Any] | PackedGraphs, epochs: int = 10, mode: str = "full",
                               **context: Any) -> BaggedEstimator:
        """Every member's :meth:`~.estimator.GennapeEstimator.pretrain_on_statistics`; returns self."""
        packed = self._packed(graphs, context)
        for member in self.estimators_:
            member.pretrain_on_statistics(packed, epochs=epochs, mode=mode)
        return self

    def _rows(self, n: int, member: int) -> np.ndarray:
        if self.subsample is None:
            return np.arange(n)
        size = int(round(self.subsample * n)) if isinstance(self.subsample, float) else int(self.subsample)
        return np.sort(np.random.default_rng(self.seed + member).choice(n, min(size, n), replace=False))

    # ----------------------------------------------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            raise NotFittedError("this ensemble has no members yet: call fit(graphs, y) or use nape.load_pretrained()")

    def _packed(self, graphs: Any, context: dict[str, Any]) -> PackedGraphs:
        self._check_fitted()
        return self.estimators_[0]._pack(graphs, context)

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
        io.write({**io.header(BAG_FORMAT),
                  "params": {k: v for k, v in self.get_params(deep=False).items() if k != "estimator"},
                  "members": [m.to_blob() for m in self.estimators_],
                  "card": card or getattr(self, "card_", {})}, path)

    @classmethod
    def from_blob(cls, blob: dict[str, Any], path: Any = "<blob>") -> BaggedEstimator:
        """Inverse of :meth:`save`'s contents."""
        members = [GennapeEstimator.from_blob(b, path) for b in blob["members"]]
        bag = cls(clone(members[0]), **blob["params"])
        bag.estimators_ = members
        bag.card_ = blob["card"]
        return bag
