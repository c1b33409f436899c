"""BANANAS on NAS-Bench-201 CIFAR-10 with the nape estimator vs NASLib's default BANANAS ensemble (docs/results.md,
"NASLib integration").

Both runs use NASLib's own ``Bananas`` loop and NASLib's BANANAS settings for NAS-Bench-201 (10 random initial
architectures, then rounds of k=10 chosen by ITS over 100 candidates mutated from the 2 best, refitting the predictor
every round). ``naslib``: NASLib's default predictor, an ensemble of 3 MLPs on the path encoding. ``nape``:
``NapeBananas`` (the two-line change), the estimator fine-tuned on the queried architectures each round, its heads as
the ensemble. ``random``: 100 uniformly sampled architectures, for scale. Each query reveals NASLib's cifar10
VAL_ACCURACY (cifar10-valid validation accuracy); the table also reports the CIFAR-10 test accuracy of the best
architecture found (by validation accuracy), read from ../shared/data/nb201/nb201.csv.

Needs an environment where NASLib imports (docs/naslib.md). Runs are appended to --out; a rerun skips finished ones.

    python benchmarks/naslib_search.py --out naslib_search.jsonl
    python benchmarks/naslib_search.py --out naslib_search.jsonl --table
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
from pathlib import Path

import numpy as np

from nape_naslib.data import read_labels
from nape_naslib.evaluate import dataset_api, model_free

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT.parent / "shared" / "data" / "nb201" / "nb201.csv"
METHODS = ["nape", "naslib", "random"]
#: NASLib's BANANAS settings (its scripts/create_configs.py, config_type nas_predictors).
SEARCH = dict(k=10, num_init=10, num_ensemble=3, predictor_type="bananas", acq_fn_type="its",
              acq_fn_optimization="mutation", encoding_type="path", num_arches_to_mutate=2, max_mutations=1,
              num_candidates=100)


def run_search(method: str, seed: int, queries: int, api: dict, estimator: str) -> dict:
    """One search; returns the validation accuracy of every queried architecture (in order) and their op indices."""
    from fvcore.common.config import CfgNode
    from naslib import utils
    from naslib.optimizers import Bananas
    from naslib.search_spaces import NasBench201SearchSpace
    from naslib.search_spaces.core.query_metrics import Metric
    from naslib.search_spaces.nasbench201.conversions import convert_op_indices_to_str

    from nape_naslib import NapeBananas

    space = model_free(NasBench201SearchSpace())
    utils.set_seed(seed)
    start = time.perf_counter()
    if method == "random":
        archs = []
        for _ in range(queries):
            arch = space.clone()
            arch.sample_random_architecture(dataset_api=api)
            archs.append(arch)
        accs = [a.query(Metric.VAL_ACCURACY, "cifar10", dataset_api=api) for a in archs]
    else:
        config = CfgNode(dict(dataset="cifar10", seed=seed, search=CfgNode(dict(SEARCH, epochs=queries))))
        optimizer = NapeBananas(config, estimator=estimator) if method == "nape" else Bananas(config)
        optimizer.adapt_search_space(space, dataset_api=api)
        with contextlib.redirect_stdout(io.StringIO()):
            for epoch in range(queries):
                optimizer.new_epoch(epoch)
        archs = [m.arch for m in optimizer.train_data]
        accs = [m.accuracy for m in optimizer.train_data]
    return {"method": method, "seed": seed, "queries": queries, "seconds": time.perf_counter() - start,
            "val_acc": [float(a) for a in accs],
            "arch": [convert_op_indices_to_str([int(i) for i in a.get_op_indices()]) for a in archs]}


def summarise(runs: list[dict], test: dict[str, float], checkpoints: list[int]) -> str:
    lines = ["| method | seeds | " + " | ".join(f"best val @{c}" for c in checkpoints)
             + " | test acc of best @%d | time per run (s) |" % checkpoints[-1],
             "|---|---:|" + "---|" * len(checkpoints) + "---|---:|"]
    for method in dict.fromkeys(r["method"] for r in runs):
        rs = [r for r in runs if r["method"] == method]
        cells = []
        for c in checkpoints:
            best = [max(r["val_acc"][:c]) for r in rs]
            cells.append(f"{np.mean(best):.2f} ± {np.std(best):.2f} (median {np.median(best):.2f})")
        tests = [test[r["arch"][int(np.argmax(r["val_acc"][:checkpoints[-1]]))]] for r in rs]
        lines.append(f"| {method} | {len(rs)} | " + " | ".join(cells)
                     + f" | {np.mean(tests):.2f} ± {np.std(tests):.2f} (median {np.median(tests):.2f}) | "
                     f"{np.mean([r['seconds'] for r in rs]):.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--estimator", default="default", help="pretrained name or saved estimator file")
    ap.add_argument("--labels", type=Path, default=TABLE)
    ap.add_argument("--out", type=Path, default=Path("naslib_search.jsonl"))
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--table", action="store_true", help="only print the summary of --out")
    args = ap.parse_args()

    runs = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    if not args.table:
        import torch
        torch.set_num_threads(args.threads)
        os.environ["NAPE_THREADS"] = str(args.threads)       # nape's calls too (nape_plugin.utils.threads)
        api = dataset_api("nasbench201", "cifar10", args.labels)
        done = {(r["method"], r["seed"]) for r in runs if r["queries"] == args.queries}
        for seed in args.seeds:                     # seed-major: an interrupted run has every method's first seeds
            for method in args.methods:
                if (method, seed) in done:
                    continue
                run = {**run_search(method, seed, args.queries, api, args.estimator), "estimator": args.estimator}
                with args.out.open("a") as f:
                    f.write(json.dumps(run) + "\n")
                runs.append(run)
                print(f"{method} seed {seed}: best val {max(run['val_acc']):.2f} ({run['seconds']:.0f} s)", flush=True)
    runs = [r for r in runs if r["method"] in args.methods and r["seed"] in args.seeds and r["queries"] == args.queries]
    test = read_labels(args.labels, "c10_test_200ep")
    checkpoints = sorted({min(20, args.queries), min(50, args.queries), args.queries})
    print(summarise(runs, test, checkpoints))


if __name__ == "__main__":
    main()
