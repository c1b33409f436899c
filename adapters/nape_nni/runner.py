"""``search``: run an NNI strategy in-process with the estimator as evaluator, in one call.

    from nni.nas.hub.pytorch import NasBench201
    from nape_nni import search
    result = search(NasBench201(), max_models=1000)
    result.top[0]                   # {"sample": {...}, "accuracy": ..., "flops": ..., "params": ...}

No model is trained; for hub spaces with a fast path, none is even built.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from nni.nas.execution import SequentialExecutionEngine
from nni.nas.space import ExecutableModelSpace, ModelStatus, SimplifiedModelSpace

from .engine import BatchedEngine
from .evaluator import NapeEvaluator, Objective

__all__ = ["SearchResult", "search"]


@dataclass
class SearchResult:
    """What :func:`search` found.

    ``top``: the best ``top_k`` distinct models by reported metric, best first, each ``{"sample", "score",
    "accuracy", "flops", "params"}`` (FLOPs and parameters in millions; ``score`` is what the strategy maximised;
    ``sample`` and ``score`` only, with an evaluator other than :class:`NapeEvaluator`).
    ``history``: every model the strategy evaluated, in order, as ``(sample, score)``. ``seconds``: wall time.
    """

    top: list[dict[str, Any]]
    history: list[tuple[dict[str, Any], float]] = field(repr=False)
    seconds: float
    strategy: Any = field(repr=False)

    @property
    def best(self) -> dict[str, Any]:
        """The best model found."""
        return self.top[0]


@contextlib.contextmanager
def _in_process(quiet: bool) -> Iterator[None]:
    """Run an in-process NNI search: optionally silence NNI's per-model INFO logging (thousands of lines for a
    surrogate search), and afterwards restore the trial state the sequential engine leaves set to its last model (as
    NNI's own ``Evaluator.mock_runtime`` does), so trial APIs outside the search behave as before it."""
    import nni.trial
    log = logging.getLogger("nni")
    level = log.level
    params, seq = nni.trial._params, nni.trial._intermediate_seq
    if quiet:
        log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)
        nni.trial._params, nni.trial._intermediate_seq = params, seq


def search(model_space: Any, strategy: Any = None, *, estimator: Any = "default", objective: Objective = None,
           input_shape: Sequence[int] | None = None, num_threads: int | str | None = None, evaluator: Any = None,
           max_models: int = 1000, top_k: int = 10, seed: int | None = None, batch_size: int = 1,
           quiet: bool = True) -> SearchResult:
    """Explore ``model_space`` with ``strategy`` (default: NNI's ``RegularizedEvolution``), scoring every model with
    the estimator, in this process; returns the ``top_k`` models with their predictions.

    Args:
        model_space: an NNI model space (e.g. ``nni.nas.hub.pytorch.NasBench201()``) or an ``ExecutableModelSpace``.
        strategy: any NNI multi-trial strategy or ``Chain``; a fresh one per call (NNI strategies run once).
        estimator, objective, input_shape, num_threads: as for :class:`NapeEvaluator` (``input_shape``, the shape of
            one input without the batch, is needed for spaces outside NNI's hub); not with ``evaluator``.
        evaluator: a ready :class:`NapeEvaluator`, or any NNI evaluator (then ``top`` holds samples and scores only).
        max_models: models to evaluate (the engine's budget).
        seed: seed of the default strategy.
        batch_size: with a :class:`NapeEvaluator`, score models ``batch_size`` at a time (:class:`BatchedEngine`: to
            the strategy, that many parallel workers); 1 runs NNI's sequential engine, one model after another.
        quiet: silence NNI's per-model log lines.
    """
    from nni.nas.strategy import RegularizedEvolution
    if evaluator is None:
        evaluator = NapeEvaluator(estimator, objective=objective, input_shape=input_shape, num_threads=num_threads)
    elif input_shape is not None or num_threads is not None:
        raise TypeError("input_shape and num_threads configure the NapeEvaluator search() makes; with evaluator=..., "
                        "set them on that evaluator")
    strategy = strategy if strategy is not None else RegularizedEvolution(seed=seed)
    if isinstance(model_space, ExecutableModelSpace):
        space = model_space
        space.evaluator = evaluator
    else:   # NNI's format for multi-trial search: the strategy handles the simplified choices, not the module tree
        space = SimplifiedModelSpace.from_model(model_space, evaluator)
    if batch_size > 1 and isinstance(evaluator, NapeEvaluator):
        engine = BatchedEngine(evaluator, batch_size, max_model_count=max_models)
    else:
        engine = SequentialExecutionEngine(max_model_count=max_models)
    start = time.perf_counter()
    with _in_process(quiet):
        strategy(space, engine)
    seconds = time.perf_counter() - start
    done = [m for m in engine.list_models() if m.status == ModelStatus.Trained and m.metric is not None]
    history = [(dict(m.sample), float(m.metric)) for m in done]
    ranked, seen = [], set()
    for m in sorted(done, key=lambda m: m.metric, reverse=True):
        key = repr(sorted(m.sample.items()))
        if key in seen:
            continue
        seen.add(key)
        ranked.append(m)
        if len(ranked) == top_k:
            break
    details = evaluator.metrics(ranked) if ranked and isinstance(evaluator, NapeEvaluator) else [{}] * len(ranked)
    top = [{"sample": dict(m.sample), "score": float(m.metric), **{k: v for k, v in d.items() if k != "default"}}
           for m, d in zip(ranked, details)]
    return SearchResult(top, history, seconds, strategy)
