"""Search quality with the estimator as NNI evaluator on NNI's NAS-Bench-201 space (docs/results.md, NNI integration).

For each seed, NNI's RegularizedEvolution (population 100, sample 25: NNI's defaults) evaluates ``--models`` models,
scored by (a) ``NapeEvaluator`` as shipped and (b) after fine-tuning on 50 random labelled cells (the same cells for
every estimator of a seed), for each estimator given, or by (d) the true accuracy (an oracle); (c) is NNI's Random
strategy with true accuracies, given the labelled budget of (b)
(50 cells) and the evaluation budget of the searches (``--models`` cells). Each search's pick is its best-scored model;
the table reports that model's true CIFAR-10 test accuracy (200 epochs) from ``../shared/data/nb201/nb201.csv``, and
the wall time of the search per 1,000 models.

    python benchmarks/nni_search.py [--seeds 10] [--models 1000] [--estimators gennape-nb101 default]

``gennape-nb101`` was trained on NAS-Bench-101 labels only: on this space it is zero-shot. ``default`` was trained with
labels of every family, NAS-Bench-201 included: its rows are in-domain, not zero-shot.
"""
from __future__ import annotations

import argparse
import csv
import logging
import time
from pathlib import Path

import numpy as np

TABLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201" / "nb201.csv"


def load_truth() -> dict[str, float]:
    with TABLE.open() as f:
        return {row["arch_str"]: float(row["c10_test_200ep"]) for row in csv.DictReader(f)}


def oracle_evaluator(truth: dict[str, float]):
    """An NNI evaluator reporting a NAS-Bench-201 sample's true CIFAR-10 test accuracy (like NNI's
    NasBench201Benchmark, from our copy of the table)."""
    import nni
    from nni.nas.evaluator import Evaluator

    import nape_plugin as nape
    nb201 = nape.spaces.get("nb201")

    class Oracle(Evaluator):
        def _execute(self, model):
            acc = truth[nb201.encode(model.sample, "arch_str")]
            nni.report_final_result(acc)
            return acc
    return Oracle()


def load_estimator(name_or_path: str):
    """A pretrained estimator by name, or one saved with ``est.save(path)``: a fresh copy each call."""
    from nape_plugin.gennape.pretrained import resolve
    return resolve(name_or_path)


def run(space, strategy, evaluator, models: int) -> tuple[dict, float]:
    """(best sample, seconds) of one in-process search."""
    from nape_nni import search
    result = search(space, strategy, evaluator=evaluator, max_models=models, top_k=1)
    return result.best["sample"], result.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--estimators", nargs="+", default=["gennape-nb101", "default"],
                    help="pretrained names or saved estimator paths; each gives a zero-shot and a fine-tuned row")
    ap.add_argument("--shots", type=int, default=50)
    args = ap.parse_args()
    logging.getLogger("nni").setLevel(logging.WARNING)

    import torch
    from nni.nas.hub.pytorch import NasBench201
    from nni.nas.strategy import Random, RegularizedEvolution

    import nape_plugin as nape
    from nape_nni import NapeEvaluator

    truth = load_truth()
    nb201 = nape.spaces.get("nb201")
    with torch.device("meta"):
        space = NasBench201()
    oracle = oracle_evaluator(truth)
    archs = sorted(truth)
    rows: dict[str, list[float]] = {}
    secs: dict[str, list[float]] = {}
    fit_secs: list[float] = []

    def record(name: str, sample: dict, seconds: float | None, models: int) -> None:
        rows.setdefault(name, []).append(truth[nb201.encode(sample, "arch_str")])
        if seconds is not None:
            secs.setdefault(name, []).append(seconds * 1000 / models)

    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        shots = [archs[i] for i in rng.choice(len(archs), args.shots, replace=False)]
        for est_name in args.estimators:
            zero = NapeEvaluator(load_estimator(est_name))
            record(f"(a) NapeEvaluator `{est_name}`, not fine-tuned",
                   *run(space, RegularizedEvolution(seed=seed), zero, args.models), args.models)
            t0 = time.perf_counter()
            tuned = load_estimator(est_name).fit([nb201.to_graph(a) for a in shots], [truth[a] for a in shots])
            fit_secs.append(time.perf_counter() - t0)
            record(f"(b) NapeEvaluator `{est_name}`, fine-tuned on {args.shots} random cells",
                   *run(space, RegularizedEvolution(seed=seed), NapeEvaluator(tuned), args.models), args.models)
        record(f"(c) random search, {args.shots} true evaluations",
               *run(space, Random(seed=seed), oracle, args.shots), args.shots)
        record(f"(c) random search, {args.models} true evaluations",
               *run(space, Random(seed=seed), oracle, args.models), args.models)
        record(f"(d) RegularizedEvolution, true accuracy (oracle, {args.models} evaluations)",
               *run(space, RegularizedEvolution(seed=seed), oracle, args.models), args.models)
        print(f"seed {seed}: " + "; ".join(f"{k}: {v[-1]:.2f}" for k, v in rows.items()), flush=True)

    best = max(truth.values())
    print(f"\nNNI NasBench201 space, seeds 0-{args.seeds - 1}, {args.models} models per search; best cell in the "
          f"space: {best:.2f}%; fine-tuning took {np.mean(fit_secs):.1f} s on average")
    print("\n| search | true CIFAR-10 test acc. of the pick (%), mean ± std | min | s per 1,000 models |")
    print("|---|---|---|---|")
    for name, accs in rows.items():
        per_k = f"{np.mean(secs[name]):.1f}" if name in secs else ""
        print(f"| {name} | {np.mean(accs):.2f} ± {np.std(accs):.2f} | {np.min(accs):.2f} | {per_k} |")


if __name__ == "__main__":
    main()
