"""NNI's RegularizedEvolution on NNI's NAS-Bench-201 space, scoring every model with the pretrained estimator.

    python examples/nni_surrogate_search.py [--models 1000] [--seed 0] [--estimator default]

Nothing is trained, and no model is even built: ``NapeEvaluator`` turns each sample straight into its computation
graph. The search runs on the estimator alone. Only to show how good the models it found are, the script then looks
their true CIFAR-10 test accuracy (200 epochs) up in NAS-Bench-201's table at ``../shared/data/nb201/nb201.csv``,
the one thing it reads from there; without that file it prints the predictions only.

The ``default`` estimator was trained with labels of several benchmarks, NAS-Bench-201 among them (see its card);
``--estimator gennape-nb101`` searches with the model trained on NAS-Bench-101 only, which never saw this space.
"""
from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201" / "nb201.csv"


def true_accuracy() -> dict[str, float] | None:
    """NB201 arch string -> CIFAR-10 test accuracy (%), from the benchmark table beside the repository."""
    if not TABLE.is_file():
        return None
    with TABLE.open() as f:
        return {row["arch_str"]: float(row["c10_test_200ep"]) for row in csv.DictReader(f)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=1000, help="models the strategy evaluates")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--estimator", default="default", help="pretrained name or saved estimator path")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*is found to be not a nn.Module.*")   # NNI 3.0 on recent torch

    import torch
    from nni.nas.hub.pytorch import NasBench201
    from nni.nas.strategy import RegularizedEvolution

    import nape_plugin as nape
    from nape_nni import search

    with torch.device("meta"):                  # the space's weights are never used: keep them off the heap
        space = NasBench201()
    t0 = time.perf_counter()
    result = search(space, RegularizedEvolution(seed=args.seed), estimator=args.estimator, max_models=args.models,
                    top_k=5)
    print(f"RegularizedEvolution, {len(result.history)} models scored by the '{args.estimator}' estimator in "
          f"{result.seconds:.1f} s ({time.perf_counter() - t0:.1f} s with loading)")

    truth = true_accuracy()
    nb201 = nape.spaces.get("nb201")
    print(f"\n{'rank':>4}  {'predicted':>9}  {'MFLOPs':>7}  {'Mparams':>7}  "
          f"{'true C10 %' if truth else '':>10}  arch")
    for rank, top in enumerate(result.top, 1):
        arch = nb201.encode(top["sample"], "arch_str")
        true = f"{truth[arch]:10.2f}" if truth else ""
        print(f"{rank:>4}  {top['accuracy']:9.3f}  {top['flops']:7.1f}  {top['params']:7.3f}  {true:>10}  {arch}")
    if truth:
        accs = sorted(truth.values(), reverse=True)
        best = truth[nb201.encode(result.best["sample"], "arch_str")]
        rank = 1 + sum(a > best for a in accs)
        print(f"\nBy true accuracy the top-1 pick ranks {rank:,} of the {len(accs):,} NAS-Bench-201 cells (best "
              f"possible: {accs[0]:.2f}%). True accuracies come from {TABLE}; the search never read them.")

if __name__ == "__main__":
    main()
