"""Label transforms that let accuracy labels from different benchmark families train one model.

Each family (search space + dataset) is standardised on its own, so a model never learns that "NB101 networks are
better than NB201 networks". ``"rank"`` maps ranks to normal quantiles (robust to the failed-training outliers
benchmarks contain); ``"zscore"`` keeps the shape of the distribution. ``flops_aware`` applies AIO-P's FLOPs-aware
transform ``accuracy / (log10(MFLOPs + 1) + 1)`` before standardising, so the model learns accuracy per unit of
log-compute and FLOPs re-enter the prediction when it is inverted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..utils.validation import check_labels, normal_scores

STANDARDISE = ("rank", "zscore")


def flops_factor(mflops: np.ndarray) -> np.ndarray:
    """AIO-P's FLOPs factor ``log10(MFLOPs + 1) + 1``."""
    return np.log10(np.asarray(mflops, dtype=np.float64) + 1.0) + 1.0


def free_statistics(log_flops: np.ndarray, log_params: np.ndarray) -> np.ndarray:
    """FBNetV3's free pretraining target: standardised log FLOPs plus standardised log params (no training needed)."""
    out = np.zeros(len(log_flops))
    for v in (np.asarray(log_flops, dtype=np.float64), np.asarray(log_params, dtype=np.float64)):
        out += (v - v.mean()) / (v.std() or 1.0)
    return out


@dataclass
class FamilyScaler:
    """Per-family label standardisation, fitted on training labels and invertible for known families."""

    standardise: str = "rank"
    flops_aware: bool = False
    stats_: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.standardise not in STANDARDISE:
            raise ValueError(f"unknown standardisation {self.standardise!r}; choose one of {STANDARDISE}")

    def _pre(self, y: np.ndarray, mflops: np.ndarray | None) -> np.ndarray:
        if self.flops_aware:
            if mflops is None:
                raise ValueError("the FLOPs-aware label transform needs the graphs' FLOPs")
            return y / flops_factor(mflops)
        return y

    def fit_transform(self, y: Sequence[float], families: Sequence[str],
                      mflops: np.ndarray | None = None) -> np.ndarray:
        y = check_labels(y, len(families))
        fam = np.asarray(families)
        pre = self._pre(y, mflops)
        out = np.empty_like(pre)
        for f in np.unique(fam):
            idx = fam == f
            v = pre[idx]
            mu, sd = float(np.mean(v)), float(np.std(v) or 1.0)
            if self.standardise == "rank":
                out[idx] = normal_scores(v)
            else:
                out[idx] = (v - mu) / sd
            self.stats_[str(f)] = (mu, sd)
        return out

    def inverse(self, z: np.ndarray, family: str | None = None, mflops: np.ndarray | None = None) -> np.ndarray:
        """Back to label units for a known family; for unknown families, the averaged training statistics."""
        mu, sd = self.stats_.get(family, tuple(np.mean(list(self.stats_.values()), axis=0))) if self.stats_ else (0, 1)
        y = mu + sd * np.asarray(z)
        return y * flops_factor(mflops) if self.flops_aware and mflops is not None else y
