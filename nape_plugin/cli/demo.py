"""``nape demo``: score the labelled sample shipped in the package with a pretrained model and show how it did."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics
from ..data.demo import demo_sample
from ..gennape.pretrained import resolve
from .inputs import output_file, positive_int


def scatter_plot(y_true: np.ndarray, y_pred: np.ndarray, path: str | Path, title: str) -> Path:
    """Save a predicted-vs-true scatter with the rank correlation in the title."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4.5), dpi=120)
    ax.scatter(y_true, y_pred, s=8, alpha=0.6)
    ax.set_xlabel("true CIFAR-10 test accuracy (%)")
    ax.set_ylabel("predicted score")
    ax.set_title(f"{title}\nSRCC {metrics.spearman(y_true, y_pred):.3f}, "
                 f"Kendall tau {metrics.kendall_tau(y_true, y_pred):.3f}", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def run_demo(model: str = "default", out: str | Path = "nape_demo.png", top: int = 10) -> dict[str, Any]:
    """Score the demo sample with ``model``; returns metrics, the top table rows and timings."""
    t0 = time.perf_counter()
    est = resolve(model)
    sample = demo_sample()
    graphs = sample.graphs()
    t1 = time.perf_counter()
    pred = est.predict(graphs)
    t2 = time.perf_counter()
    order = np.argsort(-pred, kind="stable")
    true_rank = np.empty(len(pred), dtype=int)
    true_rank[np.argsort(-sample.labels, kind="stable")] = np.arange(1, len(pred) + 1)
    rows = [{"rank": r + 1, "arch": sample.archs[i], "predicted": float(pred[i]),
             "true_accuracy": float(sample.labels[i]), "true_rank": int(true_rank[i])} for r, i in
            enumerate(order[:top])]
    plot = scatter_plot(sample.labels, pred, out, f"nape-plugin '{model}' on {len(sample)} NAS-Bench-201 cells")
    return {"model": model, "n": len(sample), "metrics": metrics.report(sample.labels, pred), "top": rows,
            "plot": str(plot), "load_and_build_s": t1 - t0, "predict_s": t2 - t1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default",
                        help="pretrained model name or saved estimator file (default: default)")
    parser.add_argument("--out", default="nape_demo.png", type=output_file,
                        help="where to save the predicted-vs-true scatter plot")
    parser.add_argument("--top", type=positive_int, default=10, help="rows of the top table")


def run(args: argparse.Namespace) -> int:
    r = run_demo(args.model, args.out, args.top)
    m = r["metrics"]
    print(f"nape-plugin demo: model '{r['model']}' scored {r['n']} NAS-Bench-201 cells it never trained on "
          f"({r['predict_s']:.1f} s to predict, {r['load_and_build_s']:.1f} s to load and build graphs)")
    print(f"  Spearman {m['srcc']:.4f}   Kendall tau {m['kendall_tau']:.4f}   NDCG@10 {m['ndcg@10']:.4f}   "
          f"precision@10 {m['precision@10']:.2f}")
    print(f"\n  top {len(r['top'])} by predicted score "
          "(zero-shot scores rank; `fit` on a few labels maps them to yours):")
    print(f"  {'#':>3}  {'predicted':>9}  {'true acc':>8}  {'true rank':>9}  architecture")
    for row in r["top"]:
        print(f"  {row['rank']:>3}  {row['predicted']:>9.3f}  {row['true_accuracy']:>8.2f}  "
              f"{row['true_rank']:>9}  {row['arch']}")
    print(f"\n  scatter plot: {r['plot']}")
    return 0
