"""Predictor-guided architecture search: regularised evolution (Real et al. 2019) over any registered space.

``nape.search(space, scorer, budget=...)`` maximises a predicted score, alone or against costs to minimise (FLOPs,
params, a hardware column, any function), and returns every queried architecture with the Pareto front. The scorer is
the estimator (a pretrained name or an estimator object), any registered predictor (``"gbdt"`` after fitting,
``"synflow"``, ...), or a plain callable of a list of architectures. ``start=arch`` gives GENNAPE's mode: search from a
given architecture for ones with a higher predicted score and fewer FLOPs.

>>> import nape_plugin as nape
>>> res = nape.search("nb201", "default", budget=300, costs=["flops"], plot="pareto.png")   # doctest: +SKIP
>>> res.front[:3]                                                                            # doctest: +SKIP
"""
from __future__ import annotations

import os
from typing import Any, Callable, Hashable, Mapping, Sequence

import numpy as np

from ..errors import DataError, NapeError, UnknownNameError
from ..graph import CompGraph
from ..spaces import SearchSpace, as_rng
from ..utils.progress import progress_bar
from .pareto import pareto_front
from .result import SearchResult
from .scorers import Scorer, make_scorer

Cost = Callable[[Hashable, CompGraph], float]
STRATEGIES = ("evolution", "random")


def _cost(spec: Any, space: SearchSpace) -> tuple[str, Cost]:
    if isinstance(spec, str):
        if spec == "flops":
            return "flops", lambda arch, g: g.flops / 1e6
        if spec == "params":
            return "params", lambda arch, g: g.params / 1e6
        raise UnknownNameError(f"unknown cost {spec!r}: use 'flops', 'params', a mapping arch -> value (e.g. a "
                               "hardware column), or a function (arch, graph) -> value")
    if isinstance(spec, Mapping):
        table = {space.arch_id(k): float(v) for k, v in spec.items()}

        def lookup(arch: Hashable, g: CompGraph) -> float:
            key = space.arch_id(arch)
            if key not in table:
                raise DataError(f"the cost table has no entry for {key!r}; give a value for every architecture "
                                "of the space, or a function")
            return table[key]
        return "cost", lookup
    if callable(spec):
        return getattr(spec, "__name__", "cost"), spec
    raise DataError(f"a cost must be 'flops', 'params', a mapping or a function, got {type(spec).__name__}")


def _costs(costs: Any, space: SearchSpace) -> list[tuple[str, Cost]]:
    if costs is None:
        return []
    if isinstance(costs, Mapping) and all(isinstance(k, str) and (callable(v) or isinstance(v, (str, Mapping)))
                                          for k, v in costs.items()) and costs:
        out = [(name, _cost(v, space)[1]) for name, v in costs.items()]
    else:
        out = [_cost(c, space) for c in ([costs] if isinstance(costs, (str, Mapping)) or callable(costs) else costs)]
    names = [n for n, _ in out]
    if len(set(names)) < len(names):
        raise DataError(f"two costs share the name {names}; pass a dict name -> cost to name them")
    return out



class _Evaluator:
    """Scores architectures once each (by canonical encoding) and counts the queries."""

    def __init__(self, space: SearchSpace, scorer: Scorer, costs: list[tuple[str, Cost]], result: SearchResult,
                 bar: Any):
        self.space, self.scorer, self.costs, self.result, self.bar = space, scorer, costs, result, bar
        self.seen: dict[Hashable, dict[str, Any]] = {}

    def __call__(self, archs: Sequence[Hashable], record: bool = True) -> list[dict[str, Any]]:
        archs = [self.space.parse(a) for a in archs]
        new = list(dict.fromkeys(a for a in archs if a not in self.seen))
        if new:
            graphs = [self.space.to_graph(a) for a in new]
            scores = self.scorer(new, graphs)
            if scores.shape != (len(new),):
                raise DataError(f"the scorer returned shape {scores.shape} for {len(new)} architectures")
            for a, g, s in zip(new, graphs, scores):
                row = {"arch": a, "score": float(s), **{n: float(f(a, g)) for n, f in self.costs}}
                self.seen[a] = row
                if record:
                    row["query"] = len(self.result.history) + 1
                    self.result.history.append(row)
                    self.bar.update(1)
        return [self.seen[a] for a in archs]


def _tournament(pop: Sequence[dict[str, Any]], costs: Sequence[str], rng) -> dict[str, Any]:
    if not costs:
        return max(pop, key=lambda r: r["score"])
    pts = np.array([[r["score"], *(-r[c] for c in costs)] for r in pop])
    return pop[rng.choice(list(pareto_front(pts)))]


