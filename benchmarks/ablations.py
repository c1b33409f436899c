"""Ablations of the zero-shot estimator (docs/results.md, "Ablations"): single models of the ``gennape-nb101``
configuration, one change at a time, over seeds.

    python benchmarks/ablations.py --out ablations --seeds 0 1 2          # trains 12 models (about 2 min each)
    python benchmarks/ablations.py --out ablations --seeds 0 1 2 --table  # only the table
    python benchmarks/ablations.py --out ablations --seeds 0 1 2 --table --bags   # and bags of the models

Each variant is the shipped ``gennape-nb101`` config without bagging, trained on 5,000 random NAS-Bench-101 cells
(one member's worth of labels) with ``nape pretrain <config> --seed S``: ``full`` as configured, ``no-contrastive``
(no contrastive stage), ``one-head`` (one MLP head instead of the fuzzy c-means ensemble of 4), ``graphconv``
(GENNAPE's k-GNN layer instead of the bidirectional DAG convolution). The table reads the model cards: zero-shot
Spearman on NB201, NB301 and TNB101 micro, and Spearman on 3,000 held-out NB101 cells. ``--bags`` also scores
equal-weight bags of the trained models (each model's predictions standardised, then averaged): the seeds of each
variant, and the seeds of ``full`` and ``graphconv`` together.
"""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np

import nape_plugin as nape
from nape_plugin import metrics
from nape_plugin.data import datasets
from nape_plugin.gennape.recipe import load_config, pretrain

VARIANTS = {"full": {}, "no-contrastive": {"contrastive_epochs": 0}, "one-head": {"num_heads": 1},
            "graphconv": {"conv": "graphconv"}}
COLUMNS = (("zero_shot", "nb201"), ("zero_shot", "nb301"), ("zero_shot", "tnb101_micro"), ("held_out", "nb101"))
TARGETS = ("nb201", "nb301", "tnb101_micro")


def variant_config(name: str, seed: int) -> dict:
    config = copy.deepcopy(load_config("gennape-nb101"))
    config.pop("bagging", None)
    config["train"][0]["limit"] = 5000
    config["estimator"].update(VARIANTS[name])
    config.update(name=f"gennape-nb101-{name}", seed=seed, description=f"ablation '{name}' of gennape-nb101")
    return config


def bag_table(out: Path, seeds: list[int]) -> None:
    """Zero-shot Spearman of equal-weight bags of the trained ablation models."""
    data = {f: datasets.load(f) for f in TARGETS}
    z = {}
    for name in ("full", "graphconv"):
        for seed in seeds:
            est = nape.load(out / f"seed{seed}" / f"gennape-nb101-{name}.pt")
            for fam, ds in data.items():
                p = est.predict(ds.graphs, progress=False)
                z[name, seed, fam] = (p - p.mean()) / (p.std() or 1.0)
    bags = {"full": ["full"], "graphconv": ["graphconv"], "full + graphconv": ["full", "graphconv"]}
    print("\n| bag of the seeds of | models | NB201 | NB301 | TNB101 micro |\n|---|---|---|---|---|")
    for label, names in bags.items():
        members = [(n, s) for n in names for s in seeds]
        cells = " | ".join(f"{metrics.spearman(data[f].labels, np.mean([z[n, s, f] for n, s in members], 0)):.3f}"
                           for f in TARGETS)
        print(f"| {label} | {len(members)} | {cells} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("ablations"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--table", action="store_true", help="only summarise the cards already in --out")
    ap.add_argument("--bags", action="store_true", help="also score bags of the full and graphconv models")
    args = ap.parse_args()
    print("| variant | seeds | NB201 | NB301 | TNB101 micro | NB101 held-out | train (s) |\n|---|---|---|---|---|---|---|")
    for name in args.variants:
        cards = []
        for seed in args.seeds:
            folder = args.out / f"seed{seed}"
            card = folder / f"gennape-nb101-{name}.json"
            if not card.is_file() and not args.table:
                pretrain(variant_config(name, seed), folder, progress=False)
            if card.is_file():
                cards.append(json.loads(card.read_text()))
        if not cards:
            continue
        values = np.array([[c[part][fam]["srcc"] for part, fam in COLUMNS] for c in cards])
        cells = " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(values.mean(0), values.std(0)))
        seconds = np.median([c["train_seconds"] for c in cards])
        print(f"| {name} | {len(cards)} | {cells} | {seconds:.0f} |", flush=True)
    if args.bags:
        bag_table(args.out, args.seeds)


if __name__ == "__main__":
    main()
