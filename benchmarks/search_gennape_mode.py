"""GENNAPE's search mode on NAS-Bench-201 (docs/results.md, "Search"): from a given cell, find one the estimator
predicts to be more accurate at fewer FLOPs, and check it against the true CIFAR-10 test accuracy.

    python benchmarks/search_gennape_mode.py --scorer gennape-nb101 --starts 10 --budget 300

Start cells: ``--starts`` random cells (seed 0) whose true accuracy lies between 93.0 and 93.5% and whose FLOPs are
above the median, the situation of GENNAPE's Table 7 (a good cell, 313M FLOPs / 93.27%, improved to 283M / 93.62%).
For each, ``nape.search(..., start=cell)`` queries ``--budget`` cells; the pick is the first of ``result.improved``
(highest predicted score among the queried cells with fewer FLOPs than the start). Reported per start: true accuracy
and FLOPs (the benchmark's own ``flops_M_linfit``) before and after, and over all starts how often the pick is truly
better on both.
"""
from __future__ import annotations

import argparse

import numpy as np

import nape_plugin as nape
from search_nb201 import truth as nb201_truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scorer", default="gennape-nb101", help="pretrained estimator or registered predictor name")
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--budget", type=int, default=300)
    args = ap.parse_args()

    space = nape.spaces.get("nb201")
    truth = {a: (acc, f) for a, acc, f in zip(*nb201_truth(space))}
    flops_median = np.median([f for _, f in truth.values()])
    pool = sorted((a for a, (acc, f) in truth.items() if 93.0 <= acc <= 93.5 and f > flops_median), key=str)
    rng = np.random.default_rng(0)
    starts = [pool[i] for i in rng.choice(len(pool), args.starts, replace=False)]

    print("| start: acc (%) / MFLOPs | found: acc (%) / MFLOPs | accuracy change | FLOPs change |\n|---|---|---|---|")
    gains, cuts, both = [], [], 0
    for i, start in enumerate(starts):
        result = nape.search(space, args.scorer, budget=args.budget, start=start, seed=i, progress=False)
        acc0, f0 = truth[start]
        if not result.improved:
            print(f"| {acc0:.2f} / {f0:.1f} | none predicted better | | |")
            continue
        acc1, f1 = truth[result.improved[0]["arch"]]
        gains.append(acc1 - acc0)
        cuts.append(1 - f1 / f0)
        both += acc1 > acc0 and f1 < f0
        print(f"| {acc0:.2f} / {f0:.1f} | {acc1:.2f} / {f1:.1f} | {acc1 - acc0:+.2f} | {-100 * (1 - f1 / f0):+.0f}% |",
              flush=True)
    print(f"\n{args.scorer}, {args.budget} queries per start: a pick for {len(gains)} of {len(starts)} starts; "
          f"accuracy change {np.mean(gains):+.2f} ± {np.std(gains):.2f} points (median {np.median(gains):+.2f}), "
          f"FLOPs {-100 * np.mean(cuts):+.0f}% on average; truly better on both in {both} of {len(gains)}")


if __name__ == "__main__":
    main()
