"""NASLib search spaces without networks: sampling, mutating and cloning architectures at the cost of their encodings.

NASLib's search-space objects build the network of every candidate op when they are created and deep-copy it in every
``clone()``: NASLib's optimizers and ``PredictorEvaluator`` clone the space for every architecture they sample or
mutate, so a search that never trains a network (one guided by nape's estimator, or by a benchmark's table) spends
most of its time and memory copying weights nobody uses. :func:`model_free` removes that cost::

    from nape_naslib import model_free
    search_space = model_free(NasBench201SearchSpace())      # same architectures for a seed, no networks built
"""
from __future__ import annotations

import copy
from typing import Any


def model_free(space: Any) -> Any:
    """``space`` switched to NASLib's architecture-only mode, with a cheap ``clone`` (returned for chaining).

    NASLib's ``instantiate_model = False`` keeps architectures as op indices (queries, encodings, mutations and
    ``nape.to_graph`` need nothing else), but ``clone()`` still deep-copies the network of every candidate op it built
    in ``__init__``. The returned object's ``clone()`` shares that unused network and copies only the architecture:
    drawing and keeping 200 NAS-Bench-201 architectures took 0.1 s instead of 68 s, and the process 469 MB instead of
    2.5 GB (docs/naslib.md). The architectures drawn for a seed are the same either way.
    """
    space.instantiate_model = False
    if not getattr(type(space), "_nape_model_free", False):
        space.__class__ = type(f"ModelFree{type(space).__name__}", (type(space),),
                               {"clone": _shallow_clone, "_nape_model_free": True, "__module__": __name__})
    return space


def _shallow_clone(self: Any) -> Any:
    new = copy.copy(self)
    for attr in ("op_indices", "compact", "spec"):
        if isinstance(getattr(self, attr, None), list):
            setattr(new, attr, list(getattr(self, attr)))
    return new
