"""nape-plugin: a generalized neural architecture performance estimator for NAS frameworks.

>>> import nape_plugin as nape
>>> g = nape.spaces.get("nb201").to_graph("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
>>> est = nape.load_pretrained()
>>> est.predict([g])
"""
from __future__ import annotations

from . import _moved, errors, spaces
from .convert import to_graph
from .graph import CompGraph, GraphBuilder, Node
from .search import search

_moved.install()

__version__ = "0.1.0"
__all__ = ["to_graph", "spaces", "load_pretrained", "load", "search", "errors", "CompGraph", "Node", "GraphBuilder",
           "__version__"]


def load_pretrained(name: str = "default"):
    """A shipped (or plugin-registered) pretrained estimator by name; unknown names list the valid ones."""
    from .gennape.pretrained import load_pretrained as _load
    return _load(name)


def load(path):
    """An estimator saved with ``est.save(path)``."""
    from .gennape.estimator import load as _load
    return _load(path)
