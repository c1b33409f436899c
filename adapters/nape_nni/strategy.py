"""``surrogate_filter``: pre-screen candidates with the estimator before they are trained for real.

Chain it after any NNI strategy; only candidates the estimator ranks high reach the engine::

    from nni.nas.strategy import RegularizedEvolution
    from nni.nas.strategy.middleware import Chain
    strategy = Chain(RegularizedEvolution(), surrogate_filter(top=0.25))

``top=q`` lets through candidates predicted in the best ``q`` of the space (the cut is the ``1 - q`` quantile of the
scores of ``reference_size`` random samples of the space, drawn when the strategy starts); ``threshold=t`` lets through
candidates predicted at ``t`` or above. Rejected candidates are marked invalid without training (give them a metric
with ``metric_for_invalid`` to penalise the strategy, as NNI's ``Filter`` does).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from nni.mutable import SampleValidationError
from nni.nas.strategy.middleware import Filter

from .evaluator import NapeEvaluator

__all__ = ["SurrogateFilter", "surrogate_filter"]

_logger = logging.getLogger(__name__)


class SurrogateFilter(Filter):
    """NNI ``Filter`` middleware admitting only candidates whose predicted score clears a cut (see module docs).

    Attributes after the strategy starts: ``cut_`` (the score a candidate needs) and ``scores_`` (every screened
    candidate's sample and score, in order).
    """

    def __init__(self, evaluator: NapeEvaluator, *, top: float | None = None, threshold: float | None = None,
                 reference_size: int = 256, seed: int | None = 0, metric_for_invalid: float | None = None,
                 patience: int = 1000, retain_history: bool = True):
        if (top is None) == (threshold is None):
            raise ValueError("pass exactly one of top (a fraction of the space, e.g. 0.25) and threshold (a score)")
        if top is not None and not 0 < top <= 1:
            raise ValueError(f"top is the fraction of the space to let through, in (0, 1]; got {top}")
        super().__init__(self._admit, metric_for_invalid=metric_for_invalid, patience=patience,
                         retain_history=retain_history)
        self.evaluator = evaluator
        self.top = top
        self.threshold = threshold
        self.reference_size = reference_size
        self.seed = seed
        self.cut_: float | None = threshold
        self.scores_: list[tuple[dict, float]] = []

    def extra_repr(self) -> str:
        return f"top={self.top}, threshold={self.threshold}, evaluator={self.evaluator!r}"

    def _reference_cut(self) -> float:
        rs = np.random.RandomState(self.seed)
        models, tries = [], 0
        while len(models) < self.reference_size and tries < 20 * self.reference_size:
            tries += 1
            try:
                models.append(self.model_space.random(random_state=rs))
            except SampleValidationError:
                continue
        if not models:
            raise RuntimeError("surrogate_filter could not draw a single valid sample of the model space")
        scores = self.evaluator.score(models)
        cut = float(np.quantile(scores, 1 - self.top))
        _logger.info("surrogate_filter: %d reference samples, admitting scores >= %.4f (top %.0f%%)",
                     len(models), cut, 100 * self.top)
        return cut

    def _admit(self, model: Any) -> bool:
        if self.cut_ is None:
            self.cut_ = self._reference_cut()
        score = float(self.evaluator.score([model])[0])
        self.scores_.append((dict(model.sample or {}), score))
        return score >= self.cut_


def surrogate_filter(estimator: Any = "default", *, top: float | None = None, threshold: float | None = None,
                     objective: Any = None, reference_size: int = 256, seed: int | None = 0,
                     metric_for_invalid: float | None = None, patience: int = 1000,
                     evaluator: NapeEvaluator | None = None) -> SurrogateFilter:
    """A :class:`SurrogateFilter` scoring with ``estimator`` (name, path or object) or a ready ``evaluator``.

    Exactly one of ``top`` (fraction of the space to admit) and ``threshold`` (minimum score, in the estimator's
    units, or the objective's with ``objective=...``).
    """
    evaluator = evaluator or NapeEvaluator(estimator, objective=objective)
    return SurrogateFilter(evaluator, top=top, threshold=threshold, reference_size=reference_size, seed=seed,
                           metric_for_invalid=metric_for_invalid, patience=patience)
