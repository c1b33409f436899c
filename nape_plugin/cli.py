"""The ``nape`` command line.

Each subcommand is an object (a module, or a class here) with ``add_arguments(parser)`` and ``run(args) -> int | None``;
:data:`COMMANDS` lists them as ``(name, "module[:attribute]", help)``. Only the chosen subcommand's module is imported,
so ``nape --help`` stays fast and one command's optional dependencies never break another. Adding a subcommand is a
module with those two functions and one line in :data:`COMMANDS`. A :class:`~nape_plugin.errors.NapeError` prints a
one-line message and exits with status 2.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from . import __version__, threads
from .errors import ConversionError, NapeError

#: (name, "module[:attribute]", help) of every subcommand, in the order ``nape --help`` shows them.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("demo", "nape_plugin.demo", "score the shipped labelled sample with a pretrained model and plot it"),
    ("predict", "nape_plugin.estimator_cli:Predict", "predict the accuracy of architectures"),
    ("evaluate", "nape_plugin.evaluate", "zero-shot and few-shot metrics of a model on a benchmark family"),
    ("finetune", "nape_plugin.estimator_cli:Finetune", "fine-tune a pretrained model on labelled architectures"),
    ("pretrain", "nape_plugin.pretrain", "train an estimator from a config (reproduces the shipped models)"),
    ("convert", "nape_plugin.cli:Convert", "a network (space encoding, module factory, graph JSON) to a CG"),
    ("plugins", "nape_plugin.cli:Plugins", "list plugins, where they come from, and what they register"),
    ("search", "nape_plugin.cli_search:Search", "predictor-guided architecture search (regularised evolution)"),
    ("surrogate", "nape_plugin.cli_search:Surrogate", "fit, apply and evaluate a registered surrogate predictor"),
    ("naslib-eval", "nape_naslib.evaluate", "NASLib's predictor evaluation with the estimator (needs NASLib)"),
)

_FACTORY = re.compile(r"^(?P<module>.+\.py|[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_]\w*)$")


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attr) if attr else obj


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser, with arguments for the subcommand named in ``argv`` (only that one's module is imported)."""
    parser = argparse.ArgumentParser(prog="nape", description="nape-plugin: a generalized neural architecture "
                                     "performance estimator for NAS frameworks")
    parser.add_argument("--version", action="version", version=f"nape-plugin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, target, text in COMMANDS:
        p = sub.add_parser(name, help=text, description=text)
        if name == chosen:
            command = _load(target)
            command.add_arguments(p)
            _add_threads(p)
            p.set_defaults(handler=command.run)
    return parser


def _add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads`` for every subcommand (one that defines its own keeps it)."""
    try:
        threads.add_argument(parser)
    except argparse.ArgumentError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nape`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        with threads.limit(getattr(args, "threads", None)):
            return int(args.handler(args) or 0)
    except NapeError as e:
        print(f"nape {args.command}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:          # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error when Python flushes
        return 0


# --------------------------------------------------------------------------------------------------- convert
def _input_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape; write C,H,W without the batch, e.g. 3,32,32")
    return shape


def _literal(text: str) -> Any:
    """``text`` as JSON or a Python literal when it is a list, tuple or dict (tuples, matrices), else the string."""
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, (list, tuple, dict)):
            return value
    return text


def _keyword(text: str) -> tuple[str, Any]:
    key, eq, value = text.partition("=")
    if not eq or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def load_factory(target: str) -> Any:
    """The object named by ``path/to/file.py:name`` or ``package.module:name``."""
    match = _FACTORY.match(target)
    if match is None:
        raise ConversionError(f"{target!r} is not MODULE.py:FACTORY or package.module:FACTORY")
    module, attr = match["module"], match["attr"]
    if module.endswith(".py"):
        path = Path(module).resolve()
        if not path.is_file():
            raise ConversionError(f"no file {module}; give the path of the Python file that defines {attr}")
        spec = importlib.util.spec_from_file_location(f"_nape_factory_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod                # dataclasses and pickling look classes up there
        sys.path.insert(0, str(path.parent))       # so the file can import its neighbours
        try:
            spec.loader.exec_module(mod)
        finally:
            sys.path.remove(str(path.parent))
    else:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            raise ConversionError(f"cannot import {module} ({e}); give a .py file path or an importable module") \
                from None
    if not hasattr(mod, attr):
        public = sorted(n for n in vars(mod) if not n.startswith("_") and callable(getattr(mod, n)))
        raise ConversionError(f"{module} has no {attr!r}; its callables: {', '.join(public) or 'none'}")
    return getattr(mod, attr)


def build_module(factory: Any, kwargs: dict[str, Any], device: str, label: str) -> Any:
    """Call ``factory(**kwargs)`` on ``device`` (``meta`` allocates no weights); an nn.Module is used as it is."""
    import torch
    from torch import nn
    if isinstance(factory, nn.Module):
        return factory
    if not callable(factory):
        raise ConversionError(f"{label} is a {type(factory).__name__}, not a torch.nn.Module or a function making one")
    try:
        with torch.device(device):
            module = factory(**kwargs)
    except Exception as e:
        if device != "meta":
            raise
        raise ConversionError(f"{label} failed on the meta device ({type(e).__name__}: {e}); "
                              "retry with --device cpu") from e
    if not isinstance(module, nn.Module):
        raise ConversionError(f"{label}() returned a {type(module).__name__}, not a torch.nn.Module")
    return module


class Convert:
    """``nape convert``: a space encoding, ``module.py:factory`` or graph JSON to computation-graph JSON."""

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.epilog = ("examples:  nape convert --space nb201 '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+"
                    "|skip_connect~0|nor_conv_3x3~1|skip_connect~2|' --summary\n"
                    "           nape convert models.py:resnet18 --input-shape 3,224,224 -k num_classes=10 -o r18.json")
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.add_argument("target", help="an architecture encoding (with --space, or any encoding only one space "
                       "accepts), MODULE.py:FACTORY or package.module:FACTORY (a function or class making a "
                       "torch.nn.Module), or a graph JSON file")
        p.add_argument("--space", help="search space of the encoding (`nape plugins` lists them)")
        p.add_argument("--input-shape", type=_input_shape, metavar="C,H,W",
                       help="shape of one input without the batch dimension (needed for modules)")
        p.add_argument("-k", "--kwarg", type=_keyword, action="append", default=[], metavar="KEY=VALUE",
                       help="keyword argument for the factory (a Python literal or a string); repeatable")
        p.add_argument("--device", choices=("meta", "cpu"), default="meta",
                       help="where the factory builds the module: meta (default) allocates no weight memory")
        p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the JSON to FILE instead of stdout")
        p.add_argument("--indent", type=int, default=None, help="indent the JSON by this many spaces")
        p.add_argument("--summary", action="store_true",
                       help="print the node table and totals instead of the JSON (with -o, the JSON is written too)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        import nape_plugin as nape
        context: dict[str, Any] = {}
        if args.input_shape is not None:
            context["input_shape"] = args.input_shape
        if args.space is None and _FACTORY.match(args.target) and not Path(args.target).is_file():
            factory = load_factory(args.target)
            obj = build_module(factory, dict(args.kwarg), args.device, args.target)
            context.setdefault("name", getattr(factory, "__name__", args.target))
        else:
            if args.kwarg:
                raise ConversionError("-k/--kwarg only applies to MODULE.py:FACTORY targets")
            obj = args.target if Path(args.target).suffix == ".json" else _literal(args.target)
            if args.space is not None:
                context["space"] = args.space
        graph = nape.to_graph(obj, **context)
        if args.output is not None:
            graph.to_json(args.output, indent=args.indent)
            print(f"wrote {args.output} ({graph.num_nodes} nodes, {graph.num_edges} edges)", file=sys.stderr)
        if args.summary:
            print(graph.summary(max_rows=None))
        elif args.output is None:
            print(graph.to_json(indent=args.indent))
        return 0


# --------------------------------------------------------------------------------------------------- plugins
class Plugins:
    """``nape plugins``: every plugin, where it came from, its hooks, and the registries they fill."""

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print the listing as JSON")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from . import plugins, spaces
        rows = plugins.describe()
        modules, functions, methods = plugins.op_mappings()
        registries = {"spaces": spaces.names(), "predictors": sorted(plugins.predictors()),
                      "pretrained": sorted(plugins.pretrained()),
                      "op_mappings": {"module classes": len(modules), "functions": len(functions),
                                      "tensor methods": len(methods)}}
        if args.json:
            print(json.dumps({"plugins": rows, "registered": registries}, indent=2))
            return 0
        for row in rows:
            print(f"{row['name']}  ({row['source']})")
            print(f"    hooks:       {', '.join(row['hooks']) or 'none'}")
            for key, value in row["provides"].items():
                label = key.replace("_", " ") + ":"
                print(f"    {label:<12} {', '.join(value) if isinstance(value, list) else value}")
        print()
        for key in ("spaces", "predictors", "pretrained"):
            names = registries[key]
            print(f"{key} ({len(names)}): {', '.join(names) or 'none'}")
        counts = registries["op_mappings"]
        print(f"op mappings: {sum(counts.values())} ({', '.join(f'{v} {k}' for k, v in counts.items())})")
        return 0
