"""Conformance checks for what a plugin contributes: :func:`check_space` and :func:`check_predictor`.

Call them from a plugin's own tests (any test runner): each raises ``AssertionError`` naming the broken promise and
returns nothing when the space or predictor keeps the contract nape-plugin relies on. The built-in spaces and
predictors are held to the same checks in nape-plugin's own suite.

>>> from nape_plugin.testing import check_predictor, check_space
>>> check_space(MySpace(), n=5)                       # doctest: +SKIP
>>> check_predictor(MyPredictor(), graphs, accuracies)  # doctest: +SKIP
"""
from __future__ import annotations

import copy
import inspect
import itertools
import pickle
import random
from typing import Any, Hashable, Sequence

import numpy as np
import torch

from .convert import to_graph
from .errors import EncodingError, SpaceTooLargeError
from .graph import CompGraph
from .spaces import SearchSpace

__all__ = ["check_space", "check_predictor", "MALFORMED"]

#: Inputs no search space accepts as an architecture; ``parse`` must refuse each with an ``EncodingError``.
MALFORMED: tuple[Any, ...] = (None, 3.5, object(), "not an architecture", b"\x00", (), [], {}, {"no such key": 1})


def _fail(space: SearchSpace, what: str) -> AssertionError:
    return AssertionError(f"space {space.name!r}: {what}")


def check_space(space: SearchSpace, n: int = 5, seed: int = 0, archs: Sequence[Any] = (),
                malformed: Sequence[Any] = ()) -> None:
    """Check that ``space`` keeps the :class:`~nape_plugin.spaces.SearchSpace` contract on ``n`` sampled architectures
    and on ``archs`` (edge cases of the space, in any encoding it reads).

    * it is named, has an input shape and at least one encoding format;
    * ``sample`` is deterministic under a seed (an int and ``random.Random`` of it agree) and gives canonical,
      hashable encodings (``parse(a) == a``);
    * every format round-trips (``parse(encode(a, fmt)) == a``) and ``to_graph`` accepts it, except one-way formats
      (``space.one_way_formats``, e.g. a hash), which only encode; an unknown format, the
      values of :data:`MALFORMED` and those of ``malformed`` (malformed encodings of this space) raise
      ``EncodingError``;
    * ``to_graph(a)`` is a valid graph equal to (and hashing as) the trace of ``build(a)`` at the graph's input shape
      (``space.input_shape``, or ``space.input_shape_for(a)`` where the resolution is part of the architecture),
      built on the meta device;
    * ``neighbours(a)`` are distinct canonical architectures other than ``a``; ``mutate(a, seed)`` is another
      canonical architecture (a neighbour, or a space's own move), deterministic under a seed; ``arch_id(a)`` is a
      string;
    * ``enumerate()`` either refuses with ``SpaceTooLargeError`` or yields canonical architectures.
    """
    if not isinstance(space, SearchSpace):
        raise AssertionError(f"{space!r} is not a nape_plugin.spaces.SearchSpace")
    if not (isinstance(space.name, str) and space.name):
        raise _fail(space, "has no name")
    shape = tuple(space.input_shape)
    if not shape or not all(isinstance(s, int) and s > 0 for s in shape):
        raise _fail(space, f"input_shape {space.input_shape!r} is not a tuple of positive ints")
    if not space.formats:
        raise _fail(space, "lists no encoding formats")
    for arch in [*_check_sampling(space, n, seed), *(space.parse(a) for a in archs)]:
        _check_encodings(space, arch)
        _check_graph(space, arch)
        _check_moves(space, arch, seed)
    for bad in (*MALFORMED, *malformed):
        try:
            space.parse(bad)
        except EncodingError:
            continue
        except Exception as e:
            raise _fail(space, f"parse({bad!r}) raised {type(e).__name__}, not EncodingError: {e}") from e
        raise _fail(space, f"parse({bad!r}) accepted a malformed architecture")
    try:
        first = list(itertools.islice(space.enumerate(), 3))
    except SpaceTooLargeError:
        return
    if not first or any(space.parse(a) != a for a in first):
        raise _fail(space, f"enumerate() yields non-canonical architectures: {first!r}")


