"""``nape search`` (predictor-guided search) and ``nape surrogate`` (fit, apply and evaluate a registered surrogate).

Both read architectures and labels from CSV files: an architecture column holding encodings of ``--space``, label and
cost columns holding numbers.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, EncodingError
from ..utils.files import atomic_write, writable_file
from .inputs import output_file, output_folder, positive_int, read_csv


def _keyword(text: str) -> tuple[str, Any]:
    from .convert import _keyword as parse
    return parse(text)


def read_table(path: Path, arch_column: str, columns: list[str], space: Any) -> tuple[list[Any], dict[str, np.ndarray]]:
    """Architectures (canonical encodings of ``space``) and numeric ``columns`` of a CSV file."""
    rows = read_csv(path, (arch_column, *columns))[1]
    archs = []
    for i, r in enumerate(rows):
        try:
            archs.append(space.parse(_literal(r[arch_column])))
        except EncodingError as e:
            raise EncodingError(f"{path} row {i + 2}: {e}") from None
    values = {}
    for c in columns:
        try:
            values[c] = np.array([float(r[c]) for r in rows])
        except ValueError:
            raise DataError(f"column {c!r} of {path} is not numeric") from None
        if not np.isfinite(values[c]).all():
            raise DataError(f"column {c!r} of {path} holds NaN or infinite values (row "
                            f"{int(np.argmax(~np.isfinite(values[c]))) + 2}); drop or fix those rows")
    return archs, values


def _literal(text: str) -> Any:
    from .convert import _literal as parse
    return parse(text)


def _fit(model: Any, archs: list[Any], y: np.ndarray, space: Any) -> Any:
    from ..search.scorers import bind_space, inputs
    return bind_space(model, space).fit(inputs(model, archs, space), y)


class Search:
    """``nape search``: regularised evolution (or random search) guided by a predictor."""

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.epilog = ("examples:  nape search --space nb201 --scorer default --budget 1000 --cost flops --out run1\n"
                    "           nape search --space nb201 --scorer gbdt --train-csv labelled.csv --label-column acc\n"
                    "           nape search --space nb201 --start '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                    "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'")
        p.add_argument("--space", required=True, help="search space (`nape plugins` lists them)")
        p.add_argument("--scorer", default="default",
                       help="a pretrained estimator name, a registered predictor (gbdt, synflow, flops, ...) or a "
                            "saved estimator file (.pt); default: the shipped default estimator")
        p.add_argument("-k", "--kwarg", type=_keyword, action="append", default=[], metavar="KEY=VALUE",
                       help="keyword argument for a registered predictor (e.g. batch_size=32); repeatable")
        p.add_argument("--train-csv", type=Path, help="labelled architectures to fit the scorer on first")
        p.add_argument("--label-column", help="label column of --train-csv (higher = better)")
        p.add_argument("--arch-column", default="arch", help="architecture column of the CSV files (default: arch)")
        p.add_argument("--budget", type=positive_int, default=1000,
                       help="distinct architectures to score (default 1000)")
        p.add_argument("--strategy", choices=("evolution", "random"), default="evolution",
                       help="evolution: regularised evolution (tournament selection, mutation, oldest out); "
                            "random: independent random samples (default: evolution)")
        p.add_argument("--cost", action="append", default=[], choices=("flops", "params"),
                       help="a cost to minimise beside the score; repeatable")
        p.add_argument("--cost-csv", type=Path, help="a table of per-architecture costs (e.g. measured latency)")
        p.add_argument("--cost-column", action="append", default=[],
                       help="a column of --cost-csv to minimise; repeatable")
        p.add_argument("--start", help="GENNAPE mode: look for a higher score and fewer FLOPs than this architecture")
        p.add_argument("--population", type=positive_int, default=50,
                       help="architectures alive in the evolution (at first random samples, or --start and its "
                            "mutations; default 50)")
        p.add_argument("--sample-size", type=positive_int, default=10, help="tournament size")
        p.add_argument("--batch-size", type=positive_int, default=1, help="children scored per evolution step")
        p.add_argument("--seed", type=int, default=0, help="seed of the sampling and mutations (default 0)")
        p.add_argument("--top", type=positive_int, default=10, help="rows of the printed table")
        p.add_argument("--out", type=output_folder, help="folder for history.csv, front.csv and pareto.png")
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from .. import spaces
        from ..search import search
        from ..search.scorers import resolve_scorer
        space = spaces.get(args.space)
        if args.out is not None:
            for name in ("history.csv", "front.csv", "pareto.png"):
                writable_file(args.out / name)
        scorer = resolve_scorer(args.scorer, **dict(args.kwarg))
        if args.train_csv is not None:
            if not args.label_column:
                raise DataError("--train-csv needs --label-column")
            archs, cols = read_table(args.train_csv, args.arch_column, [args.label_column], space)
            scorer = _fit(scorer, archs, cols[args.label_column], space)
        costs: dict[str, Any] = {c: c for c in args.cost}
        if args.cost_column:
            if args.cost_csv is None:
                raise DataError("--cost-column needs --cost-csv")
            archs, cols = read_table(args.cost_csv, args.arch_column, args.cost_column, space)
            costs.update({c: dict(zip(archs, cols[c])) for c in args.cost_column})
        t = time.perf_counter()
        res = search(space, scorer, budget=args.budget, costs=costs or None, strategy=args.strategy,
                     population=args.population, sample_size=args.sample_size, batch_size=args.batch_size,
                     start=args.start, seed=args.seed, progress=False if args.no_progress else None,
                     plot=None if args.out is None else args.out / "pareto.png")
        seconds = time.perf_counter() - t
        if args.out is not None:
            res.to_csv(args.out / "history.csv")
            res.to_csv(args.out / "front.csv", res.front)
        if args.json:
            print(json.dumps({"space": res.space, "queries": len(res.history), "seconds": seconds, "best": res.best,
                              "front": res.front, "start": res.start, "improved": res.improved[:args.top]},
                             default=str, indent=2))
            return 0
        top = sorted(res.history, key=lambda r: -r["score"])[:args.top]
        print(f"{len(res.history)} architectures of {res.space} scored in {seconds:.1f} s")
        _table(f"top {len(top)} by score", top, res.costs)
        if res.costs:
            _table(f"Pareto front ({len(res.front)})", res.front, res.costs)
        if res.start is not None:
            _table("start", [res.start], res.costs)
            _table(f"higher score and fewer FLOPs than the start ({len(res.improved)})", res.improved[:args.top],
                   res.costs)
        if args.out is not None:
            print(f"wrote {args.out / 'history.csv'}, {args.out / 'front.csv'}, {args.out / 'pareto.png'}")
        return 0


def _table(title: str, rows: list[dict[str, Any]], costs: tuple[str, ...]) -> None:
    print(f"\n{title}")
    print(f"{'score':>10}  " + "".join(f"{c:>12}  " for c in costs) + "arch")
    for r in rows:
        print(f"{r['score']:>10.4f}  " + "".join(f"{r[c]:>12.4g}  " for c in costs) + str(r["arch"]))


class Surrogate:
    """``nape surrogate``: fit a registered predictor on a CSV, then predict (and evaluate) another."""

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.epilog = ("examples:  nape surrogate gbdt --space nb201 --train train.csv --test test.csv "
                    "--label-column acc\n"
                    "           nape surrogate synflow --space nb201 --test cells.csv --label-column acc\n"
                    "           nape surrogate lcsvr --space nb101 --train runs.csv --test new.csv --label-column "
                    "acc108 --curve-columns acc4,acc12")
        p.add_argument("name", help="a registered predictor (`nape plugins` lists them: gbdt, random_forest, lcsvr, "
                       "synflow, nwot, jacov, grad_norm, snip, flops, params, and those of plugins)")
        p.add_argument("--space", required=True, help="search space of the architecture column")
        p.add_argument("--train", type=Path, help="CSV of labelled architectures to fit on (training-free predictors "
                       "only calibrate their units on it)")
        p.add_argument("--test", type=Path, required=True, help="CSV of architectures to predict")
        p.add_argument("--arch-column", default="arch", help="architecture column (default: arch)")
        p.add_argument("--label-column", help="label column (needed with --train; evaluated on --test when present)")
        p.add_argument("--curve-columns", help="comma-separated partial-curve columns (learning-curve predictors)")
        p.add_argument("-k", "--kwarg", type=_keyword, action="append", default=[], metavar="KEY=VALUE",
                       help="keyword argument for the predictor (e.g. backend=lightgbm); repeatable")
        p.add_argument("-o", "--output", type=output_file, help="write arch,prediction[,std] rows to this CSV")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from .. import metrics, spaces
        from ..predictors.learning_curves import LearningCurvePredictor
        from ..search.scorers import bind_space, inputs, make_predictor, needs_fit
        space = spaces.get(args.space)
        model = bind_space(make_predictor(args.name, **dict(args.kwarg)), space)
        curves = [c for c in (args.curve_columns or "").split(",") if c]
        if isinstance(model, LearningCurvePredictor) and not curves:
            raise DataError(f"{args.name} predicts from partial learning curves: pass --curve-columns")

        def load(path: Path, labelled: bool) -> tuple[list[Any], dict[str, np.ndarray], bool]:
            header = read_csv(path)[0]
            has_label = bool(args.label_column) and args.label_column in header
            if labelled and not has_label:
                raise DataError(f"{path} needs the label column {args.label_column!r} (--label-column)")
            archs, cols = read_table(path, args.arch_column, curves + ([args.label_column] if has_label else []),
                                     space)
            return archs, cols, has_label

        def predict_args(archs: list[Any], cols: dict[str, np.ndarray]) -> tuple[list[Any], dict[str, Any]]:
            if isinstance(model, LearningCurvePredictor):
                return [np.stack([cols[c] for c in curves], 1)], {"graphs": [space.to_graph(a) for a in archs]}
            return [inputs(model, archs, space)], {}

        t = time.perf_counter()
        if args.train is not None:
            archs, cols, _ = load(args.train, True)
            pos, kw = predict_args(archs, cols)
            model.fit(*pos, cols[args.label_column], **kw)
        elif needs_fit(model):
            raise DataError(f"{args.name} must be fitted first: pass --train with --label-column")
        fit_s = time.perf_counter() - t
        archs, cols, has_label = load(args.test, False)
        pos, kw = predict_args(archs, cols)
        t = time.perf_counter()
        out = model.predict(*pos, **kw, **({"return_std": True} if hasattr(model, "models_") else {}))
        pred_s = time.perf_counter() - t
        mean, std = out if isinstance(out, tuple) else (out, None)
        print(f"{args.name}: fitted in {fit_s:.2f} s; predicted {len(archs)} architectures in {pred_s:.2f} s "
              f"({1e3 * pred_s / len(archs):.2f} ms each)")
        if has_label:
            y = cols[args.label_column]
            ok = np.isfinite(mean)
            print(f"on {int(ok.sum())} labelled architectures: Spearman {metrics.spearman(y[ok], mean[ok]):.4f}  "
                  f"Kendall tau {metrics.kendall_tau(y[ok], mean[ok]):.4f}"
                  + (f"  MAE {metrics.mae(y[ok], mean[ok]):.4f}" if args.train is not None else ""))
        if args.output is not None:
            text = io.StringIO()
            w = csv.writer(text)
            w.writerow(["arch", "prediction"] + (["std"] if std is not None else []))
            for i, a in enumerate(archs):
                w.writerow([a, mean[i]] + ([std[i]] if std is not None else []))
            atomic_write(args.output, text.getvalue().encode())
            print(f"wrote {args.output}", file=sys.stderr)
        return 0
