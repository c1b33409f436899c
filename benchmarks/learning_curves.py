"""Learning-curve extrapolation and the early-stopping rule on the real curves in ../shared/data.

    python benchmarks/learning_curves.py                       # both families, 5 seeds
    python benchmarks/learning_curves.py --families nb201 --seeds 2

Part 1, extrapolation: predict the final accuracy (NB101: 108-epoch validation accuracy from the 4/12/36-epoch
values; NB201: 200-epoch CIFAR-10 test accuracy from the 12-epoch validation accuracy) with
``LearningCurvePredictor`` trained on 100 or 1,000 runs and tested on 2,000 others: R^2, Spearman and Kendall tau,
beside the last observed value alone (a linear fit of it, for R^2) and the curve-only predictor.

Part 2, early stopping: replay a sequential search over 1,000 random architectures; the first 100 train fully and fit
the predictors (one per checkpoint), every later run is stopped as soon as P(final > best so far) < delta. Reported:
speedup (epochs without the rule / with it), runs stopped, and regret of the final pick (best final accuracy among
the 1,000 minus that of the best fully trained run), in accuracy points. Two costings: the partial points read off the
final run itself (checkpoints at epochs 4/12/36 of 108; 12 of 200), and, as the benchmarks actually recorded them,
separate shorter runs with their own schedules (NB101: 4, 4+12, 4+12+36 epochs, then 108 more; NB201: 12, then 200).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scipy.stats import kendalltau, spearmanr  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.metrics import mean_absolute_error, r2_score  # noqa: E402

from nape_plugin.data import datasets  # noqa: E402
from nape_plugin.predictors.learning_curves import LearningCurvePredictor, arch_features, simulate_early_stopping  # noqa: E402

#: family: (curve columns, final column, checkpoint epochs, final epoch, accuracy scale to percent)
FAMILIES = {
    "nb101": (["4_final_validation_accuracy", "12_final_validation_accuracy", "36_final_validation_accuracy"],
              "108_final_validation_accuracy", [4, 12, 36], 108, 100.0),
    "nb201": (["c10valid_val_12ep"], "c10_test_200ep", [12], 200, 1.0),
}


def load_pool(family: str, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Curves, final accuracies and architecture features of ``size`` random rows (fixed seed) of the table."""
    cols, final, *_ = FAMILIES[family]
    with open(datasets.default_root() / datasets.FAMILIES[family].path, newline="") as fh:
        n_rows = sum(1 for _ in csv.reader(fh)) - 1
    rows = np.random.default_rng(0).permutation(n_rows)[:size]
    t = time.perf_counter()
    ds = datasets.load(family, metric=final, indices=rows.tolist())
    curves = np.stack([ds.metadata[c] for c in cols], 1)
    arch = arch_features(ds.graphs)
    print(f"{family}: {len(ds)} runs with graphs in {time.perf_counter() - t:.0f} s", flush=True)
    return curves, ds.labels, arch


def extrapolation(family: str, curves, y, arch, train_sizes, n_test: int, seeds: int) -> list[str]:
    k_all = curves.shape[1]
    scale = FAMILIES[family][4]
    out = []
    for n_train in train_sizes:
        for k in range(1, k_all + 1):
            res: dict[str, list[tuple[float, ...]]] = {"last value": [], "SVR, curve": [],
                                                                "SVR, curve + arch": []}
            t_fit = []
            for seed in range(seeds):
                idx = np.random.default_rng(seed).permutation(len(y))
                tr, te = idx[:n_train], idx[n_train:n_train + n_test]
                c_tr, c_te = curves[tr, :k], curves[te, :k]
                lin = LinearRegression().fit(c_tr[:, -1:], y[tr])
                last = c_te[:, -1]
                p = lin.predict(c_te[:, -1:])
                res["last value"].append((r2_score(y[te], p), spearmanr(last, y[te]).statistic,
                                          kendalltau(last, y[te]).statistic, mean_absolute_error(y[te], p) * scale))
                for name, use_arch in (("SVR, curve", False), ("SVR, curve + arch", True)):
                    t = time.perf_counter()
                    m = LearningCurvePredictor(use_arch=use_arch, random_state=seed).fit(
                        c_tr, y[tr], arch[tr] if use_arch else None)
                    t_fit.append(time.perf_counter() - t)
                    p = m.predict(c_te, arch[te] if use_arch else None)
                    res[name].append((r2_score(y[te], p), spearmanr(p, y[te]).statistic,
                                      kendalltau(p, y[te]).statistic, mean_absolute_error(y[te], p) * scale))
            for name, vals in res.items():
                v = np.array(vals)
                seen = ", ".join(str(e) for e in FAMILIES[family][2][:k])
                cells = " | ".join(f"{v[:, j].mean():.3f} ± {v[:, j].std():.3f}" for j in range(3))
                out.append(f"| {family} | {n_train} | {seen} | {name} | {cells} | {v[:, 3].mean():.2f} |")
            print(out[-1], f"(fit {np.mean(t_fit):.1f} s)", flush=True)
    return out


