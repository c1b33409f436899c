"""The ``nape`` command line.

Each subcommand is an object (a module, or a class here) with ``add_arguments(parser)`` and ``run(args) -> int | None``;
:data:`COMMANDS` lists them as ``(name, "module[:attribute]", help)``. Only the chosen subcommand's module is imported,
so ``nape --help`` stays fast and one command's optional dependencies never break another. Adding a subcommand is a
module with those two functions and one line in :data:`COMMANDS`.

Errors never show a traceback: a bad argument (argparse), a :class:`~nape_plugin.errors.NapeError` or another
``ValueError`` from bad input prints one line ``nape <command>: error: ...`` and exits with status 2; an ``OSError``
(a disk full, a file that vanished) prints one line and exits with status 1.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from typing import Any, Sequence

from .._version import __version__
from ..errors import NapeError

#: (name, "module[:attribute]", help) of every subcommand, in the order ``nape --help`` shows them.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("demo", "nape_plugin.cli.demo", "score the shipped labelled sample with a pretrained model and plot it"),
    ("predict", "nape_plugin.cli.predict:Predict", "predict the accuracy of architectures"),
    ("evaluate", "nape_plugin.cli.evaluate", "zero-shot and few-shot metrics of a model on a benchmark family"),
    ("finetune", "nape_plugin.cli.predict:Finetune", "fine-tune a pretrained model on labelled architectures"),
    ("pretrain", "nape_plugin.cli.pretrain", "train an estimator from a config (reproduces the shipped models)"),
    ("convert", "nape_plugin.cli.convert:Convert", "a network (space encoding, module factory, graph JSON) to a CG"),
    ("plugins", "nape_plugin.cli.plugins:Plugins", "list plugins, where they come from, and what they register"),
    ("search", "nape_plugin.cli.search:Search", "predictor-guided architecture search (regularised evolution)"),
    ("surrogate", "nape_plugin.cli.search:Surrogate", "fit, apply and evaluate a registered surrogate predictor"),
    ("naslib-eval", "nape_naslib.evaluate", "NASLib's predictor evaluation with the estimator (needs NASLib)"),
)

#: The longest error line the command prints (messages quoting huge inputs are cut in the middle).
MAX_MESSAGE = 1000


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
            p.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nape`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:          # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error when Python flushes
        return 0
    except (NapeError, ValueError) as e:
        return _fail(args.command, str(e), 2)
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        return _fail(args.command, f"{e.strerror or e}{where}", 1)


def _fail(command: str, message: str, status: int) -> int:
    """Print ``message`` as one line (at most :data:`MAX_MESSAGE` characters) and return ``status``."""
    text = " ".join(message.split())
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE - 200]} ... {text[-150:]}"
    print(f"nape {command}: error: {text}", file=sys.stderr)
    return status
