"""Predictor-guided search on NAS-Bench-201 (CIFAR-10), judged by the true 200-epoch test accuracy.

    python benchmarks/search_nb201.py --scorer default          # the shipped default estimator, zero-shot
    python benchmarks/search_nb201.py --scorer params --seeds 3  # any registered predictor that needs no labels
    python benchmarks/search_nb201.py --scorer gbdt --train 128  # fitted first on 128 random labelled cells

For each seed: regularised evolution (``nape.search``, population 50, tournaments of 10) and random sampling, both
scoring with the same predictor for 1,000 queries; after 100 / 300 / 1,000 queries the architecture with the highest
predicted score is "found" and its true accuracy reported. Beside them: random search that trains what it samples
(best true accuracy among N random cells, the classic baseline, which costs N trainings) and evolution with the true
accuracy as the scorer (the strategy's ceiling). The predictor's scores of all 15,625 cells are computed once and
looked up during the searches (the predictor is deterministic, so this changes nothing but the time).

Multi-objective: evolution with ``costs=["flops"]`` for 1,000 queries; its predicted Pareto front is judged by the
true accuracy of its members against the true front of all 15,625 cells: hypervolume ratio (reference point: 80%
accuracy, the largest FLOPs), median accuracy gap to the true front at the same or fewer FLOPs, and the share of
the true front's cells among the found front. ``--plot`` saves the
fronts of seed 0.
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

import nape_plugin as nape  # noqa: E402
from nape_plugin.search import hypervolume_2d, make_scorer, pareto_front  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "nb201" / "nb201.csv"
CHECKPOINTS = (100, 300, 1000)


def truth(space) -> tuple[list[str], np.ndarray, np.ndarray]:
    with open(DATA, newline="") as fh:
        rows = list(csv.DictReader(fh))
    archs = [space.parse(r["arch_str"]) for r in rows]
    return archs, np.array([float(r["c10_test_200ep"]) for r in rows]), np.array(
        [float(r["flops_M_linfit"]) for r in rows])


def score_all(space, scorer_name: str, archs: list[str], acc: np.ndarray, n_train: int) -> np.ndarray:
    t = time.perf_counter()
    scorer: object = nape.load(scorer_name) if scorer_name.endswith(".pt") else scorer_name
    if n_train:
        from nape_plugin import plugins
        from nape_plugin.gennape.pretrained import names
        model = nape.load_pretrained(scorer_name) if scorer_name in names() else plugins.get_predictor(scorer_name)
        idx = np.random.default_rng(12345).choice(len(archs), n_train, replace=False)
        scorer = model.fit([space.to_graph(archs[i]) for i in idx], acc[idx])
        print(f"fitted {scorer_name!r} on {n_train} random labelled cells", flush=True)
    scorer = make_scorer(scorer, space)
    out = []
    for i in range(0, len(archs), 1024):
        chunk = archs[i:i + 1024]
        out.append(scorer(chunk, [space.to_graph(a) for a in chunk]))
    pred = np.concatenate(out)
    print(f"scored {len(archs)} cells with {scorer_name!r} in {time.perf_counter() - t:.0f} s (graphs included)",
          flush=True)
    return pred


def gap_to_front(acc: np.ndarray, flops: np.ndarray, true_acc: np.ndarray, true_flops: np.ndarray) -> float:
    """Median over points of (best true accuracy at <= their FLOPs) - their accuracy."""
    order = np.argsort(true_flops)
    best = np.maximum.accumulate(true_acc[order])
    pos = np.searchsorted(true_flops[order], flops, side="right") - 1
    return float(np.median(best[np.clip(pos, 0, None)] - acc))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scorer", default="default",
                    help="pretrained estimator or registered predictor name, or a saved estimator (.pt)")
    ap.add_argument("--train", type=int, default=0, help="first fit the scorer on this many random labelled cells")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--plot", type=Path, help="save the fronts of seed 0 to this PNG")
    args = ap.parse_args()
    space = nape.spaces.get("nb201")
    archs, acc, flops = truth(space)
    index = {a: i for i, a in enumerate(archs)}
    pred = score_all(space, args.scorer, archs, acc, args.train)
    from scipy.stats import spearmanr
    print(f"Spearman of {args.scorer!r} with the true accuracy over all cells: {spearmanr(pred, acc).statistic:.4f}")
    predicted = lambda batch: [pred[index[a]] for a in batch]       # noqa: E731
    oracle = lambda batch: [acc[index[a]] for a in batch]           # noqa: E731
    found = {k: {n: [] for n in CHECKPOINTS} for k in ("evolution + predictor", "random sampling + predictor",
                                                       "random search, trained (N trainings)",
                                                       "evolution + true accuracy (ceiling)")}
    hv, gaps, sizes = [], [], []
    true_idx = pareto_front(np.stack([acc, -flops], 1))
    ref = (85.0, float(flops.max()) * 1.001)
    true_set = {archs[i] for i in true_idx}
    hits = []
    hv_true = hypervolume_2d(acc[true_idx], flops[true_idx], *ref)
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        evo = nape.search(space, predicted, budget=args.budget, seed=seed, progress=False)
        rnd = nape.search(space, predicted, budget=args.budget, strategy="random", seed=seed, progress=False)
        orc = nape.search(space, oracle, budget=args.budget, seed=seed, progress=False)
        for n in CHECKPOINTS:
            found["evolution + predictor"][n].append(acc[index[evo.best_after(n)["arch"]]])
            found["random sampling + predictor"][n].append(acc[index[rnd.best_after(n)["arch"]]])
            found["random search, trained (N trainings)"][n].append(max(acc[index[r["arch"]]]
                                                                        for r in rnd.history[:n]))
            found["evolution + true accuracy (ceiling)"][n].append(orc.best_after(n)["score"])
        mo = nape.search(space, predicted, budget=args.budget, costs=["flops"], seed=seed, progress=False)
        front = mo.front
        f_acc = np.array([acc[index[r["arch"]]] for r in front])
        f_flops = np.array([flops[index[r["arch"]]] for r in front])
        keep = pareto_front(np.stack([f_acc, -f_flops], 1))       # members' true (accuracy, FLOPs) front
        hv.append(hypervolume_2d(f_acc[keep], f_flops[keep], *ref) / hv_true)
        gaps.append(gap_to_front(f_acc, f_flops, acc, flops))
        sizes.append(len(front))
        hits.append(len(true_set & {r["arch"] for r in front}) / len(true_set))
        if seed == 0 and args.plot is not None:
            plot(args.plot, acc, flops, true_idx, f_acc, f_flops, args.scorer)
        print(f"seed {seed} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\nBest architecture found on NB201 (CIFAR-10 test accuracy, %), scorer {args.scorer!r}"
          f"{f' fitted on {args.train} labels' if args.train else ''}, "
          f"{args.seeds} seeds, mean ± std; the best of all 15,625 cells is {acc.max():.2f}\n")
    print("| strategy | " + " | ".join(f"{n} queries" for n in CHECKPOINTS) + " |")
    print("|---|" + "---|" * len(CHECKPOINTS))
    for k, d in found.items():
        print(f"| {k} | " + " | ".join(f"{np.mean(d[n]):.2f} ± {np.std(d[n]):.2f}" for n in CHECKPOINTS) + " |")
    print(f"\nMulti-objective (predicted score vs FLOPs, {args.budget} queries): predicted front of "
          f"{np.mean(sizes):.1f} cells; hypervolume of their true (accuracy, FLOPs) / true front's "
          f"{np.mean(hv):.3f} ± {np.std(hv):.3f}; median accuracy gap to the true front at the same FLOPs "
          f"{np.mean(gaps):.2f} ± {np.std(gaps):.2f} points; {100 * np.mean(hits):.0f}% of the {len(true_idx)} cells "
          "of the true front found")


def plot(path: Path, acc, flops, true_idx, f_acc, f_flops, scorer: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    ax.scatter(flops, acc, s=2, c="0.85", label="all 15,625 cells")
    o = np.argsort(flops[true_idx])
    ax.step(flops[true_idx][o], acc[true_idx][o], where="post", c="k", lw=1.2, label="true front")
    ax.scatter(f_flops, f_acc, s=16, c="C3", label=f"front found with {scorer} (true accuracy)")
    ax.set_ylim(80, 95)
    ax.set_xlabel("FLOPs (M)")
    ax.set_ylabel("CIFAR-10 test accuracy (%)")
    ax.set_title("NAS-Bench-201: Pareto front found vs true front")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
