"""``nape evaluate``: the evaluation protocols of docs/results.md for any estimator and benchmark family.

* zero-shot: score every architecture of a family with a trained estimator.
* few-shot: fine-tune (a clone of) the estimator on k labelled architectures of the family, test on the rest, over
  several seeds.
* in-domain: train a fresh estimator (or any registered predictor) on n architectures, test on the rest.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.base import clone

from .. import metrics
from ..data import datasets
from ..errors import ParameterError
from ..gennape.finetuning import FINETUNE_MODES
from ..graph.packed import PackedGraphs
from ..utils.files import atomic_write
from .inputs import output_file, positive_int


def _report(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {k: round(v, 4) for k, v in metrics.report(y, pred).items()}


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    keys = runs[0].keys()
    return {"runs": runs, **{f"{k}_mean": round(float(np.mean([r[k] for r in runs])), 4) for k in keys},
            **{f"{k}_std": round(float(np.std([r[k] for r in runs])), 4) for k in keys}}


def zero_shot(est: Any, graphs: Sequence | PackedGraphs, y: np.ndarray) -> dict[str, Any]:
    """Metrics of ``est.predict`` on every graph."""
    t = time.perf_counter()
    pred = est.predict(graphs)
    return {**_report(y, pred), "n": len(y), "predict_s": round(time.perf_counter() - t, 2)}


def _check_split(n_train: int, n: int, seeds: Sequence[int], what: str) -> None:
    """ParameterError unless ``n_train`` leaves at least two graphs to test on and ``seeds`` is not empty."""
    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)) or not 1 <= n_train <= n - 2:
        raise ParameterError(f"{what} must be an int from 1 to {n - 2} (the data has {n} graphs and at least 2 are "
                             f"tested on), got {n_train!r:.40}")
    if len(seeds) == 0:
        raise ParameterError("give at least one seed")


def few_shot(est: Any, graphs: Sequence | PackedGraphs, y: np.ndarray, shots: int, seeds: Sequence[int],
             mode: str | None = None) -> dict[str, Any]:
    """Fine-tune a clone of ``est`` (from its start) on ``shots`` random graphs per seed, test on all the others."""
    _check_split(shots, len(y), seeds, "shots")
    packed = graphs if isinstance(graphs, PackedGraphs) else PackedGraphs(graphs)
    runs = []
    for seed in seeds:
        perm = np.random.default_rng(seed).permutation(len(y))
        train, test = perm[:shots], perm[shots:]
        tuned = clone(est)
        t = time.perf_counter()
        tuned.fit(packed.subset(train), y[train], mode=mode)
        fit_s = time.perf_counter() - t
        runs.append({**_report(y[test], tuned.predict(packed.subset(test))), "fit_s": round(fit_s, 2)})
    return {"shots": shots, "n_test": len(y) - shots, **_summary(runs)}


def in_domain(factory: Callable[[int], Any], graphs: Sequence | PackedGraphs, y: np.ndarray, n_train: int,
              seeds: Sequence[int], n_test: int | None = None) -> dict[str, Any]:
    """Train ``factory(seed)`` from scratch on ``n_train`` random graphs per seed; test on the rest (or ``n_test``)."""
    _check_split(n_train, len(y), seeds, "n_train")
    packed = graphs if isinstance(graphs, PackedGraphs) else PackedGraphs(graphs)
    runs = []
    for seed in seeds:
        perm = np.random.default_rng(seed).permutation(len(y))
        train, test = perm[:n_train], perm[n_train:]
        if n_test is not None:
            test = test[:n_test]
        t = time.perf_counter()
        model = factory(seed).fit(packed.subset(train), y[train])
        fit_s = time.perf_counter() - t
        runs.append({**_report(y[test], model.predict(packed.subset(test))), "fit_s": round(fit_s, 2)})
    return {"n_train": n_train, "n_test": len(test), **_summary(runs)}


# ------------------------------------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("family", choices=datasets.families(), help="benchmark family to evaluate on")
    parser.add_argument("--model", default="default", help="pretrained model name or a saved estimator file")
    parser.add_argument("--metric", default=None, help="label column (default: the family's standard metric)")
    parser.add_argument("--shots", type=positive_int, nargs="*", default=[],
                        help="also fine-tune on this many samples")
    parser.add_argument("--seeds", type=positive_int, default=5, help="seeds of the few-shot runs")
    parser.add_argument("--mode", default=None, choices=FINETUNE_MODES,
                        help="fine-tuning mode (default: the estimator's choice)")
    parser.add_argument("--data-root", default=None, help="benchmark tables folder")
    parser.add_argument("--json", default=None, type=output_file, help="also write the results to this JSON file")


def run(args: argparse.Namespace) -> int:
    from ..gennape.pretrained import resolve
    est = resolve(args.model)
    ds = datasets.load(args.family, metric=args.metric, root=args.data_root)
    for k in args.shots:
        _check_split(k, len(ds), range(args.seeds), "--shots")
    packed = PackedGraphs(ds.graphs)
    out: dict[str, Any] = {"model": args.model, "family": args.family, "metric": ds.metric,
                           "zero_shot": zero_shot(est, packed, ds.labels)}
    z = out["zero_shot"]
    print(f"{args.model} on {args.family} ({ds.metric}, n={z['n']}): zero-shot SRCC {z['srcc']:.4f}  "
          f"Kendall tau {z['kendall_tau']:.4f}  NDCG@10 {z['ndcg@10']:.4f}  ({z['predict_s']} s)")
    for k in args.shots:
        r = few_shot(est, packed, ds.labels, k, range(args.seeds), args.mode)
        out[f"few_shot_{k}"] = r
        print(f"  {k:>4}-shot: SRCC {r['srcc_mean']:.4f} +- {r['srcc_std']:.4f}  Kendall tau "
              f"{r['kendall_tau_mean']:.4f} +- {r['kendall_tau_std']:.4f}  (fit {r['fit_s_mean']:.1f} s, "
              f"{args.seeds} seeds)")
    if args.json:
        atomic_write(args.json, json.dumps(out, indent=1).encode())
    return 0
