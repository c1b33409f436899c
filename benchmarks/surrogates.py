"""Cheap surrogates against each other (and the estimator, when given) at the same label budgets.

    python benchmarks/surrogates.py                                   # nb101, nb201, nb301; 5 seeds
    python benchmarks/surrogates.py --families nb201 --estimator default
    python benchmarks/surrogates.py --families nb301 --estimator gennape-nb101 --stats-pretrain 2000 --no-trees

Per family and seed, a random permutation of the table (NB101: a fixed random pool of 6,000 rows) gives a test set of
the last ``--test`` rows (NB301: every row not used for training) and nested training sets of 20/50/128/1,000 rows
(NB301: 20/50/128/400). Trained surrogates: gradient-boosted trees on the CG features of nape_plugin.predictors.gbdt with
scikit-learn's HistGradientBoostingRegressor (``gbdt``, the default; also with z-scored instead of rank-normalised
labels), LightGBM and XGBoost, and a random forest;
training-free: FLOPs and params from the CG and, on NB201 and TNB101, the published zero-cost proxies of the table
(scored on the test cells that have them). With ``--estimator NAME``, the pretrained estimator zero-shot and fine-tuned
with ``fit(graphs, y)`` on the same training sets; with ``--stats-pretrain N`` also after pretraining it on free
statistics (FBNetV3, ``est.pretrain_on_statistics``: standardised log FLOPs + log params of N unlabelled graphs of
the family) first, the whole network (``--stats-mode full``) or the heads only. Reported: Spearman and Kendall tau on the test set (mean ± std over
seeds), fit time, and query time per architecture (features + model, graphs already built; the time to build a graph
is printed per family).
"""
from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scipy.stats import kendalltau, spearmanr  # noqa: E402

from nape_plugin.data import datasets  # noqa: E402
from nape_plugin.predictors.gbdt import GBDTPredictor  # noqa: E402
from nape_plugin.gennape.pretrained import resolve  # noqa: E402

BUDGETS = {"nb101": [20, 50, 128, 1000], "nb201": [20, 50, 128, 1000], "nb301": [20, 50, 128, 400],
           "tnb101_micro": [20, 50, 128, 1000]}
TRAINED = {"gbdt (hist)": dict(backend="hist"), "gbdt (hist, z-scored labels)": dict(backend="hist", target="zscore"),
           "gbdt (lightgbm)": dict(backend="lightgbm"), "gbdt (xgboost)": dict(backend="xgboost"),
           "random forest": dict(backend="rf", n_estimators=300)}
#: ``--trees`` keys of the TRAINED rows.
TREES = dict(zip(("hist", "zscore", "lightgbm", "xgboost", "rf"), TRAINED))
PUBLISHED = {"nb201": ("nb201/nb201_zc_proxies_c10.csv", "net_str", ("synflow", "jacov", "nwot", "snip")),
             "tnb101_micro": ("tnb101/tnb101_micro_class_scene.csv", "net", ("synflow", "jacov", "nwot", "snip"))}


def load(family: str, pool: int):
    path = datasets.default_root() / datasets.FAMILIES[family].path
    with open(path, newline="") as fh:
        n_rows = sum(1 for _ in csv.reader(fh)) - 1
    rows = np.random.default_rng(0).permutation(n_rows)[:pool] if pool and pool < n_rows else np.arange(n_rows)
    t = time.perf_counter()
    ds = datasets.load(family, indices=rows.tolist())
    t_build = time.perf_counter()
    ds.space.to_graph(ds.archs[0])
    for a in ds.archs[:200]:
        ds.space.to_graph(a)
    per_graph = (time.perf_counter() - t_build) / 200
    print(f"{family}: {len(ds)} architectures loaded in {time.perf_counter() - t:.0f} s; direct graph build "
          f"{1e3 * per_graph:.2f} ms per architecture", flush=True)
    return ds


def published_proxies(family: str, ds) -> dict[str, np.ndarray]:
    if family not in PUBLISHED:
        return {}
    file, key, names = PUBLISHED[family]
    with open(datasets.default_root() / file, newline="") as fh:
        table = {ds.space.parse(datasets.FAMILIES[family].decode(r[key]) if family != "nb201" else r[key]):
                 r for r in csv.DictReader(fh)}
    return {n: np.array([float(table[a][n]) if a in table else np.nan for a in ds.archs]) for n in names}


