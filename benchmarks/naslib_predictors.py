"""NASLib's PredictorEvaluator on NAS-Bench-201 CIFAR-10: the nape estimator, zero-shot and fine-tuned, beside NASLib's
xgb, gcn, bananas and seminas predictors (docs/results.md, "NASLib integration").

NASLib's protocol: per seed, 200 test and up to 1,000 training architectures drawn uniformly from NAS-Bench-201; every
predictor is fitted on the first n training architectures for each train size and scored on the same test set
(NASLib's Spearman, Kendall tau, fit time, query time per architecture). Labels are NASLib's cifar10 VAL_ACCURACY
(validation accuracy on cifar10-valid after 200 epochs) from ../shared/data/nb201/nb201.csv. NASLib's predictors run
with their default hyperparameters (NASLib's cross-validation HPO is off, ``max_hpo_time=0``).

Needs an environment where NASLib imports (docs/naslib.md). Each (predictor, seed) is appended to --out as it finishes;
a rerun skips what is there.

    python benchmarks/naslib_predictors.py --out naslib_predictors.jsonl
    python benchmarks/naslib_predictors.py --out naslib_predictors.jsonl --table
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nape_naslib.evaluate import dataset_api, evaluate, format_table, summarise

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT.parent / "shared" / "data" / "nb201" / "nb201.csv"
TRAIN_SIZES = [8, 14, 24, 42, 71, 121, 205, 1000]
PREDICTORS = ["nape_zeroshot", "nape", "xgb", "gcn", "bananas", "seminas"]


def load_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--predictors", nargs="+", default=PREDICTORS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--train-sizes", nargs="+", type=int, default=TRAIN_SIZES)
    ap.add_argument("--test-size", type=int, default=200)
    ap.add_argument("--estimator", default="default", help="pretrained name or saved estimator file")
    ap.add_argument("--labels", type=Path, default=TABLE)
    ap.add_argument("--out", type=Path, default=Path("naslib_predictors.jsonl"))
    ap.add_argument("--table", action="store_true", help="only print the summary of --out")
    args = ap.parse_args()

    if not args.table:
        api = dataset_api("nasbench201", "cifar10", args.labels)
        done = {(r["predictor"], r["seed"]) for r in load_rows(args.out)}
        for seed in args.seeds:                      # seed-major: an interrupted run has every predictor's first seeds
            for name in args.predictors:
                if (name, seed) in done:
                    continue
                start = time.perf_counter()
                rows = evaluate(name, seed, api, "nasbench201", "cifar10", args.train_sizes, args.test_size,
                                args.estimator)
                with args.out.open("a") as f:
                    for r in rows:
                        f.write(json.dumps({**r, "estimator": args.estimator}) + "\n")
                print(f"{name} seed {seed} ({time.perf_counter() - start:.0f} s): "
                      + ", ".join(f"n={r['train_size']} rho={r['spearman']:.3f}" for r in rows), flush=True)
    rows = [r for r in load_rows(args.out) if r["predictor"] in args.predictors and r["seed"] in args.seeds]
    digests = {}
    for r in rows:                                   # every predictor must have seen the same test set per seed
        digests.setdefault(r["seed"], set()).add(r["test_digest"])
    mixed = sorted(s for s, d in digests.items() if len(d) > 1)
    if mixed:
        print(f"warning: seeds {mixed} have differing test sets across predictors")
    order = {n: i for i, n in enumerate(args.predictors)}
    print(format_table(sorted(summarise(rows), key=lambda r: (r["train_size"], order[r["predictor"]]))))


if __name__ == "__main__":
    main()
