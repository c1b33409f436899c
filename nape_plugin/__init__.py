"""nape-plugin: a generalized neural architecture performance estimator for NAS frameworks.

>>> import nape_plugin as nape
>>> g = nape.spaces.get("nb201").to_graph("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
>>> est = nape.load_pretrained()
>>> est.predict([g])
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import _moved, errors, spaces
from ._version import __version__
from .convert import to_graph
from .graph import CompGraph, GraphBuilder, Node
from .search import search

_moved.install()

if TYPE_CHECKING:
    from .gennape.pretrained import Estimator

__all__ = ["to_graph", "spaces", "load_pretrained", "load", "search", "errors", "metrics", "CompGraph", "Node",
           "GraphBuilder", "__version__"]


def load_pretrained(name: str = "default") -> Estimator:
    """A shipped (or plugin-registered) pretrained estimator by name; unknown names list the valid ones."""
    from .gennape.pretrained import load_pretrained as _load
    return _load(name)


def load(path: str | os.PathLike) -> Estimator:
    """An estimator saved with ``est.save(path)``."""
    from .gennape.pretrained import load as _load
    return _load(path)


def __getattr__(name: str) -> object:
    if name == "metrics":                      # on first use: it imports scipy
        import importlib
        return importlib.import_module(f"{__name__}.metrics")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
