"""``nape_nni.search(..., batch_size=B)``: what batching the predictions saves (docs/results.md, "NNI integration").

NNI's ``RegularizedEvolution`` (population 100, sample 25) over ``--models`` models of two spaces, with the shipped
``default`` estimator, batch sizes 1 (NNI's sequential engine), 8 and 32 (``nape_nni.BatchedEngine``):

* ``nb201``: NNI's ``NasBench201`` hub space, whose samples have a fast path (no model is built);
* ``custom``: a user-defined ``ModelSpace`` outside NNI's hub (a CIFAR-sized network: width, depth per stage and an op
  per block to choose), so every model is frozen and traced (``input_shape=(3, 32, 32)``).

Wall time of the search; medians over ``--repeats`` runs, batch sizes alternating within a repeat::

    python benchmarks/nni_batch.py [--models 300] [--repeats 3]
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import torch
from torch import nn

BATCHES = (1, 8, 32)


def custom_space():
    """A small CIFAR network space: stem width, blocks per stage (1-3) and each block's op."""
    import nni
    from nni.nas.nn.pytorch import LayerChoice, ModelSpace, MutableBatchNorm2d, MutableConv2d, Repeat

    class Block(nn.Module):
        def __init__(self, c: int, label: str):
            super().__init__()
            self.op = LayerChoice({"conv3": nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()),
                                   "conv5": nn.Sequential(nn.Conv2d(c, c, 5, padding=2), nn.BatchNorm2d(c), nn.ReLU()),
                                   "sep3": nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c), nn.Conv2d(c, c, 1),
                                                         nn.BatchNorm2d(c), nn.ReLU()),
                                   "pool": nn.MaxPool2d(3, 1, 1), "skip": nn.Identity()}, label=label)

        def forward(self, x):
            return self.op(x) + x

    class Net(ModelSpace):
        def __init__(self):
            super().__init__()
            w = nni.choice("width", [16, 24, 32])
            self.stem = nn.Sequential(MutableConv2d(3, w, 3, padding=1), MutableBatchNorm2d(w), nn.ReLU())
            self.stages = nn.ModuleList()
            for s in range(3):
                self.stages.append(Repeat(lambda i, s=s: Block(32, f"s{s}b{i}"), (1, 3), label=f"depth{s}"))
            self.widen = MutableConv2d(w, 32, 1)
            self.head = nn.Linear(32, 10)

        def forward(self, x):
            x = self.widen(self.stem(x))
            for i, stage in enumerate(self.stages):
                x = stage(x)
                if i < 2:
                    x = nn.functional.max_pool2d(x, 2)
            return self.head(x.mean((2, 3)))

    with torch.device("meta"):
        return Net()


def run(space_name: str, batch_size: int, models: int, seed: int, estimator) -> float:
    from nni.nas.hub.pytorch import NasBench201
    from nni.nas.strategy import RegularizedEvolution

    from nape_nni import NapeEvaluator, search
    if space_name == "nb201":
        with torch.device("meta"):
            space, shape = NasBench201(), None
    else:
        space, shape = custom_space(), (3, 32, 32)
    evaluator = NapeEvaluator(estimator, input_shape=shape)
    start = time.perf_counter()
    result = search(space, RegularizedEvolution(population_size=100, sample_size=25, seed=seed), evaluator=evaluator,
                    max_models=models, batch_size=batch_size)
    seconds = time.perf_counter() - start
    assert len(result.history) == models, len(result.history)
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=300)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--spaces", nargs="+", default=["nb201", "custom"], choices=["nb201", "custom"])
    args = p.parse_args()
    logging.getLogger("nni").setLevel(logging.WARNING)
    import os

    import nape_plugin as nape
    estimator = nape.load_pretrained("default")
    times: dict[tuple[str, int], list[float]] = {}
    for space in args.spaces:
        for seed in range(args.repeats):
            for b in BATCHES:
                t = run(space, b, args.models, seed, estimator)
                times.setdefault((space, b), []).append(t)
                print(f"{space} batch_size={b} seed {seed}: {t:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"\n| space | batch_size | s per {args.models} models, median of {args.repeats} | vs batch_size=1 |")
    print("|---|---:|---:|---:|")
    for (space, b), ts in times.items():
        base = np.median(times[(space, 1)])
        print(f"| {space} | {b} | {np.median(ts):.1f} | {base / np.median(ts):.2f}x |")


if __name__ == "__main__":
    main()
