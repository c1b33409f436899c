"""Write nape_plugin/data/demo_nb201.csv: the labelled sample `nape demo` scores (derived from ../shared/data).

500 NAS-Bench-201 cells drawn uniformly at random (seed 0) from nb201.csv, with their CIFAR-10 test accuracy after
200 epochs and FLOPs. The shipped `default` model is trained without these cells.

    python benchmarks/make_demo_sample.py
"""
import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "nb201" / "nb201.csv"
TARGET = ROOT / "nape_plugin" / "data" / "demo_nb201.csv"

rows = list(csv.DictReader(SOURCE.open()))
picked = sorted(random.Random(0).sample(range(len(rows)), 500))
with TARGET.open("w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["nb201_index", "arch_str", "c10_test_200ep", "flops_M_linfit"])
    for i in picked:
        r = rows[i]
        w.writerow([r["nb201_index"], r["arch_str"], f"{float(r['c10_test_200ep']):.4f}", r["flops_M_linfit"]])
print(f"wrote {TARGET} ({len(picked)} rows)")
