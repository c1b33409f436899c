"""NASLib's PredictorEvaluator on NAS-Bench-201 CIFAR-10: the nape estimator, zero-shot and fine-tuned, beside NASLib's
xgb, gcn, bananas and seminas predictors (docs/results.md, "NASLib integration").

NASLib's protocol: per seed, 200 test and up to 1,000 training architectures drawn uniformly from NAS-Bench-201; every
predictor is fitted on the first n training architectures for each train size and scored on the same test set
(NASLib's Spearman, Kendall tau, fit time, query time per architecture). Labels are NASLib's cifar10 VAL_ACCURACY
(validation accuracy on cifar10-valid after 200 epochs) from ../shared/data/nb201/nb201.csv. NASLib's predictors run
with their default hyperparameters (NASLib's cross-validation HPO is off, ``max_hpo_time=0``).

Every row keeps the test architectures, labels and predictions, so ``--table --unseen`` can also score the estimator
on the test architectures its pretraining did not label (the shipped ``default`` model saw 6,000 NAS-Bench-201 cells
with their CIFAR-10 test accuracy; the pretraining set is recomputed from the model card's config and seed).

Needs an environment where NASLib imports (docs/naslib.md). Each (predictor, seed) is appended to --out as it finishes;
a rerun skips what is there.

    python benchmarks/naslib_predictors.py --out naslib_predictors.jsonl
    python benchmarks/naslib_predictors.py --out naslib_predictors.jsonl --table --unseen
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
from scipy import stats

from nape_naslib.evaluate import dataset_api, evaluate, format_table, summarise

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT.parent / "shared" / "data" / "nb201" / "nb201.csv"
TRAIN_SIZES = [8, 14, 24, 42, 71, 121, 205, 1000]
PREDICTORS = ["nape_zeroshot", "nape", "xgb", "gcn", "bananas", "seminas"]


def load_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def estimator_file(spec: str) -> Path:
    """The weights file of a pretrained name or a saved estimator's path."""
    from nape_plugin.gennape.pretrained import HERE
    path = Path(spec)
    return path if path.is_file() else HERE / f"{spec}.pt"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else ""


def pretraining_arch_ids(spec: str, family: str = "nb201") -> set[str]:
    """``arch_id``s of ``family`` whose labels the estimator's pretraining used, recomputed from its card with
    ``nape_plugin.gennape.recipe.training_rows``."""
    from nape_plugin.data import datasets
    from nape_plugin.gennape import recipe as pretrain
    from nape_naslib.predictor import load_estimator
    card = load_estimator(spec).card_
    config = card.get("config", {})
    train = next((t for t in config.get("train", []) if t["family"] == family), None)
    if train is None:
        return set()
    record = next(r for r in card["training_data"] if r["family"] == family)
    ds = datasets.load(family, metric=record["metric"])
    keep, _ = pretrain.training_rows(config, train, ds)
    if len(keep) != record["n"]:
        raise RuntimeError(f"recomputed {len(keep)} pretraining cells of {family}, the card says {record['n']}")
    return {ds.space.arch_id(ds.archs[i]) for i in keep}


def unseen_table(rows: list[dict], seen: set[str]) -> str:
    """Spearman and Kendall tau on the test architectures outside ``seen``, mean ± std over seeds."""
    groups: dict[tuple[str, int], list[tuple[float, float, int]]] = {}
    for r in rows:
        mask = np.array([a not in seen for a in r["test_archs"]])
        y, pred = np.asarray(r["test_y"])[mask], np.asarray(r["test_pred"])[mask]
        groups.setdefault((r["predictor"], r["train_size"]), []).append(
            (stats.spearmanr(y, pred)[0], stats.kendalltau(y, pred)[0], int(mask.sum())))
    lines = ["| predictor | train size | seeds | unseen test archs | Spearman (unseen) | Kendall tau (unseen) |",
             "|---|---:|---:|---:|---|---|"]
    for (name, n), vals in groups.items():
        rho, tau, m = (np.array(v, dtype=float) for v in zip(*vals))
        lines.append(f"| {name} | {n} | {len(vals)} | {m.mean():.0f} | {rho.mean():.3f} ± {rho.std():.3f} | "
                     f"{tau.mean():.3f} ± {tau.std():.3f} |")
    return "\n".join(lines)


def wide_table(summary: list[dict], metric: str) -> str:
    """One row per predictor, one column per train size: the mean of ``metric`` over seeds (seed count if < 5)."""
    sizes = sorted({r["train_size"] for r in summary})
    cells: dict[str, dict[int, str]] = {}
    for r in summary:
        note = "" if r["seeds"] >= 5 else f" ({r['seeds']})"
        cells.setdefault(r["predictor"], {})[r["train_size"]] = f"{r[metric]:.3f}{note}"
    lines = [f"| {metric} | " + " | ".join(str(n) for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    lines += [f"| {name} | " + " | ".join(row.get(n, "") for n in sizes) + " |" for name, row in cells.items()]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--predictors", nargs="+", default=PREDICTORS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--train-sizes", nargs="+", type=int, default=TRAIN_SIZES)
    ap.add_argument("--test-size", type=int, default=200)
    ap.add_argument("--estimator", default="default", help="pretrained name or saved estimator file")
    ap.add_argument("--labels", type=Path, default=TABLE)
    ap.add_argument("--out", type=Path, default=Path("naslib_predictors.jsonl"))
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--table", action="store_true", help="only print the summary of --out")
    ap.add_argument("--wide", action="store_true", help="also print Spearman and Kendall tau with a column per size")
    ap.add_argument("--unseen", action="store_true",
                    help="also score the estimator rows on the test architectures its pretraining did not label")
    args = ap.parse_args()

    if not args.table:
        import torch
        torch.set_num_threads(args.threads)
        os.environ["NAPE_THREADS"] = str(args.threads)       # nape's calls too (nape_plugin.utils.threads)
        digest = file_digest(estimator_file(args.estimator))
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
                        f.write(json.dumps({**r, "estimator": args.estimator, "estimator_sha256": digest}) + "\n")
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
    summary = sorted(summarise(rows), key=lambda r: (r["train_size"], order[r["predictor"]]))
    print(format_table(summary))
    if args.wide:
        by_name = sorted(summary, key=lambda r: (order[r["predictor"]], r["train_size"]))
        print("\n" + wide_table(by_name, "spearman") + "\n\n" + wide_table(by_name, "kendalltau"))
    if args.unseen:
        seen = pretraining_arch_ids(args.estimator)
        ours = sorted((r for r in rows if r["predictor"].startswith("nape") and "test_archs" in r),
                      key=lambda r: (r["train_size"], order[r["predictor"]]))
        print(f"\n{len(seen)} NAS-Bench-201 cells labelled in the pretraining of {args.estimator!r}")
        print(unseen_table(ours, seen))


if __name__ == "__main__":
    main()
