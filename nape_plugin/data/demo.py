"""The demo sample shipped in the package: 500 NAS-Bench-201 cells with their true CIFAR-10 accuracy."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..graph.core import CompGraph

SAMPLE = Path(__file__).resolve().parent / "demo_nb201.csv"


@dataclass(frozen=True)
class DemoSample:
    """NAS-Bench-201 cells with their true CIFAR-10 accuracy (see ``nape_plugin/data/README.md``)."""

    name: str
    archs: tuple[str, ...]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.archs)

    @property
    def arch_ids(self) -> list[str]:
        return list(self.archs)

    def graphs(self) -> list[CompGraph]:
        from .. import spaces
        space = spaces.get("nb201")
        return [space.to_graph(a) for a in self.archs]


@lru_cache(maxsize=1)
def demo_sample() -> DemoSample:
    """The shipped sample: 500 random NAS-Bench-201 cells."""
    with SAMPLE.open() as f:
        rows = list(csv.DictReader(f))
    return DemoSample("nb201 demo sample (500 cells, CIFAR-10 test accuracy)", tuple(r["arch_str"] for r in rows),
                      np.array([float(r["c10_test_200ep"]) for r in rows]))
