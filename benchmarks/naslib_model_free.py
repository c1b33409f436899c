"""What NASLib's networks cost a search that never trains one (docs/results.md, "NASLib without networks").

Two jobs, each in a fresh process, with NASLib's NAS-Bench-201 search space as NASLib builds it (``instantiate``) and
through ``nape_naslib.model_free`` (``model-free``):

* ``sample``: draw and keep ``--archs`` architectures the way NASLib's optimizers and ``PredictorEvaluator`` do
  (``space.clone()``, then ``sample_random_architecture()``);
* ``bananas``: ``examples/naslib_bananas.py``'s search (NapeBananas, NASLib's Trainer, ``--queries`` queries, labels
  from ``../shared/data/nb201/nb201.csv``).

Wall time and the process's peak resident memory; medians over ``--repeats`` runs, the two modes alternating.
Needs NASLib on the path (docs/naslib.md)::

    python benchmarks/naslib_model_free.py [--archs 200] [--queries 30] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TABLE = Path(os.environ.get("NAPE_DATA") or ROOT.parent / "shared" / "data") / "nb201" / "nb201.csv"
MODES = ("instantiate", "model-free")


def _space(mode: str):
    from naslib.search_spaces import NasBench201SearchSpace

    from nape_naslib import model_free
    space = NasBench201SearchSpace()
    return model_free(space) if mode == "model-free" else space


def sample(mode: str, archs: int) -> None:
    from naslib.utils import set_seed
    space = _space(mode)
    set_seed(0)
    kept = []                   # as PredictorEvaluator keeps its training and test architectures
    for _ in range(archs):
        arch = space.clone()
        arch.sample_random_architecture()
        kept.append(arch)


def bananas(mode: str, queries: int) -> None:
    from fvcore.common.config import CfgNode
    from naslib.defaults.trainer import Trainer
    from naslib.utils import set_seed

    from nape_naslib import NapeBananas
    from nape_naslib.data import nb201_dataset_api
    with tempfile.TemporaryDirectory() as out:
        os.makedirs(os.path.join(out, "search"))
        config = CfgNode(dict(      # examples/naslib_bananas.py's config
            dataset="cifar10", seed=0, search_space="nasbench201", optimizer="bananas", out_dir=out, save=out,
            search=CfgNode(dict(seed=0, epochs=queries, checkpoint_freq=1000, fidelity=200, k=10, num_init=10,
                                num_ensemble=3, predictor_type="bananas", acq_fn_type="its",
                                acq_fn_optimization="mutation", encoding_type="path", num_arches_to_mutate=2,
                                max_mutations=1, num_candidates=100))))
        api = nb201_dataset_api(TABLE, "cifar10")
        set_seed(0)
        optimizer = NapeBananas(config)
        optimizer.adapt_search_space(_space(mode), dataset_api=api)
        Trainer(optimizer, config, lightweight_output=True).search(report_incumbent=False)


def worker(job: str, mode: str, n: int) -> dict:
    import logging

    from nape_naslib import load_naslib
    load_naslib()
    logging.getLogger("naslib").setLevel(logging.WARNING)
    start = time.perf_counter()
    (sample if job == "sample" else bananas)(mode, n)
    return {"job": job, "mode": mode, "n": n, "seconds": time.perf_counter() - start,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "load": os.getloadavg()[0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archs", type=int, default=200)
    p.add_argument("--queries", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--jobs", nargs="+", default=["sample", "bananas"], choices=["sample", "bananas"])
    p.add_argument("--worker", nargs=3, metavar=("JOB", "MODE", "N"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        job, mode, n = args.worker
        print(json.dumps(worker(job, mode, int(n))))
        return
    runs: dict[tuple[str, str], list[dict]] = {}
    for job in args.jobs:
        n = args.archs if job == "sample" else args.queries
        for _ in range(args.repeats):
            for mode in MODES:
                out = subprocess.run([sys.executable, __file__, "--worker", job, mode, str(n)], check=True,
                                     capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                runs.setdefault((job, mode), []).append(r)
                print(f"{job} {mode} n={n}: {r['seconds']:.1f} s, {r['peak_rss_mb']:.0f} MB, load {r['load']:.1f}",
                      flush=True)
    print("\n| job | mode | runs | wall time (s), median | peak memory (MB), median | load average |")
    print("|---|---|---:|---:|---:|---:|")
    for (job, mode), rs in runs.items():
        what = f"sample {rs[0]['n']} architectures" if job == "sample" else f"BANANAS, {rs[0]['n']} queries"
        print(f"| {what} | {mode} | {len(rs)} | {np.median([r['seconds'] for r in rs]):.1f} | "
              f"{np.median([r['peak_rss_mb'] for r in rs]):,.0f} | {np.median([r['load'] for r in rs]):.1f} |")


if __name__ == "__main__":
    main()
