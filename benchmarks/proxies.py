"""Zero-cost proxies computed by nape_plugin.predictors.zero_cost on NAS-Bench-201 cells, against the published values.

Two steps, so the expensive one can run where a GPU is:

    python benchmarks/proxies.py compute --n 1000 --out proxies_b64_s0.csv              # our proxies per cell
    python benchmarks/proxies.py compute --n 200 --batch-size 16 --out proxies_b16_s0.csv   # ablations
    python benchmarks/proxies.py report proxies_b64_s0.csv [more.csv ...]               # rank correlations

``compute`` samples ``--n`` cells (seeded) from ``../shared/data/nb201/nb201_zc_proxies_c10.csv`` (NAS-Bench-Suite-Zero
values, computed on one real CIFAR-10 batch), builds each cell's reference network under ``--seed`` and computes every
proxy on a random normal batch. ``report`` prints, per proxy, the Spearman correlation of ours with the published value
on the same cells, and of each with the CIFAR-10 test accuracy after 200 epochs (``nb201.csv``).
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
DATA = ROOT.parent / "shared" / "data" / "nb201"   # --data overrides it
MODULE_PROXIES = ("synflow", "nwot", "jacov", "grad_norm", "snip")


def published(data: Path = DATA) -> dict[str, dict[str, float]]:
    """arch string -> published proxy values."""
    with open(data / "nb201_zc_proxies_c10.csv", newline="") as fh:
        return {r["net_str"]: {k: float(v) for k, v in r.items() if k not in ("net", "net_str")}
                for r in csv.DictReader(fh)}


def accuracy(data: Path = DATA) -> dict[str, float]:
    with open(data / "nb201.csv", newline="") as fh:
        return {r["arch_str"]: float(r["c10_test_200ep"]) for r in csv.DictReader(fh)}


def compute(args: argparse.Namespace) -> None:
    import torch

    from nape_plugin.predictors.zero_cost import compute as compute_proxies
    from nape_plugin.spaces.nb201 import NB201Space
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    space = NB201Space()
    archs = sorted(published(args.data))
    order = np.random.default_rng(args.sample_seed).permutation(len(archs))   # a prefix of one fixed order
    archs = [archs[i] for i in order[:args.n]]
    fields = ["arch_str", *MODULE_PROXIES, "flops", "params", "seconds"]
    t_all = time.perf_counter()
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for i, arch in enumerate(archs):
            t = time.perf_counter()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(args.seed)
                model = space.build(arch)
            vals = compute_proxies(model, space.input_shape, MODULE_PROXIES, args.batch_size, args.seed,
                                   device=device)
            g = space.to_graph(arch)
            w.writerow({"arch_str": arch, **vals, "flops": g.flops / 1e6, "params": g.params / 1e6,
                        "seconds": time.perf_counter() - t})
            fh.flush()
            if (i + 1) % 50 == 0:
                print(f"{i + 1}/{len(archs)} cells, {time.perf_counter() - t_all:.0f} s", flush=True)
    print(f"wrote {args.out}: {len(archs)} cells on {device} (batch {args.batch_size}, seed {args.seed}) in "
          f"{time.perf_counter() - t_all:.0f} s", flush=True)


def _srcc(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr
    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok]).statistic)


def _read(path: Path) -> dict[str, dict[str, float]]:
    with open(path, newline="") as fh:
        return {r["arch_str"]: {k: float(v) for k, v in r.items() if k != "arch_str"} for r in csv.DictReader(fh)}


def report(args: argparse.Namespace) -> None:
    pub, acc = published(args.data), accuracy(args.data)
    first = _read(args.files[0])
    for path in args.files:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        archs = [r["arch_str"] for r in rows]
        y = np.array([acc[a] for a in archs])
        print(f"\n{path}: {len(rows)} cells, median {np.median([float(r['seconds']) for r in rows]):.3f} s per cell")
        print("| proxy | SRCC ours vs published | SRCC ours vs test acc | SRCC published vs test acc | NaN (ours) |")
        print("|---|---|---|---|---|")
        for p in (*MODULE_PROXIES, "flops", "params"):
            ours = np.array([float(r[p]) for r in rows])
            theirs = np.array([pub[a][p] for a in archs])
            print(f"| {p} | {_srcc(ours, theirs):.3f} | {_srcc(ours, y):.3f} | {_srcc(theirs, y):.3f} | "
                  f"{int((~np.isfinite(ours)).sum())} |")
        common = [a for a in archs if a in first]
        if path != args.files[0] and len(common) > 2:
            other = _read(path)
            print(f"SRCC with {args.files[0].name} on the {len(common)} common cells: " + ", ".join(
                f"{p} {_srcc(np.array([first[a][p] for a in common]), np.array([other[a][p] for a in common])):.3f}"
                for p in MODULE_PROXIES))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compute")
    c.add_argument("--n", type=int, default=300)
    c.add_argument("--batch-size", type=int, default=64)
    c.add_argument("--seed", type=int, default=0, help="network initialisation and random batch")
    c.add_argument("--sample-seed", type=int, default=0, help="which cells")
    c.add_argument("--device", default=None)
    c.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--data", type=Path, default=DATA, help="folder with nb201_zc_proxies_c10.csv")
    r = sub.add_parser("report")
    r.add_argument("files", nargs="+", type=Path)
    r.add_argument("--data", type=Path, default=DATA, help="folder with nb201.csv and nb201_zc_proxies_c10.csv")
    args = ap.parse_args()
    compute(args) if args.cmd == "compute" else report(args)


if __name__ == "__main__":
    main()
