"""Scorers of a search: a registered predictor or a pretrained estimator by name (or a saved file), a predictor object,
or a function of the architectures.

Predictors that score architectures rather than graphs declare a ``space`` parameter (the zero-cost proxies build and
run each network of that space): :func:`bind_space` gives them the search space and :func:`inputs` the architectures.
Every caller (the search, ``nape search``, ``nape surrogate``) goes through these, so no predictor is special-cased.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from .. import plugins
from ..errors import DataError, ParameterError, UnknownNameError
from ..graph import CompGraph
from ..spaces import SearchSpace

Scorer = Callable[[list[Hashable], list[CompGraph]], np.ndarray]


def make_predictor(name: str, **kwargs: Any) -> Any:
    """A new registered predictor made with ``kwargs``; keywords its factory does not take are a ParameterError
    listing those it does."""
    factory = plugins.predictors().get(name)
    if factory is not None:
        try:
            inspect.signature(factory).bind(**kwargs)
        except TypeError:
            taken = ", ".join(p for p in inspect.signature(factory).parameters if p not in ("self", "args", "kwargs"))
            raise ParameterError(f"predictor {name!r} takes no keyword(s) {', '.join(sorted(kwargs))} as given; its "
                                 f"keywords: {taken or 'none'}") from None
        except ValueError:                # a factory without a signature (a builtin): let the call decide
            pass
    return plugins.get_predictor(name, **kwargs)


def resolve_scorer(name: str, **kwargs: Any) -> Any:
    """A registered predictor (made with ``kwargs``), else a pretrained estimator by name or saved file."""
    from ..gennape.pretrained import names as pretrained_names
    from ..gennape.pretrained import resolve
    if name in plugins.predictors():
        return make_predictor(name, **kwargs)
    try:
        return resolve(name)
    except UnknownNameError:
        raise UnknownNameError(
            f"no pretrained estimator or predictor named {name!r}, and no such file; predictors: "
            f"{', '.join(sorted(plugins.predictors()))}; pretrained: {', '.join(pretrained_names()) or 'none'}") \
            from None


def takes_architectures(model: Any) -> bool:
    """Whether ``model`` scores architectures of a space (it has a ``space`` parameter) rather than graphs."""
    return hasattr(model, "get_params") and "space" in model.get_params(deep=False)


def bind_space(model: Any, space: SearchSpace) -> Any:
    """Give ``space`` to a predictor that scores architectures and has no space yet; returns ``model``."""
    if takes_architectures(model) and model.get_params(deep=False)["space"] is None:
        model.set_params(space=space)
    return model


def inputs(model: Any, archs: Sequence[Hashable], space: SearchSpace) -> list[Any]:
    """What ``model.fit``/``predict`` take for ``archs``: the architectures or their computation graphs."""
    return list(archs) if takes_architectures(model) else [space.to_graph(a) for a in archs]


def needs_fit(model: Any) -> bool:
    """Whether ``model`` must be fitted before it predicts (scikit-learn's ``requires_fit`` tag; True without tags)."""
    tags = getattr(model, "__sklearn_tags__", None)
    return bool(tags().requires_fit) if tags is not None else True


def make_scorer(scorer: Any, space: SearchSpace) -> Scorer:
    """A function ``(archs, graphs) -> scores`` from a registered predictor or pretrained-estimator name (or a saved
    estimator file), a predictor object (``predict``), or ``callable(archs)``."""
    if isinstance(scorer, str):
        scorer = resolve_scorer(scorer)
    if hasattr(scorer, "predict"):
        model = bind_space(scorer, space)
        if takes_architectures(model):
            return lambda archs, graphs: np.asarray(model.predict(archs), dtype=np.float64)
        return lambda archs, graphs: np.asarray(model.predict(graphs), dtype=np.float64)
    if callable(scorer):
        fn = scorer
        return lambda archs, graphs: np.asarray(fn(archs), dtype=np.float64).ravel()
    raise DataError(f"cannot score with a {type(scorer).__name__}: pass a pretrained or predictor name, an object "
                    "with predict(graphs), or a function of a list of architectures")