def _check_sampling(space: SearchSpace, n: int, seed: int) -> list[Hashable]:
    if space.sample(seed) != space.sample(random.Random(seed)) or space.sample(seed) != space.sample(seed):
        raise _fail(space, f"sample({seed}) is not deterministic (or differs from sample(random.Random({seed})))")
    rng = random.Random(seed)
    archs = [space.sample(rng) for _ in range(n)]
    for arch in archs:
        hash(arch)
        if space.parse(arch) != arch:
            raise _fail(space, f"sample() gave {arch!r}, which is not canonical: parse() makes it "
                               f"{space.parse(arch)!r}")
    return archs


def _check_encodings(space: SearchSpace, arch: Hashable) -> None:
    graph = space.to_graph(arch)
    for fmt in space.formats:
        encoded = space.encode(arch, fmt)
        if fmt in space.one_way_formats:
            continue
        if space.parse(encoded) != arch:
            raise _fail(space, f"format {fmt!r} does not round-trip: {arch!r} -> {encoded!r} -> "
                               f"{space.parse(encoded)!r}")
        if space.to_graph(encoded) != graph:
            raise _fail(space, f"to_graph of {arch!r} in format {fmt!r} differs from to_graph of the architecture")
    try:
        space.encode(arch, "no such format")
    except EncodingError:
        return
    except Exception as e:
        raise _fail(space, f"encode(arch, 'no such format') raised {type(e).__name__}, not EncodingError") from e
    raise _fail(space, "encode(arch, 'no such format') did not raise EncodingError")


def _check_graph(space: SearchSpace, arch: Hashable) -> None:
    graph = space.to_graph(arch)
    if not isinstance(graph, CompGraph):
        raise _fail(space, f"to_graph({arch!r}) returned a {type(graph).__name__}, not a CompGraph")
    graph.validate()
    shape_for = getattr(space, "input_shape_for", None)
    expected = tuple(shape_for(arch)) if callable(shape_for) else tuple(space.input_shape)
    if tuple(graph.nodes[0].out_shape) != expected:
        raise _fail(space, f"the graph of {arch!r} starts at shape {graph.nodes[0].out_shape}, not {expected}")
    with torch.device("meta"):
        module = space.build(arch)
    traced = to_graph(module, input_shape=expected)
    if graph != traced or hash(graph) != hash(traced):
        raise _fail(space, f"to_graph({arch!r}) differs from tracing build({arch!r}):\n{graph.summary()}\n"
                           f"traced:\n{traced.summary()}")


def _check_moves(space: SearchSpace, arch: Hashable, seed: int) -> None:
    neighbours = space.neighbours(arch)
    if len(set(neighbours)) != len(neighbours) or arch in neighbours:
        raise _fail(space, f"neighbours({arch!r}) repeat an architecture or contain it")
    if any(space.parse(b) != b for b in neighbours):
        raise _fail(space, f"neighbours({arch!r}) are not all canonical")
    if neighbours:
        moved = space.mutate(arch, seed)
        if moved == arch or space.parse(moved) != moved or moved != space.mutate(arch, random.Random(seed)):
            raise _fail(space, f"mutate({arch!r}, {seed}) gave {moved!r}: not another canonical architecture, or not "
                               "deterministic under a seed")
    if not isinstance(space.arch_id(arch), str):
        raise _fail(space, f"arch_id({arch!r}) is not a string")


