"""Ranking and regression metrics for performance predictors.

All functions take ``y_true`` and ``y_pred`` (higher = better) and return a float.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .errors import EmptyBatchError, LabelError, LengthMismatchError


def _check(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.size != p.size:
        raise LengthMismatchError(f"y_true has {t.size} values but y_pred has {p.size}; pass one prediction per label")
    if t.size < 2:
        raise EmptyBatchError(f"ranking metrics need at least 2 values, got {t.size}")
    for name, v in (("y_true", t), ("y_pred", p)):
        if not np.isfinite(v).all():
            raise LabelError(f"{name} has {int((~np.isfinite(v)).sum())} NaN/inf values; drop or impute them first")
    return t, p


def spearman(y_true, y_pred) -> float:
    """Spearman rank correlation (SRCC)."""
    t, p = _check(y_true, y_pred)
    return float(stats.spearmanr(t, p).statistic) if np.ptp(p) > 0 and np.ptp(t) > 0 else 0.0


def kendall_tau(y_true, y_pred) -> float:
    """Kendall's tau-b."""
    t, p = _check(y_true, y_pred)
    return float(stats.kendalltau(t, p).statistic) if np.ptp(p) > 0 and np.ptp(t) > 0 else 0.0


def mae(y_true, y_pred) -> float:
    """Mean absolute error."""
    t, p = _check(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def pearson(y_true, y_pred) -> float:
    """Pearson correlation."""
    t, p = _check(y_true, y_pred)
    return float(np.corrcoef(t, p)[0, 1]) if np.ptp(p) > 0 and np.ptp(t) > 0 else 0.0


def ndcg_at_k(y_true, y_pred, k: int = 10) -> float:
    """NDCG@k with gains = true values shifted to be non-negative, ranking by prediction."""
    t, p = _check(y_true, y_pred)
    k = min(k, t.size)
    gains = t - t.min()
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(np.sum(gains[np.argsort(-p, kind="stable")[:k]] * discounts))
    ideal = float(np.sum(np.sort(gains)[::-1][:k] * discounts))
    return dcg / ideal if ideal > 0 else 0.0


def precision_at_k(y_true, y_pred, k: int = 10) -> float:
    """Fraction of the true top-k found in the predicted top-k (top-k overlap)."""
    t, p = _check(y_true, y_pred)
    k = min(k, t.size)
    top_true = set(np.argsort(-t, kind="stable")[:k].tolist())
    top_pred = set(np.argsort(-p, kind="stable")[:k].tolist())
    return len(top_true & top_pred) / k


def report(y_true, y_pred) -> dict[str, float]:
    """Every metric at once: srcc, kendall_tau, pearson, mae, ndcg@10, ndcg@50, precision@10, precision@50."""
    return {"srcc": spearman(y_true, y_pred), "kendall_tau": kendall_tau(y_true, y_pred),
            "pearson": pearson(y_true, y_pred), "mae": mae(y_true, y_pred),
            "ndcg@10": ndcg_at_k(y_true, y_pred, 10), "ndcg@50": ndcg_at_k(y_true, y_pred, 50),
            "precision@10": precision_at_k(y_true, y_pred, 10), "precision@50": precision_at_k(y_true, y_pred, 50)}
