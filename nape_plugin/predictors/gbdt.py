"""Cheap surrogates: gradient-boosted trees (or a random forest) on hand-made computation-graph features.

The features follow GBDT-NAS and GRAF ("Surprisingly Strong Performance Prediction with Neural Graph Features"),
carried from cell encodings over to whole-network computation graphs: totals, op counts, each op's share of FLOPs and
params, convolution shapes, depth and number of paths, min/mean/max count of ops of a subset along input-to-output
paths, degree statistics and where the FLOPs sit in resolution. They take about a millisecond per graph, need no
weights and, with trees on top, are strong in-domain baselines from a few dozen labels on.

>>> from nape_plugin.plugins import get_predictor
>>> gbdt = get_predictor("gbdt").fit(train_graphs, train_acc)     # doctest: +SKIP
>>> mu, sd = gbdt.predict(test_graphs, return_std=True)           # doctest: +SKIP
"""
from __future__ import annotations

from math import log2, log10
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from threadpoolctl import threadpool_limits

from ..errors import EmptyBatchError, NotFittedError, UnknownNameError
from ..graph.core import CompGraph, Node
from ..graph.ops import VOCAB
from ..utils.progress import track
from ..utils.validation import check_labels, check_not_sparse, normal_scores

#: Ops counted one by one (everything but the graph's own input and output nodes).
COUNTED_OPS: tuple[str, ...] = tuple(op for op in VOCAB if op not in ("input", "output"))
#: Ops that carry FLOPs, for per-op FLOPs shares.
FLOP_OPS: tuple[str, ...] = ("conv", "depthwise_conv", "conv_transpose", "linear", "matmul", "attention", "maxpool",
                             "avgpool", "global_avgpool", "global_maxpool")
#: Ops that carry params, for per-op params shares.
PARAM_OPS: tuple[str, ...] = ("conv", "depthwise_conv", "conv_transpose", "linear", "attention", "embedding",
                              "batchnorm", "layernorm", "groupnorm", "prelu")
_ACTIVATIONS = frozenset({"relu", "relu6", "leaky_relu", "prelu", "elu", "gelu", "silu", "sigmoid", "tanh",
                          "hardswish", "hardsigmoid"})
_CONVS = frozenset({"conv", "depthwise_conv", "conv_transpose"})

#: Op subsets for path statistics (GRAF's "min/max path length over op subsets"), as node predicates.
PATH_SUBSETS: dict[str, Callable[[Node], bool]] = {
    "compute": lambda n: n.op in _CONVS or n.op in ("linear", "matmul", "attention"),
    "conv": lambda n: n.op in _CONVS,
    "conv_k1": lambda n: n.op in _CONVS and bool(n.kernel) and max(n.kernel) == 1,
    "conv_k3plus": lambda n: n.op in _CONVS and bool(n.kernel) and max(n.kernel) >= 3,
    "pool": lambda n: n.op in ("maxpool", "avgpool"),
    "activation": lambda n: n.op in _ACTIVATIONS,
    "merge": lambda n: n.op in ("add", "mul", "concat"),
}
_KERNEL_BUCKETS = (1, 3, 5, 7)
_RES_BUCKETS = ("res_1", "res_1/2", "res_1/4", "res_1/8_or_less")


def _feature_names() -> list[str]:
    names = ["log_flops", "log_params", "num_nodes", "num_edges", "depth", "log_num_paths"]
    names += [f"count_{op}" for op in COUNTED_OPS]
    names += [f"flops_share_{op}" for op in FLOP_OPS]
    names += [f"params_share_{op}" for op in PARAM_OPS]
    names += [f"conv_k{k}" for k in _KERNEL_BUCKETS] + ["conv_strided", "conv_dilated", "conv_grouped"]
    for s in PATH_SUBSETS:
        names += [f"path_min_{s}", f"path_mean_{s}", f"path_max_{s}"]
    names += ["in_degree_mean", "in_degree_max", "out_degree_mean", "out_degree_max", "merge_nodes", "branch_nodes"]
    names += [f"flops_share_{b}" for b in _RES_BUCKETS]
    names += ["num_resolutions", "log2_max_channels", "log2_mean_channels"]
    return names


