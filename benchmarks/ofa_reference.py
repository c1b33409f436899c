"""Check the OFA spaces against Once-for-All's own implementation: parameters and conv/linear MACs of subnets.

Needs the Once-for-All code importable as ``ofa`` (``pip install ofa``, or a checkout of mit-han-lab/once-for-all
on ``PYTHONPATH``); torchvision is not needed. For the largest, the smallest and ``--random`` sampled subnets of each
space, OFA's supernet class builds the subnet (``set_active_subnet`` + ``get_active_subnet``) and we compare its
parameter count and the MACs of its traced graph with ``space.build(arch)`` and ``space.to_graph(arch)``.

    PYTHONPATH=/path/to/once-for-all python benchmarks/ofa_reference.py --random 20
"""
from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import types
import warnings

import torch

import nape_plugin as nape

if importlib.util.find_spec("torchvision") is None:      # only OFA's data loaders use torchvision
    sys.modules["ofa.utils.my_dataloader"] = types.ModuleType("ofa.utils.my_dataloader")
from ofa.imagenet_classification.elastic_nn.networks import (OFAMobileNetV3, OFAProxylessNASNets,  # noqa: E402
                                                             OFAResNets)

MAC_OPS = ("conv", "depthwise_conv", "linear")


def macs(g) -> int:
    return sum(n.flops for n in g.nodes if n.op in MAC_OPS)


def supernets():
    mobile = dict(dropout_rate=0, ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])
    return {
        "ofa_mbv3": (OFAMobileNetV3(width_mult=1.0, **mobile),
                     {"ks": [7] * 20, "e": [6] * 20, "d": [4] * 5}, {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5}),
        "ofa_pn": (OFAProxylessNASNets(width_mult=1.3, **mobile),
                   {"ks": [7] * 21, "e": [6] * 21, "d": [4] * 5 + [1]},
                   {"ks": [3] * 21, "e": [3] * 21, "d": [2] * 5 + [1]}),
        "ofa_resnet": (OFAResNets(dropout_rate=0, depth_list=[0, 1, 2], expand_ratio_list=[0.2, 0.25, 0.35],
                                  width_mult_list=[0.65, 0.8, 1.0]),
                       {"d": [2] * 5, "e": [0.35] * 18, "w": [2] * 6}, {"d": [0] * 5, "e": [0.2] * 18, "w": [0] * 6}),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=10, help="random subnets per space besides the largest/smallest")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    failures = 0
    print(f"{'space':<11} {'subnet':<8} {'res':>4} {'params (ours)':>14} {'params (OFA)':>14} {'MACs ours':>11} "
          f"{'MACs OFA':>11}")
    for name, (supernet, largest, smallest) in supernets().items():
        space = nape.spaces.get(name)
        cases = [("largest", {**largest, "r": [224]}), ("smallest", {**smallest, "r": [224]})]
        cases += [(f"random{i}", space.encode(space.sample(rng), "ofa")) for i in range(args.random)]
        for label, d in cases:
            arch = space.parse(d)
            r = d["r"][0]
            supernet.set_active_subnet(**{k: v for k, v in d.items() if k != "r"})
            ref = supernet.get_active_subnet(preserve_weight=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g_ref = nape.to_graph(ref, input_shape=(3, r, r))
            with torch.device("meta"):
                ours = sum(p.numel() for p in space.build(arch).parameters())
            g = space.to_graph(arch)
            theirs = sum(p.numel() for p in ref.parameters())
            ok = ours == g.params == theirs and macs(g) == macs(g_ref)
            failures += not ok
            print(f"{name:<11} {label:<8} {r:>4} {ours:>14,} {theirs:>14,} {macs(g) / 1e6:>10.2f}M "
                  f"{macs(g_ref) / 1e6:>10.2f}M{'' if ok else '  MISMATCH ' + arch}")
    print("all subnets match" if not failures else f"{failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
