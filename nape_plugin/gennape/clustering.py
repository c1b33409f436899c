"""Fuzzy c-means (Bezdek 1981): soft cluster memberships of embeddings.

With fuzzifier ``m > 1``, the membership of point ``i`` in cluster ``k`` is
``u_ik = 1 / sum_j (d_ik / d_ij) ** (2 / (m - 1))`` and centres are ``c_k = sum_i u_ik^m x_i / sum_i u_ik^m``.
"""
from __future__ import annotations

import numpy as np


def memberships(x, centers, m: float = 2.0, eps: float = 1e-9):
    """Membership matrix ``(n, k)`` of points ``x`` (n, d) in clusters with ``centers`` (k, d); rows sum to 1.

    Works on numpy arrays and torch tensors alike.
    """
    d2 = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(-1) + eps
    inv = d2 ** (-1.0 / (m - 1.0))
    return inv / inv.sum(1)[:, None]


def fuzzy_cmeans(x: np.ndarray, k: int, m: float = 2.0, max_iter: int = 300, tol: float = 1e-6,
                 seed: int = 0, init: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``k`` fuzzy clusters to ``x`` (n, d); returns ``(centers (k, d), memberships (n, k))``.

    Starts from ``init`` centres when given (keeps cluster identities when re-fitting), else from k-means++ seeding.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < k:
        raise ValueError(f"fuzzy c-means needs at least k={k} points of shape (n, d), got {x.shape}")
    if m <= 1:
        raise ValueError(f"the fuzzifier m must be > 1, got {m}")
    c = np.asarray(init, dtype=np.float64) if init is not None else _kmeans_pp(x, k, seed)
    u = memberships(x, c, m)
    for _ in range(max_iter):
        w = u ** m
        c = (w.T @ x) / w.sum(0)[:, None]
        u_new = memberships(x, c, m)
        if np.abs(u_new - u).max() < tol:
            u = u_new
            break
        u = u_new
    return c, u


def _kmeans_pp(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min([((x - c) ** 2).sum(1) for c in centers], axis=0)
        centers.append(x[rng.choice(len(x), p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(len(x))])
    return np.stack(centers)
