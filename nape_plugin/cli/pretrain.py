"""``nape pretrain``: train a shipped estimator from a config file (``nape_plugin/gennape/configs/``), and write its
weights and JSON card (to the user's pretrained folder, where ``--model <name>`` finds them); the same command with the
same config and seed reproduces the shipped weights."""
from __future__ import annotations

import argparse
import json
import shlex

import torch

from ..gennape.pretrained import shipped, user_dir
from ..gennape.recipe import load_config, pretrain
from .inputs import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="a shipped config name (gennape-nb101, default) or a JSON file")
    parser.add_argument("--out", default=None, help="folder for <name>.pt and <name>.json (default: "
                        f"{user_dir()}, where nape finds them by name; never over a shipped model)")
    parser.add_argument("--data-root", default=None, help="benchmark tables folder (default: $NAPE_DATA or "
                        "../shared/data)")
    parser.add_argument("--checkpoint-dir", default=None, help="resume from / write per-stage checkpoints here")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="torch CPU threads (default: $NAPE_THREADS, else 1)")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.config)
    if args.seed is not None:
        config["seed"] = args.seed
    options = {"--data-root": args.data_root, "--threads": args.threads, "--seed": args.seed}  # what shapes the weights
    command = " ".join(["nape pretrain", shlex.quote(args.config), *(f"{k} {shlex.quote(str(v))}" for k, v in
                                                                    options.items() if v is not None)])
    path = pretrain(config, args.out, args.data_root, args.checkpoint_dir, command=command)
    card = json.loads(path.with_suffix(".json").read_text())
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {card['train_seconds']:.0f} s")
    if path.parent == user_dir():
        print(f"  use it as --model {path.stem}" + (f" (a shipped model has that name: give the path, --model {path})"
                                                    if path.stem in shipped() else ""))
    for kind in ("held_out", "zero_shot"):
        for fam, m in card[kind].items():
            print(f"  {kind.replace('_', '-'):<9} {fam:<14} SRCC {m['srcc']:.4f}  Kendall tau {m['kendall_tau']:.4f}  "
                  f"(n={m['n']})")
    return 0