def search(space: str | SearchSpace, scorer: Any = "default", *, budget: int = 1000, costs: Any = None,
           strategy: str = "evolution", population: int = 50, sample_size: int = 10, batch_size: int = 1,
           start: Any = None, seed: int | None = 0, progress: bool | None = None,
           plot: str | os.PathLike | None = None) -> SearchResult:
    """Search ``space`` for architectures with a high ``scorer`` score (and low ``costs``).

    Args:
        space: a registered space name or a :class:`~nape_plugin.spaces.SearchSpace`.
        scorer: a pretrained estimator name (``"default"``), a registered predictor name, a predictor object with
            ``predict(graphs)`` (fitted where it needs it), or ``callable(list_of_archs) -> scores``; higher = better.
        budget: number of distinct architectures to score (predictor queries).
        costs: objectives to minimise besides the score: ``"flops"``, ``"params"`` (millions, from the computation
            graph), a mapping ``arch -> value`` (e.g. a hardware latency column), a function ``(arch, graph) ->
            value``, a list of these, or a dict ``name -> one of these``. With costs, parents are drawn from the
            non-dominated members of each tournament and the result's ``front`` is multi-objective.
        strategy: ``"evolution"`` (regularised evolution: population ``population``, tournaments of
            ``sample_size``, oldest member removed; ``batch_size`` children scored per step) or ``"random"``.
        start: GENNAPE mode. The population starts at this architecture and its mutations, children with more FLOPs
            than ``start`` do not join the population, and ``result.improved`` lists the queried architectures with
            a higher score and fewer FLOPs than ``start``. ``costs`` defaults to ``["flops"]`` here.
        seed: all randomness. progress: a tqdm bar (``None``: on terminals only). plot: save the Pareto plot there.
    """
    from .. import spaces as _spaces
    space = _spaces.get(space) if isinstance(space, str) else space
    if strategy not in STRATEGIES:
        raise UnknownNameError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if budget < 1 or population < 1 or not 1 <= sample_size <= population or batch_size < 1:
        raise DataError(f"need budget >= 1, population >= 1, 1 <= sample_size <= population and batch_size >= 1; got"
                        f" budget={budget}, population={population}, sample_size={sample_size}, batch={batch_size}")
    if start is not None and costs is None:
        costs = ["flops"]
    cost_fns = _costs(costs, space)
    if start is not None and "flops" not in [n for n, _ in cost_fns]:
        cost_fns.append(_cost("flops", space))
    names = tuple(n for n, _ in cost_fns)
    result = SearchResult(space.name, names)
    rng = as_rng(seed)
    bar = progress_bar(total=budget, desc=f"search {space.name}", enabled=progress, unit="query")
    evaluate = _Evaluator(space, make_scorer(scorer, space), cost_fns, result, bar)
    limit = 50 * budget + 1000          # proposals before giving up (a space smaller than the budget)
    proposals = 0

    def propose(make: Callable[[], Hashable], tries: int = 20) -> Hashable | None:
        nonlocal proposals
        for _ in range(tries):
            if proposals >= limit:
                break
            proposals += 1
            arch = space.parse(make())
            if arch not in evaluate.seen:
                return arch
        return None

    try:
        if start is not None:
            result.start = dict(evaluate([start], record=False)[0], arch=space.parse(start))
        if strategy == "random":
            while len(result.history) < budget and proposals < limit:
                arch = propose(lambda: space.sample(rng))
                if arch is not None:
                    evaluate([arch])
            return _finish(result, plot)
        pop: list[dict[str, Any]] = []
        if start is not None:     # a random walk out of the start
            pop.append(result.start)
            seeds = lambda: space.mutate(rng.choice(pop)["arch"], rng)   # noqa: E731
        else:
            seeds = lambda: space.sample(rng)                            # noqa: E731
        while len(pop) < population and len(result.history) < budget and proposals < limit:
            arch = propose(seeds)
            if arch is None:
                continue
            row = evaluate([arch])[0]
            if start is None or row["flops"] <= result.start["flops"]:
                pop.append(row)
        while len(result.history) < budget and pop and proposals < limit:
            children: list[Hashable] = []
            for _ in range(min(batch_size, budget - len(result.history))):
                parent = _tournament([pop[i] for i in rng.sample(range(len(pop)), min(sample_size, len(pop)))],
                                     names, rng)
                child = propose(lambda parent=parent: space.mutate(parent["arch"], rng))
                if child is not None and child not in children:
                    children.append(child)
            for row in evaluate(children):
                if start is None or row["flops"] <= result.start["flops"]:
                    pop.append(row)
                    if len(pop) > population:
                        pop.pop(0)
        return _finish(result, plot)
    finally:
        bar.close()


def _finish(result: SearchResult, plot: str | os.PathLike | None) -> SearchResult:
    if not result.history:
        raise NapeError("the search found no architecture to query; is the space empty or the budget 0?")
    if plot is not None:
        result.plot_front(plot)
    return result

