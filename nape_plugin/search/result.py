"""What a search returns: every queried architecture with its score and costs, the Pareto front, a plot."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import DataError
from .pareto import pareto_front


@dataclass
class SearchResult:
    """Every queried architecture in query order, with its score and costs, and the Pareto front over them."""

    space: str
    costs: tuple[str, ...]
    history: list[dict[str, Any]] = field(default_factory=list)
    start: dict[str, Any] | None = None
    plot: Path | None = None

    def _points(self, rows: Sequence[dict[str, Any]]) -> np.ndarray:
        return np.array([[r["score"], *(-r[c] for c in self.costs)] for r in rows], dtype=np.float64)

    @property
    def front(self) -> list[dict[str, Any]]:
        """The non-dominated queried architectures (score up, costs down), by increasing first cost (or score)."""
        if not self.history:
            return []
        rows = [self.history[i] for i in pareto_front(self._points(self.history))]
        key = (lambda r: r[self.costs[0]]) if self.costs else (lambda r: -r["score"])
        return sorted(rows, key=key)

    @property
    def best(self) -> dict[str, Any]:
        """The queried architecture with the highest score."""
        if not self.history:
            raise DataError("the search queried no architecture")
        return max(self.history, key=lambda r: r["score"])

    def best_after(self, queries: int) -> dict[str, Any]:
        """The highest-scoring architecture among the first ``queries`` queries."""
        if not self.history:
            raise DataError("the search queried no architecture")
        return max(self.history[:max(1, queries)], key=lambda r: r["score"])

    @property
    def improved(self) -> list[dict[str, Any]]:
        """GENNAPE mode: architectures with a higher score than ``start`` and lower FLOPs, best score first."""
        if self.start is None:
            return []
        s = self.start
        cost = "flops" if "flops" in self.costs else (self.costs[0] if self.costs else None)
        rows = [r for r in self.history if r["score"] > s["score"] and (cost is None or r[cost] < s[cost])]
        return sorted(rows, key=lambda r: -r["score"])

    def to_csv(self, path: str | os.PathLike, rows: Sequence[dict[str, Any]] | None = None) -> None:
        """Write ``rows`` (default: the history) as CSV."""
        rows = self.history if rows is None else rows
        fields = ["query", "arch", "score", *self.costs]
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)

    def plot_front(self, path: str | os.PathLike, title: str | None = None) -> Path:
        """Save a PNG: every query, the Pareto front and the start (score against the first cost, or against the
        query index when there is no cost)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
        score = np.array([r["score"] for r in self.history])
        if self.costs:
            c = self.costs[0]
            ax.scatter([r[c] for r in self.history], score, s=8, c="0.7", label=f"queried ({len(score)})")
            front = self.front
            ax.step([r[c] for r in front], [r["score"] for r in front], where="post", c="C3", lw=1.5)
            ax.scatter([r[c] for r in front], [r["score"] for r in front], s=18, c="C3",
                       label=f"Pareto front ({len(front)})")
            if self.start is not None:
                ax.scatter([self.start[c]], [self.start["score"]], marker="*", s=160, c="C0", label="start")
            ax.set_xlabel(c + (" (M)" if c in ("flops", "params") else ""))
        else:
            q = np.arange(1, len(score) + 1)
            ax.scatter(q, score, s=6, c="0.7", label="queried")
            ax.plot(q, np.maximum.accumulate(score), c="C3", label="best so far")
            ax.set_xlabel("query")
        ax.set_ylabel("predicted score")
        ax.set_title(title or f"search over {self.space}")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
        plt.close(fig)
        self.plot = path
        return path
