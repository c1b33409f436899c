"""Torch threads for the estimator's everyday work (docs/results.md, "Threads"): fine-tuning on 50 labelled
NAS-Bench-201 cells and scoring all 15,625 cells (graphs built beforehand), with 1 thread, 2 threads and torch's
default, on the machine as it is ("idle": no busy loop added; other users' jobs may still run) and with busy-loop
processes added ("loaded").

    python benchmarks/threads.py [--repeats 5] [--load 1] [--model default] [--out benchmarks/results/threads.json]

Every measurement runs in a fresh process whose thread count is set before any torch work (OMP_NUM_THREADS and
MKL_NUM_THREADS are removed from its environment, so "default" is torch's own choice); the settings alternate within a
round, so other users' load falls on all of them alike. ``--load N`` starts N processes spinning a Python loop for the
"loaded" rounds (at the niceness this script runs with). Prints a table and writes JSON (``--out``); the load average
is recorded around every measurement.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "threads.json"
SETTINGS = ("1", "2", "default")
BUSY = "while True: pass"


def worker(threads: str, model: str, seed: int) -> dict:
    """One fit on 50 labels and one scoring of every NB201 cell, in this process, with ``threads``."""
    import torch
    if threads != "default":
        torch.set_num_threads(int(threads))
    import nape_plugin as nape
    from nape_plugin.data import datasets
    from nape_plugin.graph.packed import PackedGraphs
    ds = datasets.load("nb201")
    packed = PackedGraphs(ds.graphs)
    pick = np.random.default_rng(seed).choice(len(ds), 50, replace=False)
    est = nape.load_pretrained(model)
    est.predict(ds.graphs[:256])                               # warm-up: first-call allocations
    load_before = os.getloadavg()[0]
    t = time.perf_counter()
    est.predict(packed)
    score_s = time.perf_counter() - t
    t = time.perf_counter()
    nape.load_pretrained(model).fit([ds.graphs[i] for i in pick], ds.labels[pick])
    fit_s = time.perf_counter() - t
    return {"threads": torch.get_num_threads(), "n": len(packed), "score_s": score_s, "fit_50_s": fit_s,
            "loadavg": [load_before, os.getloadavg()[0]]}


def measure(threads: str, model: str, seed: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, __file__, "--worker", threads, "--model", model, "--seed", str(seed)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--load", type=int, default=1, help="busy-loop processes for the loaded rounds")
    p.add_argument("--model", default="default")
    p.add_argument("--out", type=Path, default=OUT, help=f"JSON results (default {OUT.relative_to(ROOT)})")
    p.add_argument("--worker", choices=SETTINGS, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.seed)))
        return
    runs: dict[str, dict[str, list[dict]]] = {"idle": {s: [] for s in SETTINGS}, "loaded": {s: [] for s in SETTINGS}}
    for condition in ("idle", "loaded"):
        spinning = args.load if condition == "loaded" else 0
        busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(spinning)]
        try:
            for seed in range(args.repeats):
                for s in SETTINGS:
                    r = measure(s, args.model, seed)
                    runs[condition][s].append(r)
                    print(f"{condition} threads={s} ({r['threads']}) seed {seed}: fit {r['fit_50_s']:.2f} s, "
                          f"score {r['score_s']:.2f} s, load {r['loadavg'][0]:.1f}-{r['loadavg'][1]:.1f}", flush=True)
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
    summary = {c: {s: {"threads": rs[0]["threads"],
                       "fit_50_median_s": round(float(np.median([r["fit_50_s"] for r in rs])), 2),
                       "score_median_s": round(float(np.median([r["score_s"] for r in rs])), 2),
                       "loadavg_median": round(float(np.median([r["loadavg"] for r in rs])), 1)}
                   for s, rs in by.items()} for c, by in runs.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "repeats": args.repeats, "load": args.load, "cpus": os.cpu_count(),
                               "summary": summary, "runs": runs}, indent=1) + "\n")
    print(f"\n| machine | threads | fine-tune on 50 labels (s) | score 15,625 cells (s) | load average |")
    print("|---|---|---:|---:|---:|")
    for c, by in summary.items():
        label = c if c == "idle" else f"loaded (+{args.load} busy loop{'s' if args.load > 1 else ''})"
        for s, m in by.items():
            name = f"torch default ({m['threads']})" if s == "default" else s
            print(f"| {label} | {name} | {m['fit_50_median_s']} | {m['score_median_s']} | {m['loadavg_median']} |")


if __name__ == "__main__":
    main()
