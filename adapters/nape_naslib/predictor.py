"""``NapePredictor``: the nape estimator behind NASLib's predictor interface.

>>> from nape_naslib import NapePredictor
>>> predictor = NapePredictor()                       # where NASLib takes a predictor (PredictorEvaluator, Ensemble ...)
>>> predictor.fit(xtrain, ytrain)                     # NASLib graph objects, accuracies in percent: fine-tunes
>>> predictor.query(xtest)                            # (n,) predicted accuracies; (n_heads, n) with ensemble=True

When NASLib is importable, ``NapePredictor`` is a subclass of ``naslib.predictors.predictor.Predictor`` (the class is
built on first access, so importing ``nape_naslib`` never imports NASLib). Without NASLib it is a plain class with the
same methods, usable on CompGraphs or anything else ``nape.to_graph`` accepts.
"""
from __future__ import annotations

import copy
import importlib.util
import os
from typing import Any, Sequence

import numpy as np
from sklearn.base import clone

import nape_plugin as nape
from nape_plugin.errors import LabelError, LengthMismatchError
from nape_plugin.gennape.bagging import BaggedEstimator
from nape_plugin.gennape.estimator import GennapeEstimator
from nape_plugin.gennape.pretrained import resolve
from nape_plugin.utils import threads as _threads

from .compat import load_naslib

#: Hyperparameters NASLib may read or set (``set_hyperparams``); ``None`` values mean "the estimator's default".
DEFAULT_HYPERPARAMS: dict[str, Any] = {"finetune_mode": "auto", "finetune_epochs": None}