#: Name of every column of :func:`graph_features`.
FEATURE_NAMES: tuple[str, ...] = tuple(_feature_names())


def _spatial(shape: tuple[int, ...]) -> int:
    """Height of a (C, H, W) shape; 1 for vectors and token sequences."""
    return shape[1] if len(shape) == 3 else 1


def _path_stats(g: CompGraph, weight: Sequence[float], dead: Sequence[bool]) -> tuple[float, float, float, float]:
    """(min, mean, max) over live input->output paths of the summed node weights, and the number of live paths.

    Paths through a ``dead`` node (a ``zero`` op) carry nothing and are skipped; when no live path exists the
    statistics are -1.
    """
    n = g.num_nodes
    lo = [np.inf] * n
    hi = [-np.inf] * n
    count = [0.0] * n
    total = [0.0] * n          # sum over paths of the path weight up to and including the node
    lo[0] = hi[0] = weight[0]
    count[0], total[0] = 1.0, weight[0]
    for i in range(1, n):
        if dead[i]:
            continue
        for p in g.predecessors[i]:
            if count[p] == 0:
                continue
            lo[i] = min(lo[i], lo[p])
            hi[i] = max(hi[i], hi[p])
            count[i] += count[p]
            total[i] += total[p]
        if count[i]:
            lo[i] += weight[i]
            hi[i] += weight[i]
            total[i] += weight[i] * count[i]
    if count[-1] == 0:
        return -1.0, -1.0, -1.0, 0.0
    return float(lo[-1]), float(total[-1] / count[-1]), float(hi[-1]), float(count[-1])


def graph_features(g: CompGraph) -> np.ndarray:
    """The fixed-length feature vector of ``g`` (columns named by :data:`FEATURE_NAMES`)."""
    nodes = g.nodes
    flops, params = g.flops, g.params
    f: list[float] = [log10(flops + 1), log10(params + 1), float(g.num_nodes), float(g.num_edges)]
    dead = [n.op == "zero" for n in nodes]
    depth = _path_stats(g, [1.0] * len(nodes), [False] * len(nodes))
    live = _path_stats(g, [0.0] * len(nodes), dead)
    f += [depth[2], log10(live[3] + 1)]
    counts = {op: 0 for op in COUNTED_OPS}
    op_flops = {op: 0 for op in FLOP_OPS}
    op_params = {op: 0 for op in PARAM_OPS}
    for n in nodes[1:-1]:
        counts[n.op if n.op in counts else "oov"] += 1
        if n.op in op_flops:
            op_flops[n.op] += n.flops
        if n.op in op_params:
            op_params[n.op] += n.params
    f += [float(counts[op]) for op in COUNTED_OPS]
    f += [op_flops[op] / flops if flops else 0.0 for op in FLOP_OPS]
    f += [op_params[op] / params if params else 0.0 for op in PARAM_OPS]
    convs = [n for n in nodes if n.op in _CONVS]
    kernels = [max(n.kernel) if n.kernel else 1 for n in convs]
    f += [float(sum(min(_KERNEL_BUCKETS, key=lambda b: abs(b - k)) == kb for k in kernels)) for kb in _KERNEL_BUCKETS]
    f += [float(sum(bool(n.stride) and max(n.stride) > 1 for n in convs)),
          float(sum(bool(n.dilation) and max(n.dilation) > 1 for n in convs)),
          float(sum(n.groups > 1 for n in convs))]
    for pred in PATH_SUBSETS.values():
        f += list(_path_stats(g, [float(pred(n)) for n in nodes], dead)[:3])
    indeg = np.array([len(p) for p in g.predecessors], float)
    outdeg = np.array([len(s) for s in g.successors], float)
    f += [float(indeg[1:].mean()), float(indeg.max()), float(outdeg[:-1].mean()), float(outdeg.max()),
          float((indeg > 1).sum()), float((outdeg > 1).sum())]
    in_h = max(_spatial(nodes[0].out_shape), 1)
    res_flops = [0.0] * len(_RES_BUCKETS)
    for n in nodes:
        if n.flops:
            ratio = _spatial(n.out_shape) / in_h
            bucket = min(len(_RES_BUCKETS) - 1, max(0, round(-log2(ratio)))) if ratio > 0 else len(_RES_BUCKETS) - 1
            res_flops[bucket] += n.flops
    f += [v / flops if flops else 0.0 for v in res_flops]
    channels = [n.out_shape[0] for n in nodes if len(n.out_shape) == 3]
    f += [float(len({_spatial(n.out_shape) for n in nodes if len(n.out_shape) == 3})),
          log2(max(channels)) if channels else 0.0, log2(float(np.mean(channels))) if channels else 0.0]
    return np.asarray(f, dtype=np.float64)


