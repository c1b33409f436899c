"""Learning-curve extrapolation (Baker et al. 2017): final accuracy from the first epochs of training.

Features of a partial validation curve ``(a_1 .. a_k)``: the values themselves, their first and second differences,
and the mean and standard deviation of each of the three, followed by a few architecture statistics of the network's
computation graph (FLOPs, params, depth, op counts). A nu-SVR with an RBF kernel (hyperparameters picked by randomised
cross-validated search) maps them to the final accuracy; a bootstrap ensemble of the same model gives a spread.

:class:`EarlyStopping` turns that into the rule of Baker et al.: stop a run as soon as the probability that its final
accuracy beats the best fully trained run so far falls below ``delta``. :func:`simulate_early_stopping` replays a search
on recorded curves to measure what the rule saves and what it costs.

>>> lc = LearningCurvePredictor().fit(curves_4_12ep, acc_108ep, graphs=train_graphs)   # doctest: +SKIP
>>> mean, spread = lc.predict(new_curves, graphs=new_graphs, return_std=True)           # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import KFold, RandomizedSearchCV, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import DataError, LabelError, NotFittedError, UnknownNameError
from ..utils.validation import check_labels
from .gbdt import FEATURE_NAMES, feature_matrix

#: Architecture statistics appended to the curve features (columns of :func:`.gbdt.graph_features`).
ARCH_FEATURES: tuple[str, ...] = ("log_flops", "log_params", "num_nodes", "depth", "count_conv", "count_maxpool",
                                  "count_avgpool", "count_add", "count_concat", "conv_k1", "conv_k3",
                                  "path_min_conv", "path_max_conv")
_ARCH_COLUMNS = [FEATURE_NAMES.index(n) for n in ARCH_FEATURES]
MODELS = ("nusvr", "bayesian_ridge", "random_forest")


def arch_features(graphs: Sequence[Any], **context: Any) -> np.ndarray:
    """The architecture statistics :data:`ARCH_FEATURES` of ``graphs`` (anything ``nape.to_graph`` accepts)."""
    return feature_matrix(graphs, **context)[:, _ARCH_COLUMNS]


def _check_curves(curves: Any) -> np.ndarray:
    c = np.asarray(curves)
    if np.iscomplexobj(c):
        raise DataError("Complex data not supported: curves must be real validation accuracies")
    c = c.astype(np.float64)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0:
        raise DataError(f"curves must be an (n_runs, k_epochs) array of validation accuracies, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise LabelError(f"{int((~np.isfinite(c)).sum())} curve values are NaN or infinite; drop those runs")
    return c


def curve_features(curves: Any) -> np.ndarray:
    """Curve values, first and second differences (where ``k`` allows), and mean and std of each, per run."""
    vc = _check_curves(curves)
    parts = [vc, vc.mean(1, keepdims=True), vc.std(1, keepdims=True)]
    for order in (1, 2):
        if vc.shape[1] > order:
            d = np.diff(vc, n=order, axis=1)
            parts += [d, d.mean(1, keepdims=True), d.std(1, keepdims=True)]
    return np.hstack(parts)


def _search_space(model: str) -> tuple[Any, dict[str, Any]]:
    if model == "nusvr":
        from sklearn.svm import NuSVR
        return NuSVR(kernel="rbf"), {"nusvr__C": stats.loguniform(1e-2, 1e2), "nusvr__nu": stats.uniform(0.05, 0.9),
                                     "nusvr__gamma": stats.loguniform(1e-4, 1.0)}
    if model == "bayesian_ridge":
        from sklearn.linear_model import BayesianRidge
        return BayesianRidge(), {"bayesianridge__alpha_1": stats.loguniform(1e-7, 1e-4),
                                 "bayesianridge__lambda_1": stats.loguniform(1e-7, 1e-4)}
    if model == "random_forest":
        from sklearn.ensemble import RandomForestRegressor
        return RandomForestRegressor(n_estimators=100, n_jobs=1), {
            "randomforestregressor__max_features": stats.uniform(0.1, 0.8),
            "randomforestregressor__min_samples_leaf": stats.randint(1, 8)}
    raise UnknownNameError(f"unknown learning-curve model {model!r}; choose one of {', '.join(MODELS)}")


class LearningCurvePredictor(RegressorMixin, BaseEstimator):
    """Final accuracy from a partial validation curve plus architecture statistics (Baker et al. 2017).

    ``fit(curves, y, graphs=None)``: ``curves`` is ``(n_runs, k)`` (the first ``k`` recorded validation accuracies of
    each run, the same ``k`` for all), ``y`` the final accuracies, ``graphs`` the runs' architectures (graphs or
    anything ``nape.to_graph`` accepts, with ``context`` such as ``space="nb101"``; or a precomputed
    :func:`arch_features` array; omit them with ``use_arch=False``). ``n_hypers`` hyperparameter draws are scored by
    ``cv``-fold cross-validation; the best is refitted on ``n_ensemble`` bootstrap resamples. The scale of the
    cross-validated residuals (1.4826 x their median absolute deviation, robust to the few runs that diverge) is kept
    in ``residual_std_`` for :meth:`prob_exceeds`.
    """

    def __init__(self, model: str = "nusvr", n_hypers: int = 30, cv: int = 3, n_ensemble: int = 10,
                 use_arch: bool = True, random_state: int | None = 0):
        self.model = model
        self.n_hypers = n_hypers
        self.cv = cv
        self.n_ensemble = n_ensemble
        self.use_arch = use_arch
        self.random_state = random_state

    def _features(self, curves: Any, graphs: Any, context: Mapping[str, Any]) -> np.ndarray:
        X = curve_features(curves)
        if not self.use_arch:
            return X
        if graphs is None:
            raise DataError("LearningCurvePredictor(use_arch=True) needs graphs=... (the runs' architectures); pass "
                            "them or set use_arch=False")
        A = graphs if isinstance(graphs, np.ndarray) and graphs.ndim == 2 else arch_features(graphs, **context)
        if len(A) != len(X):
            raise DataError(f"got {len(X)} curves but {len(A)} architectures; pass one architecture per curve")
        return np.hstack([X, A])

    def fit(self, curves: Any, y: Any, graphs: Any = None, **context: Any) -> LearningCurvePredictor:
        """Fit on fully observed runs; returns self."""
        X = self._features(curves, graphs, context)
        y = check_labels(y, len(X), "architectures")
        if len(X) < 2 * max(self.cv, 2):
            raise DataError(f"LearningCurvePredictor needs at least {2 * max(self.cv, 2)} complete runs for its "
                            f"{self.cv}-fold search, got {len(X)}")
        self.k_ = self.n_features_in_ = _check_curves(curves).shape[1]
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        z = (y - self.y_mean_) / self.y_scale_
        est, space = _search_space(self.model)
        pipe = make_pipeline(StandardScaler(), est)
        folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
        search = RandomizedSearchCV(pipe, space, n_iter=self.n_hypers, cv=folds, scoring="neg_mean_squared_error",
                                    random_state=self.random_state, n_jobs=1).fit(X, z)
        self.best_params_ = search.best_params_
        best = search.best_estimator_
        resid = cross_val_predict(clone(best), X, z, cv=folds) - z
        # a robust scale (normal-consistent MAD): a few diverged runs must not make every run look uncertain
        self.residual_std_ = float(1.4826 * np.median(np.abs(resid - np.median(resid)))) * self.y_scale_
        rng = np.random.default_rng(self.random_state)
        self.models_ = [best]
        for _ in range(max(0, self.n_ensemble - 1)):
            idx = rng.integers(0, len(X), len(X))
            self.models_.append(clone(best).fit(X[idx], z[idx]))
        return self

    def _check(self, curves: Any) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError("LearningCurvePredictor is not fitted; call fit(curves, y, graphs) first")
        k = _check_curves(curves).shape[1]
        if k != self.k_:
            raise DataError(f"this predictor was fitted on curves of {self.k_} epochs but got {k}; fit one predictor "
                            "per curve length (EarlyStopping takes a mapping k -> predictor)")

    def predict(self, curves: Any, graphs: Any = None, return_std: bool = False, **context: Any):
        """Predicted final accuracy (n,), or ``(mean, ensemble spread)`` with ``return_std=True``."""
        self._check(curves)
        X = self._features(curves, graphs, context)
        per = np.stack([m.predict(X) for m in self.models_]) * self.y_scale_ + self.y_mean_
        return (per.mean(0), per.std(0)) if return_std else per.mean(0)

    def prob_exceeds(self, curves: Any, threshold: float, graphs: Any = None, **context: Any) -> np.ndarray:
        """P(final accuracy > ``threshold``) per run: a normal with the ensemble mean and the ensemble spread
        combined with the cross-validated residual scale."""
        mean, spread = self.predict(curves, graphs, return_std=True, **context)
        sd = np.sqrt(spread ** 2 + self.residual_std_ ** 2)
        return stats.norm.sf(threshold, loc=mean, scale=np.maximum(sd, 1e-12))


class EarlyStopping:
    """Baker et al.'s rule: stop a run when P(final > best so far) < ``delta``.

    ``predictors`` maps a curve length ``k`` to a fitted :class:`LearningCurvePredictor` for curves of that length
    (a single predictor is used for its own ``k``). Curves of a length with no predictor are never stopped.
    """

    def __init__(self, predictors: Mapping[int, LearningCurvePredictor] | LearningCurvePredictor,
                 delta: float = 0.05):
        if isinstance(predictors, LearningCurvePredictor):
            predictors = {predictors.k_: predictors}
        self.predictors = dict(predictors)
        self.delta = delta

    def prob_beats(self, curve: Sequence[float], best: float, graph: Any = None, **context: Any) -> float:
        """P(the run of ``curve`` ends above ``best``); 1.0 when no predictor covers its length."""
        pred = self.predictors.get(len(curve))
        if pred is None or not np.isfinite(best):
            return 1.0
        arch = None if graph is None else (graph[None] if isinstance(graph, np.ndarray) else [graph])
        return float(pred.prob_exceeds([list(curve)], best, arch, **context)[0])

    def should_stop(self, curve: Sequence[float], best: float, graph: Any = None, **context: Any) -> bool:
        """True when the run should stop now."""
        return self.prob_beats(curve, best, graph, **context) < self.delta


def simulate_early_stopping(curves: Any, final: Any, checkpoints: Sequence[float], final_epoch: float,
                            arch: np.ndarray | None = None, delta: float = 0.05, n_warmup: int = 100,
                            predictor_factory: Callable[[], LearningCurvePredictor] = LearningCurvePredictor,
                            refit_every: int | None = None, run_cost: float | None = None) -> dict[str, float]:
    """Replay a sequential search over recorded runs with the early-stopping rule; returns what it saved and cost.

    Runs are visited in the given order. The first ``n_warmup`` train fully and fit one predictor per curve length
    (refitted on every fully trained run after each ``refit_every`` further completions, if given); every later run is
    checked at each checkpoint (``curves[:, j]`` is observed after ``checkpoints[j]`` epochs) and stopped when
    :class:`EarlyStopping` says so. A run that is not stopped costs ``run_cost`` epochs (default ``final_epoch``, as
    when the checkpoints are read off the run itself; where they come from separate shorter runs, as in NAS-Bench-101,
    pass their sum plus ``final_epoch`` and cumulative ``checkpoints``). Without the rule every run costs
    ``final_epoch``. ``arch`` holds :func:`arch_features` rows (or None for curve-only predictors).
    Returns the epochs spent with and without the rule, the speedup, the number of stopped runs (and per checkpoint),
    and the regret of the final pick (best final accuracy among all runs minus that of the best fully trained run).
    """
    curves = _check_curves(curves)
    final = check_labels(final, len(curves), "runs")
    k_max = curves.shape[1]
    if len(checkpoints) != k_max:
        raise DataError(f"{k_max} curve columns but {len(checkpoints)} checkpoints; give the epoch of each column")
    if not 0 < n_warmup < len(curves):
        raise DataError(f"n_warmup must be between 1 and the number of runs - 1 ({len(curves) - 1}), got {n_warmup}")

    def fit(done: list[int]) -> EarlyStopping:
        preds = {}
        for k in range(1, k_max + 1):
            p = predictor_factory()
            preds[k] = p.fit(curves[done, :k], final[done], None if arch is None else arch[done])
        return EarlyStopping(preds, delta)

    run_cost = float(final_epoch if run_cost is None else run_cost)
    done = list(range(n_warmup))
    rule = fit(done)
    spent = n_warmup * run_cost      # the warm-up runs record every checkpoint too
    stopped_at = [0] * k_max
    since_fit = 0
    best = float(final[done].max())
    for i in range(n_warmup, len(curves)):
        for k in range(1, k_max + 1):
            a = None if arch is None else arch[i]
            if rule.should_stop(curves[i, :k], best, a):
                spent += checkpoints[k - 1]
                stopped_at[k - 1] += 1
                break
        else:
            spent += run_cost
            done.append(i)
            best = max(best, float(final[i]))
            since_fit += 1
            if refit_every and since_fit >= refit_every:
                rule, since_fit = fit(done), 0
    full = float(len(curves) * final_epoch)
    return {"epochs": spent, "epochs_full": full, "speedup": full / spent, "stopped": sum(stopped_at),
            "stopped_at": stopped_at, "runs": len(curves), "best_found": best, "best_possible": float(final.max()),
            "regret": float(final.max()) - best}