class NapePredictorMethods:
    """The implementation of :class:`NapePredictor` (see the module docstring).

    Args:
        estimator: a fitted estimator, a registered pretrained name (``"default"``, ``"gennape-nb101"``), or the path
            of a file written by ``est.save``. Loaded on first use (``pre_process``, ``fit`` or ``query``).
        finetune: ``fit`` fine-tunes a clone of the pretrained estimator on the labelled architectures (each call starts
            again from the pretrained weights, as NASLib's predictors retrain from scratch). ``False`` keeps it
            zero-shot: ``fit`` only records the data and ``query`` returns scores (higher is better) in standardised
            units, so rank metrics are meaningful but MAE is not.
        ensemble: ``query`` returns the per-head predictions ``(n_heads, n)`` (the spread BANANAS' acquisition
            functions use) instead of the membership-mixed prediction ``(n,)``.
        batch_size: graphs per forward pass inside one ``query``/``fit`` call.
        min_finetune: fewer labelled architectures than this answer zero-shot (the estimator fine-tunes on 3 or more).
        dataset: NAS-Bench-201 data set of the NASLib objects (``"cifar10"``, ``"cifar100"``, ``"ImageNet16-120"``);
            it sets the input resolution of their graphs. ``None``: CIFAR-10's.
        seed: seed of the fine-tuning (``None``: the estimator's own).
        threads: torch CPU threads while fitting and querying (``None``: ``$NAPE_THREADS``, else 1; ``"torch"``: torch's
            own setting); see :mod:`nape_plugin.utils.threads`.
        ss_type, encoding_type: NASLib's; set by NASLib, unused (the estimator reads graphs, not encodings).
    """

    def __init__(self, estimator: Any = "default", finetune: bool = True, ensemble: bool = False,
                 batch_size: int = 256, min_finetune: int = 3, dataset: str | None = None, seed: int | None = None,
                 threads: int | str | None = None, ss_type: str | None = None, encoding_type: Any = None):
        self.estimator = estimator
        self.finetune = finetune
        self.ensemble = ensemble
        self.batch_size = batch_size
        self.min_finetune = max(3, int(min_finetune))
        self.dataset = dataset
        self.seed = seed
        self.threads = threads
        self.ss_type = ss_type
        self.encoding_type = encoding_type
        self.hyperparams = dict(DEFAULT_HYPERPARAMS)
        self.default_hyperparams = dict(DEFAULT_HYPERPARAMS)
        self.hpo_wrapper = False
        self.base_ = None          # the pretrained estimator
        self.est_ = None           # what query uses: base_ or a fine-tuned copy
        self.n_train_ = 0

    # --------------------------------------------------------------------------------------------- NASLib API
    def set_ss_type(self, ss_type: str) -> None:
        self.ss_type = ss_type

    def pre_process(self) -> None:
        """Load the estimator (NASLib calls this before the first query)."""
        self._base()

    def pre_compute(self, xtrain: Sequence[Any], xtest: Sequence[Any], unlabeled: Sequence[Any] | None = None) -> None:
        """Nothing to pre-compute: graphs are built (and cached) when ``fit`` and ``query`` first see them."""

    def get_data_reqs(self) -> dict[str, Any]:
        """Only the architectures (and labels for ``fit``): no learning curves, hyperparameters or unlabelled data."""
        return {"requires_partial_lc": False, "metric": None, "requires_hyperparameters": False,
                "hyperparams": {}, "unlabeled": False, "unlabeled_factor": 0}

    def set_hyperparams(self, hyperparams: dict[str, Any] | None) -> None:
        self.hyperparams = None if hyperparams is None else {**DEFAULT_HYPERPARAMS, **hyperparams}

    def get_hyperparams(self) -> dict[str, Any]:
        """The hyperparameters set (``None`` ones, "the estimator's default", left out: NASLib rounds every value)."""
        hp = self.hyperparams if self.hyperparams is not None else DEFAULT_HYPERPARAMS
        return {k: v for k, v in hp.items() if v is not None}

    def reset_hyperparams(self) -> None:
        self.hyperparams = None

    def set_random_hyperparams(self) -> dict[str, Any]:
        """NASLib's HPO hook; the estimator has no search space of hyperparameters, so these are the defaults."""
        self.hyperparams = dict(DEFAULT_HYPERPARAMS)
        return dict(self.hyperparams)

    def get_hpo_wrapper(self) -> bool:
        """False: NASLib's cross-validation HPO is skipped (fine-tuning has its own defaults)."""
        return self.hpo_wrapper

    @_threads.limited
    def fit(self, xtrain: Sequence[Any], ytrain: Sequence[float], train_info: Any = None, **kwargs: Any):
        """Fine-tune a fresh copy of the pretrained estimator on ``(xtrain, ytrain)``; returns the training MAE.

        ``ytrain`` are NASLib's accuracies (percent); predictions afterwards are in the same units. With
        ``finetune=False`` or fewer than ``min_finetune`` architectures the estimator stays zero-shot.
        """
        xtrain = list(xtrain)
        y = np.asarray(ytrain, dtype=float).reshape(-1)
        if len(y) != len(xtrain):
            raise LengthMismatchError(f"fit got {len(xtrain)} architectures but {len(y)} labels")
        base = self._base()
        self.n_train_ = len(xtrain)
        if not self.finetune or len(xtrain) < self.min_finetune:
            self.est_ = base
            return None
        if not np.all(np.isfinite(y)):
            raise LabelError(f"fit got {int((~np.isfinite(y)).sum())} NaN or infinite accuracies; drop the "
                             "architectures the benchmark holds no result for before fitting")
        hp = {**DEFAULT_HYPERPARAMS, **self.get_hyperparams()}
        est = fine_tunable(base)
        params = {k: v for k, v in (("finetune_epochs", hp["finetune_epochs"]), ("random_state", self.seed))
                  if v is not None}
        if params:
            est.set_params(**params)
        graphs = self._graphs(xtrain)
        est.fit(graphs, y, mode=hp["finetune_mode"])
        self.est_ = est
        return float(np.mean(np.abs(est.predict(graphs, batch_size=self.batch_size, progress=False) - y)))

    @_threads.limited
    def query(self, xtest: Sequence[Any], info: Any = None, **kwargs: Any) -> np.ndarray:
        """Predictions for ``xtest`` as float64 (NASLib writes them to JSON): ``(n,)``, or ``(n_heads, n)`` per head
        with ``ensemble=True``."""
        est = self.est_ if self.est_ is not None else self._base()
        graphs = self._graphs(list(xtest))
        if self.ensemble:
            return np.asarray(est.predict_heads(graphs, batch_size=self.batch_size), dtype=np.float64)
        return np.asarray(est.predict(graphs, batch_size=self.batch_size, progress=False), dtype=np.float64)

    @_threads.limited
    def query_with_std(self, xtest: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` of the membership-mixed prediction, each ``(n,)``."""
        est = self.est_ if self.est_ is not None else self._base()
        mean, std = est.predict(self._graphs(list(xtest)), return_std=True, batch_size=self.batch_size,
                                progress=False)
        return np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)

    # ---------------------------------------------------------------------------------------------- internals
    def _base(self):
        if self.base_ is None:
            self.base_ = load_estimator(self.estimator)
        return self.base_

    def _graphs(self, archs: list) -> list:
        context = {"dataset": self.dataset} if self.dataset else {}
        return [nape.to_graph(a, **context) for a in archs]

    def __repr__(self) -> str:
        name = self.estimator if isinstance(self.estimator, (str, os.PathLike)) else type(self.estimator).__name__
        return (f"NapePredictor(estimator={str(name)!r}, finetune={self.finetune}, ensemble={self.ensemble}, "
                f"batch_size={self.batch_size})")


def load_estimator(spec: Any):
    """An estimator from an estimator object, a registered pretrained name, or a saved file's path."""
    if not isinstance(spec, (str, os.PathLike)):
        if not (hasattr(spec, "predict") and hasattr(spec, "fit")):
            raise TypeError(f"estimator must be a fitted nape estimator, a pretrained name or a file path; got "
                            f"{type(spec).__name__}")
        return spec
    return resolve(spec)


def fine_tunable(est: Any) -> Any:
    """A new estimator whose ``fit`` fine-tunes from ``est``'s weights: a clone of a nape estimator with a start, one
    started from ``est`` itself when it has none (pretrained in this process), a deep copy of anything else."""
    if isinstance(est, (GennapeEstimator, BaggedEstimator)):
        return clone(est) if est.pretrained is not None else type(est).from_pretrained(est)
    return copy.deepcopy(est)


def naslib_predictor_base() -> type | None:
    """NASLib's ``Predictor`` class, or None when NASLib is not on the path (NASLib present but failing to import
    raises :class:`~nape_naslib.compat.NaslibUnavailable`)."""
    if importlib.util.find_spec("naslib") is None:
        return None
    load_naslib()
    from naslib.predictors.predictor import Predictor
    return Predictor


def _build_class() -> type:
    base = naslib_predictor_base()
    bases = (NapePredictorMethods,) if base is None else (NapePredictorMethods, base)
    cls = type("NapePredictor", bases, {"__module__": __name__, "__qualname__": "NapePredictor",
                                        "__doc__": NapePredictorMethods.__doc__})
    return cls


def __getattr__(name: str) -> Any:
    if name == "NapePredictor":
        cls = globals()["NapePredictor"] = _build_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