def as_graphs(items: Iterable[Any], **context: Any) -> list[CompGraph]:
    """``items`` as computation graphs (anything :func:`nape_plugin.to_graph` accepts; ``context`` goes to it)."""
    from ..convert.api import to_graph
    check_not_sparse(items)
    graphs = [to_graph(x, **context) for x in track(items, "build graphs")]
    if not graphs:
        raise EmptyBatchError("got no architectures; pass a non-empty list of graphs, modules or encodings")
    return graphs


def feature_matrix(items: Iterable[Any], **context: Any) -> np.ndarray:
    """Stack :func:`graph_features` of ``items`` (graphs or anything :func:`nape_plugin.to_graph` accepts)."""
    return np.stack([graph_features(g) for g in track(as_graphs(items, **context), "graph features")])


_BACKENDS = ("hist", "rf", "lightgbm", "xgboost")
#: How labels are turned into regression targets.
TARGETS = ("rank", "zscore")


def _from_normal_scores(z: np.ndarray, z_knots: np.ndarray, y_knots: np.ndarray) -> np.ndarray:
    """Map normal scores back to label units: interpolate the training quantiles, extrapolate linearly past them
    (so the ranking of predictions beyond the best or worst training label is kept)."""
    out = np.interp(z, z_knots, y_knots)
    k = max(1, len(z_knots) // 10)
    for end, sel in ((-1, z > z_knots[-1]), (0, z < z_knots[0])):
        other = -1 - k if end == -1 else k
        dz = z_knots[end] - z_knots[other]
        slope = (y_knots[end] - y_knots[other]) / dz if dz else 0.0
        slope = slope if slope > 0 else (y_knots[-1] - y_knots[0]) / max(z_knots[-1] - z_knots[0], 1e-12)
        out = np.where(sel, y_knots[end] + (z - z_knots[end]) * slope, out)
    return out


class GBDTPredictor(RegressorMixin, BaseEstimator):
    """Gradient-boosted trees (or a random forest) on :func:`graph_features`, with a bagged ensemble for ``std``.

    ``backend``: ``"hist"`` (scikit-learn's HistGradientBoostingRegressor, the default), ``"rf"`` (random forest; the
    spread over its trees is the std), ``"lightgbm"`` or ``"xgboost"`` (if installed). ``n_ensemble`` boosted models are
    fitted on bootstrap resamples when ``n_ensemble > 1``; their mean is the prediction and their spread the std.
    ``min_samples_leaf="auto"`` scales the leaf size with the number of labels so that 20 labels still give splits.
    ``target="rank"`` (default) regresses rank-based normal scores of the labels, mapped back to label units at
    prediction time (robust to the few diverged runs of NAS benchmarks); ``"zscore"`` regresses standardised labels.
    ``fit``/``predict`` take graphs or anything :func:`nape_plugin.to_graph` accepts; keyword arguments such as
    ``space="nb201"`` are passed on to it.
    """

    def __init__(self, backend: str = "hist", n_estimators: int = 300, learning_rate: float = 0.05,
                 max_depth: int | None = 6, min_samples_leaf: int | str = "auto", n_ensemble: int = 5,
                 target: str = "rank", random_state: int | None = 0):
        self.backend = backend
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.n_ensemble = n_ensemble
        self.target = target
        self.random_state = random_state

    def _leaf(self, n: int) -> int:
        if self.min_samples_leaf == "auto":
            return int(np.clip(n // 10, 1, 20))
        return int(self.min_samples_leaf)

    def _model(self, n: int, seed: int):
        leaf = self._leaf(n)
        if self.backend == "hist":
            from sklearn.ensemble import HistGradientBoostingRegressor
            return HistGradientBoostingRegressor(max_iter=self.n_estimators, learning_rate=self.learning_rate,
                                                 max_depth=self.max_depth, min_samples_leaf=leaf,
                                                 early_stopping=False, random_state=seed)
        if self.backend == "rf":
            from sklearn.ensemble import RandomForestRegressor
            return RandomForestRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                         min_samples_leaf=max(1, leaf // 4), max_features=0.5, n_jobs=1,
                                         random_state=seed)
        if self.backend == "lightgbm":
            from lightgbm import LGBMRegressor
            return LGBMRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                 max_depth=-1 if self.max_depth is None else self.max_depth, min_child_samples=leaf,
                                 subsample=0.8, subsample_freq=1, colsample_bytree=0.8, n_jobs=1, random_state=seed,
                                 verbose=-1)
        if self.backend == "xgboost":
            from xgboost import XGBRegressor
            return XGBRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                max_depth=6 if self.max_depth is None else self.max_depth, min_child_weight=leaf,
                                subsample=0.8, colsample_bytree=0.8, n_jobs=1, random_state=seed)
        raise UnknownNameError(f"unknown backend {self.backend!r}; choose one of {', '.join(_BACKENDS)}")

    def fit(self, graphs: Sequence[Any], y: Any, **context: Any) -> GBDTPredictor:
        """Fit on labelled architectures; returns self."""
        X = feature_matrix(graphs, **context)
        y = check_labels(y, len(X), "architectures")
        if len(X) < 2:
            raise EmptyBatchError(f"GBDTPredictor needs at least 2 labelled architectures, got {len(X)}")
        if self.target not in TARGETS:
            raise UnknownNameError(f"unknown target {self.target!r}; choose one of {', '.join(TARGETS)}")
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        if self.target == "rank":
            z = normal_scores(y)
            self.knots_ = (np.sort(z), np.sort(y))
        else:
            z = (y - self.y_mean_) / self.y_scale_
        rng = np.random.default_rng(self.random_state)
        members = 1 if self.backend == "rf" else max(1, int(self.n_ensemble))
        self.models_ = []
        with threadpool_limits(1):   # OpenMP threads cost more than they save on NAS-sized tables
            for _ in range(members):
                idx = np.arange(len(X)) if members == 1 else rng.integers(0, len(X), len(X))
                seed = int(rng.integers(2 ** 31 - 1))
                self.models_.append(self._model(len(X), seed).fit(X[idx], z[idx]))
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, graphs: Sequence[Any], return_std: bool = False, **context: Any):
        """Predicted labels (n,), or ``(mean, std)`` with ``return_std=True``."""
        if not hasattr(self, "models_"):
            raise NotFittedError("GBDTPredictor is not fitted; call fit(graphs, y) first")
        X = feature_matrix(graphs, **context)
        with threadpool_limits(1):
            if self.backend == "rf":
                per = np.stack([t.predict(X) for t in self.models_[0].estimators_])
            else:
                per = np.stack([m.predict(X) for m in self.models_])
        per = _from_normal_scores(per, *self.knots_) if self.target == "rank" else per * self.y_scale_ + self.y_mean_
        mean = per.mean(0)
        return (mean, per.std(0)) if return_std else mean
