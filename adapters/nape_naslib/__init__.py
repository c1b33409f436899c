"""NASLib adapter for nape-plugin: the estimator as a NASLib predictor (see docs/naslib.md).

* ``nape.to_graph(naslib_graph)`` converts NASLib search-space objects (registered through the ``nape_plugin`` entry
  point, :mod:`nape_naslib.plugin`);
* :class:`NapePredictor`: a ``naslib.predictors.Predictor`` when NASLib is importable, a plain class otherwise;
* :class:`NapeBananas`, :class:`NapeNpenas`: NASLib's BANANAS and NPENAS searching with the estimator (need NASLib);
* :mod:`nape_naslib.data`: NASLib ``dataset_api`` objects built from benchmark tables;
* ``nape naslib-eval``: NASLib's predictor evaluation with the estimator (:mod:`nape_naslib.evaluate`);
* :func:`model_free`: a NASLib search space that samples, mutates and clones architectures without building networks
  (what nape's estimator and NASLib's queries need; several times faster and far smaller);
* :func:`load_naslib`: NASLib importable on a current Python beside a CPU-only torch (:mod:`nape_naslib.compat`).

Importing this package never imports NASLib; the names above are resolved on first access.
"""
from __future__ import annotations

from typing import Any

__all__ = ["NapePredictor", "NapeBananas", "NapeNpenas", "model_free", "load_naslib"]

_LAZY = {"NapePredictor": "nape_naslib.predictor", "NapeBananas": "nape_naslib.optimizers",
         "NapeNpenas": "nape_naslib.optimizers", "model_free": "nape_naslib.spaces",
         "load_naslib": "nape_naslib.compat"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nape_naslib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
