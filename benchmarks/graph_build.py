"""Computation-graph build throughput per space, direct builder and tracer, with peak memory (docs/results.md).

    python benchmarks/graph_build.py                    # every built-in space, 3 repeats
    python benchmarks/graph_build.py --spaces nb201 --all-nb201
    python benchmarks/graph_build.py --spaces tnb101_micro:jigsaw     # space:task, the network of one task

Direct: ``space.to_graph(arch)`` on random architectures (``--all-nb201``: all 15,625 NB201 cells). Traced:
``space.build(arch)`` on the meta device, then ``nape.to_graph(module, input_shape=...)``. Each repeat runs in a fresh
process, so peak memory (max RSS) is that of one repeat; the table gives medians.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import time

import numpy as np


def _one(space_name: str, n_direct: int, n_traced: int, all_nb201: bool, seed: int) -> dict:
    import torch

    import nape_plugin as nape
    torch.set_num_threads(1)
    name, _, task = space_name.partition(":")
    space = nape.spaces.get(name).for_task(task) if task else nape.spaces.get(name)
    rng = random.Random(seed)
    archs = list(space.enumerate()) if all_nb201 and space_name == "nb201" else \
        [space.sample(rng) for _ in range(n_direct)]
    shape = getattr(space, "input_shape_for", lambda a: space.input_shape)
    t = time.perf_counter()
    for a in archs:
        space.to_graph(a)
    direct = time.perf_counter() - t
    t = time.perf_counter()
    for a in archs[:n_traced]:
        with torch.device("meta"):
            module = space.build(a)
        nape.to_graph(module, input_shape=shape(a))
    traced = time.perf_counter() - t
    return {"direct_n": len(archs), "direct_s": direct, "traced_n": min(n_traced, len(archs)), "traced_s": traced,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    import nape_plugin as nape
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spaces", nargs="*", default=nape.spaces.names(),
                   help="space names, or space:task for the network of one task (e.g. tnb101_macro:segmentsemantic)")
    p.add_argument("--direct", type=int, default=1000, help="random architectures for the direct builder")
    p.add_argument("--traced", type=int, default=40, help="of those, how many to build and trace")
    p.add_argument("--all-nb201", action="store_true", help="direct-build all 15,625 NB201 cells")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    ctx = mp.get_context("spawn")
    print("| space | direct graphs/s | ms per graph | traced networks/s | peak RSS (MB) |\n|---|---|---|---|---|")
    rows = {}
    for name in args.spaces:
        with ctx.Pool(1, maxtasksperchild=1) as pool:
            runs = [pool.apply(_one, (name, args.direct, args.traced, args.all_nb201, r)) for r in range(args.repeats)]
        med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
        rows[name] = {**med, "runs": runs}
        print(f"| {name} | {med['direct_n'] / med['direct_s']:,.0f} ({med['direct_n']:.0f} in {med['direct_s']:.1f} s) "
              f"| {1000 * med['direct_s'] / med['direct_n']:.2f} | {med['traced_n'] / med['traced_s']:.1f} | "
              f"{med['peak_rss_mb']:.0f} |", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
