"""``nape convert``: a space encoding, ``module.py:factory`` or graph JSON to computation-graph JSON."""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..convert import to_graph
from ..errors import ConversionError
from ..utils.files import is_file
from .inputs import output_file

_FACTORY = re.compile(r"^(?P<module>.+\.py|[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_]\w*)$")


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
        if not is_file(path):
            raise ConversionError(f"no file {module}; give the path of the Python file that defines {attr}")
        spec = importlib.util.spec_from_file_location(f"_nape_factory_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod                # dataclasses and pickling look classes up there
        sys.path.insert(0, str(path.parent))       # so the file can import its neighbours
        try:
            spec.loader.exec_module(mod)
        except SyntaxError as e:
            raise ConversionError(f"{module} is not valid Python (line {e.lineno}: {e.msg})") from None
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
        inspect.signature(factory).bind(**kwargs)
    except TypeError as e:
        raise ConversionError(f"{label} cannot take {', '.join(f'{k}=' for k in kwargs) or 'no arguments'} ({e}); "
                              "fix the -k/--kwarg options") from None
    except ValueError:                         # no signature to check (a builtin): the call will tell
        pass
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
        p.add_argument("-o", "--output", type=output_file, metavar="FILE",
                       help="write the JSON to FILE instead of stdout")
        p.add_argument("--indent", type=int, default=None, help="indent the JSON by this many spaces")
        p.add_argument("--summary", action="store_true",
                       help="print the node table and totals instead of the JSON (with -o, the JSON is written too)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        context: dict[str, Any] = {}
        if args.input_shape is not None:
            context["input_shape"] = args.input_shape
        if args.space is None and _FACTORY.match(args.target) and not is_file(args.target):
            factory = load_factory(args.target)
            obj = build_module(factory, dict(args.kwarg), args.device, args.target)
            context.setdefault("name", getattr(factory, "__name__", args.target))
        else:
            if args.kwarg:
                raise ConversionError("-k/--kwarg only applies to MODULE.py:FACTORY targets")
            obj = args.target if Path(args.target).suffix == ".json" else _literal(args.target)
            if args.space is not None:
                context["space"] = args.space
        graph = to_graph(obj, **context)
        if args.output is not None:
            graph.to_json(args.output, indent=args.indent)
            print(f"wrote {args.output} ({graph.num_nodes} nodes, {graph.num_edges} edges)", file=sys.stderr)
        if args.summary:
            print(graph.summary(max_rows=None))
        elif args.output is None:
            print(graph.to_json(indent=args.indent))
        return 0
