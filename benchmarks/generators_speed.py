"""Speed of the unlabelled graph generators: ``random_graphs(n)`` end to end, and per family.

    python benchmarks/generators_speed.py --n 1000 --repeats 3

Prints the wall time of each ``random_graphs(n, seed=r)`` call (r = 0 .. repeats - 1) and their median, then, from
one more pass over the same families, the median milliseconds per graph and the graphs per second of each family.
The machine may be shared: report medians and the load average printed with them.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections import defaultdict

from nape_plugin.data.generators import family_names, network_graph, random_graphs, random_network


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="graphs per random_graphs call")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    totals = []
    for r in range(args.repeats):
        t = time.perf_counter()
        graphs = random_graphs(args.n, seed=r)
        totals.append(time.perf_counter() - t)
        print(f"random_graphs({args.n}, seed={r}): {totals[-1]:.1f} s ({args.n / totals[-1]:.1f} graphs/s), "
              f"{sum(g.num_nodes for g in graphs) / len(graphs):.0f} nodes on average")
    print(f"median: {statistics.median(totals):.1f} s per {args.n} graphs")
    names = family_names()
    per: dict[str, list[float]] = defaultdict(list)
    for i in range(args.n):
        family = names[i % len(names)]
        t = time.perf_counter()
        network_graph(random_network(family, random.Random(f"{args.repeats}/{i}")))
        per[family].append(time.perf_counter() - t)
    print(f"{'family':<14} {'graphs':>6} {'median ms':>10} {'graphs/s':>9}")
    for family in names:
        ms = statistics.median(per[family]) * 1e3
        print(f"{family:<14} {len(per[family]):>6} {ms:>10.1f} {1e3 / ms:>9.1f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