def _scores(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(pred)
    return spearmanr(pred[ok], y[ok]).statistic, kendalltau(pred[ok], y[ok]).statistic


def load_estimator(name: str):
    """A pretrained estimator by registered name, or from a file saved with ``est.save``."""
    return resolve(name)


def run(family: str, ds, seeds: int, n_test: int, estimator: str | None, stats: int = 0,
        stats_epochs: int = 10, stats_mode: str = "full") -> list[str]:
    y, graphs = ds.labels, ds.graphs
    n = len(y)
    budgets = [b for b in BUDGETS[family] if b < n - 50]
    results: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
    zero_shot = {"flops": np.array([g.flops for g in graphs], float),
                 "params": np.array([g.params for g in graphs], float), **published_proxies(family, ds)}
    est = None
    label = Path(estimator).stem if estimator and estimator.endswith(".pt") else estimator
    if estimator:
        est = load_estimator(estimator)
        t = time.perf_counter()
        zero_shot[f"estimator {label} (zero-shot)"] = est.predict(graphs, progress=False)
        print(f"estimator zero-shot: {1e3 * (time.perf_counter() - t) / n:.2f} ms per architecture", flush=True)
    for seed in range(seeds):
        perm = np.random.default_rng(seed).permutation(n)
        test = perm[-min(n_test, n - max(budgets)):]
        tg = [graphs[i] for i in test]
        stats_est = None
        if est is not None and stats:
            pool = [graphs[i] for i in perm[:len(perm) - len(test)][:stats]]    # unlabelled: no test graph
            stats_est = load_estimator(estimator)
            t = time.perf_counter()
            stats_est.pretrain_on_statistics(pool, epochs=stats_epochs, mode=stats_mode)
            stats_s = time.perf_counter() - t
            print(f"  pretrained ({stats_mode}) on free statistics of {len(pool)} graphs in {stats_s:.0f} s",
                  flush=True)
        for name, values in zero_shot.items():
            results.setdefault((name, 0), []).append((*_scores(values[test], y[test]), 0.0, float("nan")))
        for b in budgets:
            tr = perm[:b]
            trg = [graphs[i] for i in tr]
            for name, kw in TRAINED.items():
                t = time.perf_counter()
                m = GBDTPredictor(random_state=seed, **kw).fit(trg, y[tr])
                fit_s = time.perf_counter() - t
                t = time.perf_counter()
                p = m.predict(tg)
                q_ms = 1e3 * (time.perf_counter() - t) / len(tg)
                results.setdefault((name, b), []).append((*_scores(p, y[test]), fit_s, q_ms))
            if est is not None:
                ft = load_estimator(estimator)
                t = time.perf_counter()
                ft.fit(trg, y[tr])
                fit_s = time.perf_counter() - t
                t = time.perf_counter()
                p = ft.predict(tg, progress=False)
                q_ms = 1e3 * (time.perf_counter() - t) / len(tg)
                results.setdefault((f"estimator {label} (fine-tuned)", b), []).append(
                    (*_scores(p, y[test]), fit_s, q_ms))
            if stats_est is not None:
                ft = copy.deepcopy(stats_est)
                t = time.perf_counter()
                ft.fit(trg, y[tr])
                fit_s = time.perf_counter() - t
                p = ft.predict(tg, progress=False)
                key = f"estimator {label} (pretrained on FLOPs+params [{stats_mode}], fine-tuned)"
                results.setdefault((key, b), []).append((*_scores(p, y[test]), fit_s, float("nan")))
        print(f"  {family} seed {seed} done", flush=True)
    out = []
    for (name, b), vals in results.items():
        v = np.array(vals, dtype=float)
        q = f"{np.nanmean(v[:, 3]):.3f}" if np.isfinite(v[:, 3]).any() else "-"
        out.append(f"| {family} | {name} | {b} | {v[:, 0].mean():.3f} ± {v[:, 0].std():.3f} | "
                   f"{v[:, 1].mean():.3f} ± {v[:, 1].std():.3f} | {v[:, 2].mean():.2f} | {q} |")
    print("\n".join(out), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+", default=["nb101", "nb201", "nb301"], choices=list(BUDGETS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--pool", type=int, default=6000, help="random rows of NB101 used (0: all)")
    ap.add_argument("--estimator",
                    help="also score this pretrained estimator (a name, or a .pt file), zero-shot and fine-tuned")
    ap.add_argument("--stats-pretrain", type=int, default=0, metavar="N",
                    help="also fine-tune the estimator after pretraining its heads on the free statistics (log FLOPs "
                         "+ log params, FBNetV3) of N unlabelled non-test graphs of the family")
    ap.add_argument("--stats-epochs", type=int, default=10, help="epochs of that pretraining")
    ap.add_argument("--stats-mode", default="full", choices=("heads", "full"),
                    help="what that pretraining trains: the heads on fixed embeddings, or the whole network")
    ap.add_argument("--budgets", type=int, nargs="+", help="label budgets (default: per family)")
    ap.add_argument("--no-trees", action="store_true", help="skip the tree surrogates (estimator rows only)")
    ap.add_argument("--trees", nargs="+", choices=list(TREES), default=list(TREES),
                    help="tree surrogates to run (default: all; lightgbm and xgboost need those packages)")
    args = ap.parse_args()
    for key, name in TREES.items():
        if key not in args.trees:
            del TRAINED[name]
    rows = []
    for fam in args.families:
        ds = load(fam, args.pool if fam == "nb101" else 0)
        if args.budgets:
            BUDGETS[fam] = args.budgets
        if args.no_trees:
            TRAINED.clear()
        rows += run(fam, ds, args.seeds, args.test, args.estimator, args.stats_pretrain, args.stats_epochs,
                    args.stats_mode)
    print(f"\n| family | surrogate | labels | Spearman | Kendall tau | fit (s) | query (ms/arch) |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
