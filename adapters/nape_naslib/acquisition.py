"""BANANAS' acquisition functions, vectorised over candidates (NASLib scores one candidate per predictor call)."""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

#: NASLib's constants: UCB's exploration factor and EI's calibration of the ensemble spread.
EXPLORE_FACTOR = 0.5
EI_CALIBRATION = 5.0


def acquisition_values(predictions: np.ndarray, kind: str, best_y: float | None = None,
                       rng: np.random.RandomState | None = None) -> np.ndarray:
    """Acquisition value per candidate from per-member predictions ``(n_members, n)``.

    ``kind``: ``"its"`` (independent Thompson sampling from N(mean, std)), ``"ucb"`` (mean + 0.5 std), ``"ei"``
    (expected improvement over ``best_y`` with the std divided by 5), or ``"exploit_only"`` (the mean).
    """
    preds = np.asarray(predictions, dtype=float)
    if preds.ndim == 1:
        preds = preds[None, :]
    mean, std = preds.mean(axis=0), preds.std(axis=0)
    if kind == "its":
        return (rng or np.random).normal(mean, std)
    if kind == "ucb":
        return mean + EXPLORE_FACTOR * std
    if kind == "ei":
        if best_y is None:
            raise ValueError("expected improvement needs the best accuracy found so far (best_y)")
        s = np.maximum(std / EI_CALIBRATION, 1e-12)
        gam = (mean - best_y) / s
        return s * (gam * norm.cdf(gam) + norm.pdf(gam))
    if kind == "exploit_only":
        return mean
    raise ValueError(f"unknown acquisition function {kind!r}; NASLib's are its, ucb, ei, exploit_only")