def check_predictor(predictor: Any, items: Sequence[Any], y: Sequence[float]) -> None:
    """Check the fit/predict contract of ``predictor`` on labelled ``items`` (graphs, or whatever it takes).

    * before ``fit``, ``predict`` raises scikit-learn's ``NotFittedError`` (``nape_plugin.errors.NotFittedError`` is
      one), unless the predictor's scikit-learn tags say it needs no fit;
    * ``fit(items, y)`` returns the predictor and changes neither ``items`` nor ``y``; a scikit-learn estimator keeps
      its parameters;
    * ``predict(items)`` gives a finite float array of shape ``(n,)``, the same on every call; with ``return_std=True``
      (where ``predict`` takes it) ``(mean, std)`` of that shape, ``mean`` equal to the plain prediction and
      ``std >= 0``;
    * fitting a clone (a scikit-learn estimator) or a deep copy again on the same data predicts the same;
    * empty input, labels of the wrong length and NaN labels raise ``ValueError`` (nape-plugin's ``DataError``s are).
    """
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    items, y = list(items), np.asarray(y, dtype=np.float64)
    name = type(predictor).__name__
    if len(items) != len(y) or len(items) < 3:
        raise ValueError(f"check_predictor needs at least 3 items with one label each, got {len(items)} and {len(y)}")
    is_sklearn = hasattr(predictor, "get_params")
    fresh = clone(predictor) if is_sklearn else copy.deepcopy(predictor)
    tags = getattr(fresh, "__sklearn_tags__", None)
    if tags is None or tags().requires_fit:
        try:
            fresh.predict(items)
        except NotFittedError:
            pass
        except Exception as e:
            raise AssertionError(f"{name}.predict before fit raised {type(e).__name__}, not scikit-learn's "
                                 f"NotFittedError (raise nape_plugin.errors.NotFittedError): {e}") from e
        else:
            raise AssertionError(f"{name}.predict before fit did not raise NotFittedError")
    params = predictor.get_params(deep=False) if is_sklearn else None
    before = _snapshot(items), y.copy()
    if predictor.fit(items, y) is not predictor:
        raise AssertionError(f"{name}.fit does not return the predictor itself")
    if _snapshot(items) != before[0] or not np.array_equal(y, before[1]):
        raise AssertionError(f"{name}.fit changed its inputs")
    if is_sklearn and predictor.get_params(deep=False) != params:
        raise AssertionError(f"{name}.fit changed its parameters")
    pred = _prediction(predictor, items, name)
    if not np.array_equal(pred, _prediction(predictor, items, name)):
        raise AssertionError(f"{name}.predict gives different results on the same items")
    if "return_std" in inspect.signature(predictor.predict).parameters:
        mean, std = predictor.predict(items, return_std=True)
        if np.shape(mean) != (len(items),) or np.shape(std) != (len(items),):
            raise AssertionError(f"{name}.predict(return_std=True) shapes {np.shape(mean)}, {np.shape(std)}")
        if not np.allclose(mean, pred) or not (np.asarray(std) >= 0).all():
            raise AssertionError(f"{name}.predict(return_std=True) gives another mean, or a negative std")
    again = (clone(predictor) if is_sklearn else copy.deepcopy(predictor)).fit(items, y)
    if not np.allclose(_prediction(again, items, name), pred, rtol=1e-5, atol=1e-8):
        raise AssertionError(f"{name} fitted again on the same data predicts differently (is its seed fixed?)")
    bad_inputs = {"no items": ([], y[:0]), "labels of the wrong length": (items, y[:-1]),
                  "NaN labels": (items, np.where(np.arange(len(y)) == 0, np.nan, y))}
    for what, (xs, ys) in bad_inputs.items():
        try:
            (clone(predictor) if is_sklearn else copy.deepcopy(predictor)).fit(xs, ys)
        except ValueError:
            continue
        except Exception as e:
            raise AssertionError(f"{name}.fit with {what} raised {type(e).__name__}, not a ValueError: {e}") from e
        raise AssertionError(f"{name}.fit accepted {what}")


def _snapshot(items: list[Any]) -> bytes | None:
    """The items' pickled bytes (what they hold, whatever their type), or None where they cannot be pickled."""
    try:
        return pickle.dumps(items)
    except Exception:
        return None


def _prediction(predictor: Any, items: list[Any], name: str) -> np.ndarray:
    pred = predictor.predict(items)
    if not isinstance(pred, np.ndarray) or pred.shape != (len(items),) or not np.issubdtype(pred.dtype, np.floating):
        raise AssertionError(f"{name}.predict returned {type(pred).__name__} {getattr(pred, 'shape', '')}, not a "
                             f"float array of shape ({len(items)},)")
    if not np.isfinite(pred).all():
        raise AssertionError(f"{name}.predict returned non-finite values")
    return pred
