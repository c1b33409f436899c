"""The ``nape`` command line.

Each subcommand is an object (a module, or a class here) with ``add_arguments(parser)`` and ``run(args) -> int | None``,
registered through the ``nape_register_commands`` hook as ``{name: Command("module[:attribute]", help)}``: the
built-in ones by :mod:`nape_plugin.cli.builtin`, the adapters' (``naslib-eval``) by their plugins. Only the chosen
subcommand's module is imported, so ``nape --help`` stays fast and one command's optional dependencies never break
another.

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

from .. import plugins
from .._version import __version__
from ..errors import NapeError
from ..utils import threads

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
    chosen = _chosen(argv)
    for name, spec in plugins.commands().items():
        p = sub.add_parser(name, help=spec.help, description=spec.help)
        if name == chosen:
            command = _load(spec.target)
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


def _chosen(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nape`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)           # collects the subcommands from the plugins, which may be broken
    except NapeError as e:
        return _fail(_chosen(argv), str(e), 2)
    args = parser.parse_args(argv)
    try:
        with threads.limit(getattr(args, "threads", None)):
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


def _fail(command: str | None, message: str, status: int) -> int:
    """Print ``message`` as one line (at most :data:`MAX_MESSAGE` characters) and return ``status``."""
    text = " ".join(message.split())
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE - 200]} ... {text[-150:]}"
    print(f"nape{f' {command}' if command else ''}: error: {text}", file=sys.stderr)
    return status
