"""The ``nape`` command line.

Each subcommand is an object (a module, or a class here) with ``add_arguments(parser)`` and ``run(args) -> int | None``,
registered through the ``nape_register_commands`` hook as ``{name: Command("module[:attribute]", help)}``: the
built-in ones by :mod:`nape_plugin.cli.builtin`, the adapters' (``naslib-eval``) by their plugins. Only the chosen
subcommand's module is imported, so ``nape --help`` stays fast and one command's optional dependencies never break
another. A :class:`~nape_plugin.errors.NapeError` prints a one-line message and exits with status 2.
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


def _error(command: str | None, e: NapeError) -> int:
    print(f"nape{f' {command}' if command else ''}: error: {' '.join(str(e).split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nape`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)           # collects the subcommands from the plugins, which may be broken
    except NapeError as e:
        return _error(_chosen(argv), e)
    args = parser.parse_args(argv)
    try:
        with threads.limit(getattr(args, "threads", None)):
            return int(args.handler(args) or 0)
    except NapeError as e:
        return _error(args.command, e)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:          # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error when Python flushes
        return 0
