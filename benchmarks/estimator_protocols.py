"""The estimator's evaluation protocols (docs/results.md, "Estimator"): zero-shot, few-shot, in-domain, baselines.

    python benchmarks/estimator_protocols.py zero-shot --model gennape-nb101
    python benchmarks/estimator_protocols.py few-shot --model gennape-nb101 --shots 20 50 128 --seeds 5
    python benchmarks/estimator_protocols.py in-domain --family nb201 --sizes 100 1000 --seeds 5
    python benchmarks/estimator_protocols.py baselines
    python benchmarks/estimator_protocols.py speed
    python benchmarks/estimator_protocols.py nb201-datasets --models gennape-nb101 default

Each run prints a markdown table and writes JSON to benchmarks/results/<protocol>-<model or family>.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

import nape_plugin as nape
from nape_plugin import metrics
from nape_plugin.data import datasets
from nape_plugin.gennape.estimator import GennapeEstimator
from nape_plugin.cli.evaluate import few_shot, in_domain, zero_shot
from nape_plugin.graph.packed import PackedGraphs
from nape_plugin.gennape.pretrained import resolve

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TARGETS = ("nb201", "nb301", "tnb101_micro")
SHOTS = [20, 50, 128]
#: From-scratch training for the in-domain protocol: the same graph passes whatever the training size.
IN_DOMAIN = dict(width=32, layers=4, embed_dim=32, num_heads=4, contrastive_epochs=0, batch_size=32, lr=2e-3,
                 progress=False)


def _save(name: str, payload: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=1))


def _model(name: str):
    return resolve(name)


def _data(family: str) -> tuple[PackedGraphs, np.ndarray]:
    ds = datasets.load(family)
    return PackedGraphs(ds.graphs), ds.labels


def run_zero_shot(args) -> None:
    est = _model(args.model)
    members = getattr(est, "estimators_", [est])      # a bag's members each mix in the size member
    weights = [m.size_weight for m in members]
    rows = {}
    for fam in args.families:
        packed, y = _data(fam)
        rows[fam] = zero_shot(est, packed, y)
        if args.ablate_size and any(weights):
            for m in members:
                m.size_weight = 0.0
            rows[f"{fam} (GNN only)"] = zero_shot(est, packed, y)
            for m, w in zip(members, weights):
                m.size_weight = w
    _save(f"zero-shot-{Path(args.model).stem}", rows)
    print(f"| target | n | SRCC | Kendall tau | NDCG@10 | precision@10 |  ({args.model}, zero-shot)\n|---|---|---|---|---|---|")
    for fam, r in rows.items():
        print(f"| {fam} | {r['n']} | {r['srcc']:.4f} | {r['kendall_tau']:.4f} | {r['ndcg@10']:.4f} | "
              f"{r['precision@10']:.2f} |")


def run_few_shot(args) -> None:
    est = _model(args.model)
    rows = {}
    for fam in args.families:
        packed, y = _data(fam)
        for k in args.shots:
            rows[f"{fam}/{k}"] = few_shot(est, packed, y, k, range(args.seeds), args.mode)
            r = rows[f"{fam}/{k}"]
            print(f"| {fam} | {k} | {r['srcc_mean']:.4f} +- {r['srcc_std']:.4f} | {r['kendall_tau_mean']:.4f} +- "
                  f"{r['kendall_tau_std']:.4f} | {r['fit_s_mean']:.1f} |", flush=True)
    shots = "" if args.shots == SHOTS else "-" + "-".join(map(str, args.shots))
    _save(f"few-shot-{Path(args.model).stem}{'-' + args.mode if args.mode else ''}{shots}", rows)


def run_in_domain(args) -> None:
    packed, y = _data(args.family)
    rows = {}
    for n in args.sizes:
        epochs = max(15, round(args.graph_passes / n))
        factory = (lambda seed, epochs=epochs: GennapeEstimator(**IN_DOMAIN, epochs=epochs, random_state=seed))
        rows[str(n)] = r = in_domain(factory, packed, y, n, range(args.seeds), n_test=args.test_size)
        print(f"| {args.family} | {n} | {r['srcc_mean']:.4f} +- {r['srcc_std']:.4f} | {r['kendall_tau_mean']:.4f} +- "
              f"{r['kendall_tau_std']:.4f} | {r['fit_s_mean']:.0f} |", flush=True)
    _save(f"in-domain-{args.family}", rows)


def run_baselines(args) -> None:
    """FLOPs, params, effective size and the published zero-cost proxies, on the same targets."""
    rows = {}
    for fam in ("nb101", *TARGETS):
        ds = datasets.load(fam)
        packed = PackedGraphs(ds.graphs)
        u = packed.to_arrays()["u"]
        cols = {"FLOPs": np.array([g.flops for g in ds.graphs]), "params": np.array([g.params for g in ds.graphs]),
                "effective FLOPs": u[:, 0], "effective params": u[:, 1]}
        rows[fam] = {k: round(metrics.spearman(ds.labels, v), 4) for k, v in cols.items()}
        for proxy in ("synflow", "nwot", "jacov", "snip", "grad_norm", "zen"):
            if proxy in ds.metadata and fam != "nb201":
                v = ds.metadata[proxy]
                ok = np.isfinite(v)
                rows[fam][proxy] = round(metrics.spearman(ds.labels[ok], v[ok]), 4)
    zc = datasets.default_root() / "nb201" / "nb201_zc_proxies_c10.csv"
    if zc.is_file():
        truth = {row[0]: row[1] for row in _nb201_truth()}
        with zc.open() as f:
            table = list(csv.DictReader(f))
        nets = [r["net_str"] for r in table if r["net_str"] in truth]
        y = np.array([truth[n] for n in nets])
        for proxy in ("synflow", "nwot", "jacov", "snip", "grad_norm", "zen", "flops", "params"):
            v = np.array([float(r[proxy]) for r in table if r["net_str"] in truth])
            ok = np.isfinite(v)
            rows["nb201"][f"{proxy} (published, {ok.sum()} cells)"] = round(metrics.spearman(y[ok], v[ok]), 4)
    _save("baselines", rows)
    for fam, r in rows.items():
        print(f"{fam}: " + ", ".join(f"{k} {v:.4f}" for k, v in r.items()))


def run_nb201_datasets(args) -> None:
    """Zero-shot on NAS-Bench-201's three data sets: each cell's graph built for the data set's input shape and
    classes (CIFAR-10/100 32x32, ImageNet16-120 16x16), scored against that data set's 200-epoch test accuracy."""
    from nape_plugin.spaces.nb201 import NB201Space
    columns = {"cifar10": "c10_test_200ep", "cifar100": "c100_test_200ep", "ImageNet16-120": "in16_test_200ep"}
    ds = datasets.load("nb201")
    rows: dict[str, dict] = {}
    for dataset, column in columns.items():
        space = NB201Space(dataset)
        packed = PackedGraphs([space.to_graph(a) for a in ds.archs])
        y = ds.metadata[column]
        rows[dataset] = {"FLOPs": round(metrics.spearman(y, packed.mflops), 4)}
        for name in args.models:
            rows[dataset][name] = round(metrics.spearman(y, _model(name).predict(packed, batch_size=512)), 4)
        print(f"{dataset}: " + ", ".join(f"{k} {v:.4f}" for k, v in rows[dataset].items()), flush=True)
    _save("nb201-datasets", rows)


