"""Checks and transforms of labels shared by every predictor."""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse, stats

from ..errors import ConversionError, LabelError, LengthMismatchError


def check_labels(y: Any, n: int, items: str = "graphs") -> np.ndarray:
    """``y`` as a float vector of ``n`` finite labels, one per item (``items`` names them in errors), or a clear
    error: a LabelError for a shape other than ``(n,)`` or NaN/inf values, a LengthMismatchError for a wrong length."""
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise LabelError(f"labels must be numbers, got {y!r:.80}; convert them (e.g. accuracies as floats)") from None
    if arr.ndim != 1:
        raise LabelError(f"labels must be one value per {items[:-1] if items.endswith('s') else items} (shape (n,)), "
                         f"got shape {arr.shape}")
    if arr.size != n:
        raise LengthMismatchError(f"got {n} {items} but {arr.size} labels; pass one label per "
                                  f"{items[:-1] if items.endswith('s') else items}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise LabelError(f"{int(bad.sum())} label(s) are NaN or infinite (first at position {int(np.argmax(bad))}); "
                         f"drop those {items} or fix their labels")
    return arr


def normal_scores(y: Any) -> np.ndarray:
    """Rank-based normal scores: the standard normal quantile of each value's rank, ``Phi^-1((r - 0.5) / n)`` (ties
    share their average rank). Robust to the few diverged training runs NAS benchmarks contain."""
    y = np.asarray(y, dtype=np.float64)
    return stats.norm.ppf((stats.rankdata(y) - 0.5) / len(y))


def check_not_sparse(items: Any, what: str = "architectures") -> None:
    """A ConversionError for a scipy sparse matrix passed where a list of ``what`` belongs (its rows are no
    architectures, and iterating one gives rows of the matrix)."""
    if sparse.issparse(items):
        raise ConversionError(f"got a sparse matrix of shape {items.shape}; sparse input is not supported: pass a list "
                              f"of {what} (computation graphs, or objects nape.to_graph converts)")
