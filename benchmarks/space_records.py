"""Parameters and FLOPs of our graphs against every record of the benchmark tables that have them (docs/spaces.md).

    python benchmarks/space_records.py                 # nb_macro, tnb101_macro, tnb101_micro
    python benchmarks/space_records.py --families nb_macro

Per table row: the graph of the network the record was counted on, then its parameters and FLOPs in the record's
convention:

* ``nb_macro`` (``nas_bench_macro_cifar10.csv``): every parameter of the benchmark's network; FLOPs are conv and
  linear multiply-accumulates (the benchmark's ``count_FLOPs``), i.e. ``g.flops`` without the global pooling reads.
* ``tnb101_macro`` (``tnb101_macro_partial.csv``) and ``tnb101_micro`` (``tnb101_micro_class_scene.csv``): NASLib's
  NAS-Bench-Suite-Zero counts, in millions, of NASLib's build of the network with tensorwatch (conv and linear MACs,
  2 per element for an affine batch norm, 1 per ReLU input element, pooling windows, C*(H+1)*(W+1) for global
  pooling). Rows with a class_scene label were counted on the class_scene network with NASLib's 63-class decoder at a
  256x256 input; the 63 macro rows without class labels on the jigsaw network, its shared encoder counted once (on one
  64x64 tile).
"""
from __future__ import annotations

import argparse
import ast
import sys
from math import prod
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nape_plugin as nape  # noqa: E402
from nape_plugin.data import datasets  # noqa: E402
from nape_plugin.spaces.tnb101 import TNB101MacroSpace, TNB101MicroSpace  # noqa: E402


def tensorwatch_flops(nodes) -> int:
    """NAS-Bench-Suite-Zero's FLOPs of ``nodes`` (see the module docstring)."""
    total = 0
    for n in nodes:
        if n.op in ("conv", "linear", "avgpool", "maxpool"):
            total += n.flops
        elif n.op == "batchnorm":
            total += 2 * prod(n.in_shape)
        elif n.op == "relu":
            total += prod(n.in_shape)
        elif n.op == "global_avgpool":
            c, h, w = n.in_shape
            total += c * (h + 1) * (w + 1)
    return total


def jigsaw_flops(g) -> int:
    """The jigsaw record: the encoder once (the graph has it once per tile), then the decoder."""
    decoder = [n for n in g.nodes if n.op in ("global_avgpool", "linear")]
    return (tensorwatch_flops(g.nodes) - tensorwatch_flops(decoder)) // 9 + tensorwatch_flops(decoder)


def nb_macro(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    space = nape.spaces.get("nb_macro")
    graphs = [space.to_graph(a) for a in table.arch]
    params = np.array([g.params for g in graphs]) == table.params.to_numpy()
    flops = np.array([g.flops - sum(n.flops for n in g.nodes if n.op == "global_avgpool") for g in graphs])
    return params, flops == table.flops.to_numpy()


def tnb101(table: pd.DataFrame, space, arch_column: str, scene_column: str) -> tuple[np.ndarray, np.ndarray]:
    scene, jigsaw = type(space)(num_classes=63), space.for_task("jigsaw")
    params, flops = [], []
    for arch, p, f, labelled in zip(table[arch_column], table.params, table.flops, table[scene_column].notna()):
        g = (scene if labelled else jigsaw).to_graph(ast.literal_eval(arch))
        params.append(g.params == round(p * 1e6))
        flops.append((tensorwatch_flops(g.nodes) if labelled else jigsaw_flops(g)) == round(f * 1e6))
    return np.array(params), np.array(flops)


CHECKS = {
    "nb_macro": nb_macro,
    "tnb101_macro": lambda t: tnb101(t, TNB101MacroSpace(), "naslib_arch", "class_scene"),
    "tnb101_micro": lambda t: tnb101(t, TNB101MicroSpace(), "net", "val_accs"),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--families", nargs="*", default=list(CHECKS), choices=list(CHECKS))
    p.add_argument("--root", default=None, help="the data folder (default: $NAPE_DATA or ../shared/data)")
    args = p.parse_args()
    root = Path(args.root) if args.root else datasets.default_root()
    for family in args.families:
        table = pd.read_csv(root / datasets.FAMILIES[family].path, dtype={"arch": str})
        params, flops = CHECKS[family](table)
        print(f"{family}: params equal the record for {params.sum():,} of {len(table):,} rows, "
              f"FLOPs for {flops.sum():,}", flush=True)


if __name__ == "__main__":
    main()