def _nb201_truth() -> list[tuple[str, float]]:
    ds = datasets.load("nb201")
    return [(a, float(y)) for a, y in zip(ds.archs, ds.labels)]


def run_speed(args) -> None:
    """Scoring all 15,625 NB201 cells from arch strings, graph building included, and fine-tuning on 50 labelled
    cells of each target family; peak memory of the process. ``--chunk``: build and score in chunks of that many
    cells (the graphs of one chunk in memory at a time) instead of all graphs in one list."""
    space = nape.spaces.get("nb201")
    archs = list(space.enumerate())
    est = _model(args.model)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        step = args.chunk or len(archs)
        for i in range(0, len(archs), step):
            graphs = [space.to_graph(a) for a in archs[i:i + step]]
            est.predict(graphs, batch_size=512)
            del graphs
        times.append(time.perf_counter() - t)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fit_s = {}
    for fam in TARGETS:
        ds = datasets.load(fam)
        runs = []
        for seed in range(args.repeats):
            pick = np.random.default_rng(seed).choice(len(ds), 50, replace=False)
            fresh = _model(args.model)
            t = time.perf_counter()
            fresh.fit([ds.graphs[i] for i in pick], ds.labels[pick])
            runs.append(time.perf_counter() - t)
        fit_s[fam] = round(float(np.median(runs)), 2)
    out = {"n": len(archs), "seconds": [round(t, 2) for t in times], "median_s": round(float(np.median(times)), 2),
           "peak_rss_mb": round(peak_mb), "threads": torch.get_num_threads(), "chunk": args.chunk,
           "fit_50_median_s": fit_s}
    _save(f"speed-{Path(args.model).stem}" + (f"-chunk{args.chunk}" if args.chunk else ""), out)
    print(json.dumps(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="protocol", required=True)
    z = sub.add_parser("zero-shot")
    z.add_argument("--model", default="gennape-nb101")
    z.add_argument("--families", nargs="*", default=list(TARGETS))
    z.add_argument("--ablate-size", action="store_true", help="also report the GNN without the size member")
    f = sub.add_parser("few-shot")
    f.add_argument("--model", default="gennape-nb101")
    f.add_argument("--families", nargs="*", default=list(TARGETS))
    f.add_argument("--shots", type=int, nargs="*", default=SHOTS)
    f.add_argument("--seeds", type=int, default=5)
    f.add_argument("--mode", default=None)
    i = sub.add_parser("in-domain")
    i.add_argument("--family", required=True)
    i.add_argument("--sizes", type=int, nargs="*", default=[100, 1000])
    i.add_argument("--seeds", type=int, default=5)
    i.add_argument("--test-size", type=int, default=None)
    i.add_argument("--graph-passes", type=int, default=30000, help="epochs = max(15, graph_passes / size)")
    sub.add_parser("baselines")
    d = sub.add_parser("nb201-datasets")
    d.add_argument("--models", nargs="+", default=["gennape-nb101", "default"])
    s = sub.add_parser("speed")
    s.add_argument("--model", default="default")
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--chunk", type=int, default=0, help="build and score this many cells at a time (0: all at once)")
    args = p.parse_args()
    {"zero-shot": run_zero_shot, "few-shot": run_few_shot, "in-domain": run_in_domain, "baselines": run_baselines,
     "speed": run_speed, "nb201-datasets": run_nb201_datasets}[args.protocol](args)


if __name__ == "__main__":
    main()
