"""Pareto fronts and the 2-D hypervolume (every column maximised)."""
from __future__ import annotations

from typing import Any

import numpy as np


def pareto_front(points: Any) -> np.ndarray:
    """Indices of the non-dominated rows of ``points`` (every column maximised), in row order."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    keep = np.ones(len(p), bool)
    for i in range(len(p)):
        if not keep[i]:
            continue
        dominated = np.all(p <= p[i], axis=1) & np.any(p < p[i], axis=1)
        keep &= ~dominated
    # rows equal to a kept row stay; rows dominated by a later row were removed when that row was visited
    return np.flatnonzero(keep)


def hypervolume_2d(score: Any, cost: Any, ref_score: float, ref_cost: float) -> float:
    """Area dominated by the points (score maximised, cost minimised) and bounded by the reference point."""
    s, c = np.asarray(score, float), np.asarray(cost, float)
    ok = (s > ref_score) & (c < ref_cost)
    s, c = s[ok], c[ok]
    if not len(s):
        return 0.0
    order = np.argsort(c, kind="stable")
    area, best = 0.0, ref_score
    edges = np.append(c[order], ref_cost)
    for j, i in enumerate(order):
        best = max(best, s[i])
        area += (best - ref_score) * (edges[j + 1] - edges[j])
    return float(area)
