"""``NapeEvaluator``: an NNI evaluator that predicts a model's accuracy instead of training it.

Drop it in wherever an NNI 3 experiment takes an evaluator::

    from nni.nas.experiment import NasExperiment
    from nape_nni import NapeEvaluator
    exp = NasExperiment(model_space, NapeEvaluator(), strategy)

For a sample of a hub space with a fast path (NasBench101, NasBench201, DARTS and the NDS family) the graph is built
straight from the sample and no model is instantiated; any other model is frozen and traced. The metric goes to NNI
through ``nni.report_final_result``: the predicted accuracy, or with ``objective=...`` a dict whose ``"default"`` is a
weighted objective over the predicted accuracy, FLOPs and parameters (multi-objective search).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np
from nni.nas.evaluator import Evaluator

import nape_plugin as nape
from nape_plugin.errors import NapeError
from nape_plugin.gennape.pretrained import resolve
from nape_plugin.graph import CompGraph
from nape_plugin.utils import threads
from nape_plugin.utils.files import cache_dir

from .convert import sample_graph

__all__ = ["NapeEvaluator", "Objective"]

#: ``None`` (report the predicted accuracy), weights over ``accuracy``/``flops``/``params``, or a function of them.
Objective = Union[None, Mapping[str, float], Callable[[Mapping[str, float]], float]]
METRICS = ("accuracy", "flops", "params")


class NapeEvaluator(Evaluator):
    """Scores NNI models with a nape-plugin estimator.

    Args:
        estimator: a pretrained model's name (``nape.load_pretrained``), the path of an estimator saved with
            ``est.save(path)``, or an estimator object (``predict(graphs)``; e.g. one fine-tuned with ``fit``).
        objective: ``None`` reports the predicted accuracy (a float). Weights such as
            ``{"accuracy": 1.0, "flops": -0.01}`` report ``{"default": sum(w * metric), "accuracy": ..., "flops": ...,
            "params": ...}`` with FLOPs and parameters in millions; a function of that dict may replace the weights.
        input_shape: input shape for models outside NNI's hub (hub spaces know theirs).
        batch_size: graphs per estimator call in :meth:`score`.
        num_threads: torch threads while predicting (``None``: ``$NAPE_THREADS``, else 1, the fastest setting measured;
            ``"torch"``: torch's own setting); see :mod:`nape_plugin.utils.threads`.
        cache_size: predictions kept (by sample, or by graph fingerprint for models without one).
    """

    def __init__(self, estimator: str | os.PathLike | Any = "default", *, objective: Objective = None,
                 input_shape: Sequence[int] | None = None, batch_size: int = 256, num_threads: int | str | None = None,
                 cache_size: int = 100_000):
        if isinstance(objective, Mapping):
            unknown = set(objective) - set(METRICS)
            if unknown:
                raise ValueError(f"objective weights {sorted(unknown)} name no metric; use {', '.join(METRICS)}")
        elif objective is not None and not callable(objective):
            raise TypeError(f"objective must be None, a dict of weights or a function, got {type(objective).__name__}")
        self.estimator = estimator
        self.objective = objective
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.cache_size = cache_size
        self._estimator: Any = None if isinstance(estimator, (str, os.PathLike)) else estimator
        self._cache: OrderedDict[Any, dict[str, float]] = OrderedDict()

    def extra_repr(self) -> str:
        est = self.estimator if isinstance(self.estimator, (str, os.PathLike)) else type(self.estimator).__name__
        return f"estimator={est!r}, objective={self.objective!r}"

    # ------------------------------------------------------------------------------------------------ estimator
    @property
    def estimator_(self) -> Any:
        """The estimator itself, loaded on first use."""
        if self._estimator is None:
            self._estimator = _load_estimator(self.estimator)
        return self._estimator

    # ------------------------------------------------------------------------------------------------- graphs
    def graph(self, model: Any) -> CompGraph:
        """The computation graph of ``model``: an ``ExecutableModelSpace`` (its sample, built directly where a fast
        path exists), a frozen torch model, a CompGraph, or anything ``nape.to_graph`` accepts."""
        from nni.nas.space import ExecutableModelSpace
        if isinstance(model, CompGraph):
            return model
        if isinstance(model, ExecutableModelSpace) and model.sample is not None:
            return sample_graph(model.sample, model, self.input_shape)
        context = {"input_shape": self.input_shape} if self.input_shape is not None else {}
        return nape.to_graph(model, **context)

    # ------------------------------------------------------------------------------------------------ scoring
    def metrics(self, models: Sequence[Any]) -> list[dict[str, float]]:
        """``{"accuracy", "flops", "params"}`` per model (predicted accuracy; FLOPs and parameters in millions),
        plus ``"default"`` when an objective is set. Predictions are batched and cached (by sample, else by graph)."""
        keys: list[Any] = []
        todo: dict[Any, CompGraph] = {}
        for m in models:
            key = _sample_key(m)
            if key is None or key not in self._cache:
                g = self.graph(m)
                key = key if key is not None else g.fingerprint
                if key not in self._cache:
                    todo.setdefault(key, g)
            keys.append(key)
        if todo:
            graphs = list(todo.values())
            with threads.limit(self.num_threads):
                acc = np.asarray(self.estimator_.predict(graphs, batch_size=self.batch_size), dtype=float)
            for key, g, a in zip(todo, graphs, acc):
                self._remember(key, {"accuracy": float(a), "flops": g.flops / 1e6, "params": g.params / 1e6})
        out = []
        for key in keys:
            self._cache.move_to_end(key)
            m = dict(self._cache[key])
            if self.objective is not None:
                m = {"default": self._objective(m), **m}
            out.append(m)
        return out

    def _remember(self, key: Any, value: dict[str, float]) -> None:
        self._cache[key] = value
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _objective(self, m: Mapping[str, float]) -> float:
        if callable(self.objective):
            return float(self.objective(m))
        return float(sum(w * m[k] for k, w in self.objective.items()))

    def score(self, models: Sequence[Any]) -> np.ndarray:
        """What the evaluator reports to NNI for each model (the objective, else the predicted accuracy)."""
        key = "default" if self.objective is not None else "accuracy"
        return np.array([m[key] for m in self.metrics(models)])

    def _metric(self, model: Any) -> float | dict[str, float]:
        m = self.metrics([model])[0]
        return m if self.objective is not None else m["accuracy"]

    # ------------------------------------------------------------------------------------------------ NNI API
    def evaluate(self, model: Any) -> float | dict[str, float]:
        """Score one model (a frozen torch model, a sample's ``ExecutableModelSpace``, or a CompGraph) and report it
        to NNI when running inside an experiment."""
        metric = self._metric(model)
        self._report(metric)
        return metric

    def _execute(self, model: Any) -> float | dict[str, float]:
        """Called by NNI's engines with the ``ExecutableModelSpace``: scores its sample without building the model
        where a fast path exists."""
        return self.evaluate(model)

    @staticmethod
    def _report(metric: float | dict[str, float]) -> None:
        import nni
        if nni.get_current_parameter() is not None:
            nni.report_final_result(metric)

    # ------------------------------------------------------------------------------------------ serialisation
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        if isinstance(self.estimator, (str, os.PathLike)):
            state["_estimator"] = None                # reloaded where the evaluator lands
        return state

    def _dump(self) -> dict[str, Any]:
        """What ``nni.dump`` writes: the ``ts`` engine sends the evaluator to each trial process this way. An estimator
        object is saved once to ``$NAPE_CACHE_DIR/nni/`` (default ``~/.cache/nape-plugin/nni/``, named by its content)
        and travels as that path, which trials of the local training service read; NNI's command channel cannot carry
        the weights themselves."""
        if isinstance(self.estimator, (str, os.PathLike)):
            est = os.fspath(self.estimator)
        elif hasattr(self.estimator, "save"):
            est = _saved_path(self.estimator)
        else:
            raise NapeError(f"{type(self.estimator).__name__} has no save(path); nni.dump needs an estimator name, a "
                            "saved estimator's path, or an estimator with save()")
        return {"estimator": est, "objective": self.objective, "input_shape": self.input_shape,
                "batch_size": self.batch_size, "num_threads": self.num_threads, "cache_size": self.cache_size}

    @classmethod
    def _load(cls, **ir: Any) -> NapeEvaluator:
        return cls(ir.pop("estimator"), **ir)


def _sample_key(model: Any) -> tuple | None:
    """A hashable key of a sampled model (an ``ExecutableModelSpace`` with its sample), else None."""
    from nni.nas.space import ExecutableModelSpace
    sample = model.sample if isinstance(model, ExecutableModelSpace) else None
    return (type(model).__name__, repr(sorted(sample.items()))) if sample is not None else None


def _load_estimator(estimator: str | os.PathLike) -> Any:
    """A saved estimator's file, or else a pretrained model's name (unknown names list the valid ones)."""
    return resolve(estimator)


def _saved_path(estimator: Any) -> str:
    """Where ``estimator`` is saved for trial processes: a file named by the digest of its content."""
    folder = cache_dir() / "nni"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    try:
        estimator.save(tmp)
        digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()[:20]
        path = folder / f"estimator-{digest}.pt"
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return str(path)
