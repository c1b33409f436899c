"""``nape predict`` and ``nape finetune``: the estimator from the command line."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..utils.files import input_file
from .inputs import output_file, read_csv


def _estimator(model: str):
    from ..gennape.pretrained import resolve
    return resolve(model)


def _items(args: argparse.Namespace) -> list[Any]:
    """Architectures from positional arguments or a file (one per line, or a CSV with an ``arch`` column)."""
    items: list[Any] = list(args.archs)
    if args.file:
        path = input_file(args.file, "architecture file")
        if path.suffix == ".csv":
            items += [row["arch"] for row in read_csv(path, ("arch",))[1]]
        else:
            try:
                items += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            except UnicodeDecodeError as e:
                raise DataError(f"{path} is not UTF-8 text (byte {e.start}); give one encoding per line") from None
    if not items:
        raise DataError("no architectures given: pass encodings, graph JSON files, or --file")
    return items


def _context(args: argparse.Namespace) -> dict[str, Any]:
    return {"space": args.space} if args.space else {}


def _graph(item: str, context: dict[str, Any]):
    from ..convert import to_graph
    return to_graph(input_file(item, "graph JSON file") if item.endswith(".json") else item, **context)


class Predict:
    """``nape predict``: scores for architectures given as encodings or graph JSON files."""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("archs", nargs="*", help="encodings (with --space where ambiguous) or graph JSON files")
        parser.add_argument("--file", help="a text file with one encoding per line, or a CSV with an 'arch' column")
        parser.add_argument("--space", help="search space of the encodings (see `nape plugins`)")
        parser.add_argument("--model", default="default", help="pretrained name or saved estimator file")
        parser.add_argument("--std", action="store_true", help="also print the spread across heads")
        parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        est = _estimator(args.model)
        items = _items(args)
        graphs = [_graph(i, _context(args)) for i in items]
        mean, std = est.predict(graphs, return_std=True)
        for item, m, s in zip(items, mean, std):
            if args.json:
                print(json.dumps({"arch": item, "score": float(m), **({"std": float(s)} if args.std else {})}))
            else:
                print(f"{m:10.4f}" + (f" +- {s:.4f}" if args.std else "") + f"  {item}")
        return 0


class Finetune:
    """``nape finetune``: fine-tune a pretrained estimator on a CSV of labelled architectures and save it."""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("labels", help="CSV with columns 'arch' and 'label' (and optionally others)")
        parser.add_argument("--space", help="search space of the encodings")
        parser.add_argument("--model", default="default", help="pretrained name or saved estimator file")
        parser.add_argument("--mode", default=None, choices=["auto", "rescale", "heads", "adapter", "full"],
                            help="fine-tuning path (default: picked by sample count)")
        parser.add_argument("--out", required=True, type=output_file,
                            help="where to save the fine-tuned estimator (.pt)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        path = Path(args.labels)
        rows = read_csv(path, ("arch", "label"), "labels CSV file")[1]
        try:
            labels = np.array([float(r["label"]) for r in rows])
        except ValueError as e:
            raise DataError(f"the 'label' column of {path} must hold numbers ({e})") from None
        est = _estimator(args.model)
        graphs = [_graph(r["arch"], _context(args)) for r in rows]
        est.fit(graphs, labels, mode=args.mode)
        est.save(args.out)
        print(f"fine-tuned '{args.model}' on {len(rows)} architectures ({est.finetune_mode_}); saved {args.out}",
              file=sys.stderr)
        return 0