def early_stopping(family: str, curves, y, arch, deltas, n_runs: int, n_warmup: int, seeds: int) -> list[str]:
    cols, final, checkpoints, final_epoch, scale = FAMILIES[family]
    separate = list(np.cumsum(checkpoints))             # epochs spent when each separate run has finished
    separate_run = separate[-1] + final_epoch
    out = []
    for delta in deltas:
        rows = []
        for seed in range(seeds):
            idx = np.random.default_rng(100 + seed).permutation(len(y))[:n_runs]
            t = time.perf_counter()
            r = simulate_early_stopping(curves[idx], y[idx], checkpoints, final_epoch, arch[idx], delta=delta,
                                        n_warmup=n_warmup,
                                        predictor_factory=lambda s=seed: LearningCurvePredictor(random_state=s))
            completed = n_runs - r["stopped"]
            sep_epochs = completed * separate_run + sum(c * e for c, e in zip(r["stopped_at"], separate))
            rows.append((r["speedup"], r["epochs_full"] / sep_epochs, r["stopped"] / n_runs, r["regret"] * scale,
                         float(r["regret"] > 0)))
            print(f"  {family} delta={delta} seed={seed}: {r} ({time.perf_counter() - t:.0f} s)", flush=True)
        v = np.array(rows)
        out.append(f"| {family} | {delta} | {v[:, 0].mean():.2f} ± {v[:, 0].std():.2f} | "
                   f"{v[:, 1].mean():.2f} ± {v[:, 1].std():.2f} | {100 * v[:, 2].mean():.0f}% | "
                   f"{v[:, 3].mean():.3f} ± {v[:, 3].std():.3f} (max {v[:, 3].max():.3f}) | "
                   f"{int(v[:, 4].sum())}/{seeds} |")
        print(out[-1], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--train-sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=1000, help="architectures per simulated search")
    ap.add_argument("--warmup", type=int, default=100, help="fully trained runs before the rule applies")
    ap.add_argument("--deltas", type=float, nargs="+", default=[0.01, 0.05])
    ap.add_argument("--pool", type=int, default=6000, help="random table rows used (graphs are built for these)")
    ap.add_argument("--parts", nargs="+", default=["extrapolation", "early-stopping"],
                    choices=["extrapolation", "early-stopping"])
    args = ap.parse_args()
    ext, es = [], []
    for fam in args.families:
        curves, y, arch = load_pool(fam, args.pool)
        if "extrapolation" in args.parts:
            ext += extrapolation(fam, curves, y, arch, args.train_sizes, args.test, args.seeds)
        if "early-stopping" in args.parts:
            es += early_stopping(fam, curves, y, arch, args.deltas, args.runs, args.warmup, args.seeds)
    print(f"\nExtrapolation (test {args.test} runs, {args.seeds} seeds, mean ± std)\n")
    print("| family | train runs | epochs seen | predictor | R^2 | Spearman | Kendall tau | MAE (points) |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(ext))
    print(f"\nEarly stopping ({args.runs} runs per search, {args.warmup} warm-up, {args.seeds} seeds)\n")
    print("| family | delta | speedup (points read off the run) | speedup (separate shorter runs) | runs stopped | "
          "regret (accuracy points) | searches with regret > 0 |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(es))


if __name__ == "__main__":
    main()
