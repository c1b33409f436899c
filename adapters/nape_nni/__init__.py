"""NNI adapter for nape-plugin: score NNI 3 architectures with the estimator (see docs/nni.md).

>>> from nape_nni import NapeEvaluator, surrogate_filter, search
>>> from nape_nni import sample_graph          # an NNI sample's computation graph

Importing this package does not import NNI; its names load NNI on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["NapeEvaluator", "surrogate_filter", "SurrogateFilter", "search", "SearchResult", "BatchedEngine",
           "sample_graph", "trace_model"]

_WHERE = {"NapeEvaluator": "evaluator", "surrogate_filter": "strategy", "SurrogateFilter": "strategy",
          "search": "runner", "SearchResult": "runner", "BatchedEngine": "engine", "sample_graph": "convert",
          "trace_model": "trace"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
