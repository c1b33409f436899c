"""Torch CPU threads for nape's own work: one default for every entry point, applied only while nape computes.

The estimator's forward passes are small (a few dozen channels per node), so extra threads mostly wait: on the shared
2-core development machine one thread had the lowest median fine-tuning time, and two threads were up to 23 times
slower whenever other processes held a core (docs/results.md#threads). So nape runs its work on :data:`DEFAULT`
threads unless told otherwise: the ``threads`` argument of an entry point, else the ``NAPE_THREADS`` environment
variable (a number, or ``torch`` for torch's own setting). The setting holds only for the duration of nape's calls;
torch's process-wide setting is restored afterwards.
"""
from __future__ import annotations

import argparse
import contextlib
import contextvars
import functools
import os
from typing import Any, Callable, Iterator, TypeVar

from ..errors import NapeError

#: Threads nape uses when neither a ``threads`` argument nor ``NAPE_THREADS`` says otherwise.
DEFAULT = 1
ENV = "NAPE_THREADS"
TORCH = "torch"

F = TypeVar("F", bound=Callable[..., Any])
_active: contextvars.ContextVar[bool] = contextvars.ContextVar("nape_threads_active", default=False)


def resolve(threads: int | str | None = None) -> int | None:
    """The thread count to use: ``threads``, else ``$NAPE_THREADS``, else :data:`DEFAULT`; ``None`` for "torch's own
    setting" (``threads="torch"`` or ``NAPE_THREADS=torch``)."""
    value: int | str = threads if threads is not None else os.environ.get(ENV) or DEFAULT
    if isinstance(value, str):
        if value.strip().lower() == TORCH:
            return None
        try:
            number = int(value)
        except ValueError:
            raise NapeError(f"threads must be a positive number or {TORCH!r}, got {value!r} "
                            f"(from {'$' + ENV if threads is None else 'the threads argument'})") from None
        value = number
    if value < 1:
        raise NapeError(f"threads must be at least 1 (or {TORCH!r} for torch's own setting), got {value}")
    return value


@contextlib.contextmanager
def limit(threads: int | str | None = None) -> Iterator[int | None]:
    """Run the block on :func:`resolve` ``(threads)`` torch threads; torch's setting is restored afterwards.

    Inside another ``limit``, ``threads=None`` keeps the outer block's choice (a command's ``--threads`` holds for the
    estimator calls it makes).
    """
    import torch
    if threads is None and _active.get():
        yield torch.get_num_threads()
        return
    n = resolve(threads)
    before = torch.get_num_threads()
    token = _active.set(True)
    try:
        if n is None or n == before:
            yield n
            return
        torch.set_num_threads(n)
        try:
            yield n
        finally:
            torch.set_num_threads(before)
    finally:
        _active.reset(token)


def limited(method: F) -> F:
    """Decorate an estimator method to run under :func:`limit` with the instance's ``threads`` attribute (if any)."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with limit(getattr(self, "threads", None)):
            return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]


def threads_arg(text: str) -> int | str:
    """argparse type of ``--threads``: a positive number or ``torch``."""
    try:
        value = resolve(text)
    except NapeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return TORCH if value is None else value


def add_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N`` (or ``torch``), defaulting to ``$NAPE_THREADS`` or :data:`DEFAULT`."""
    parser.add_argument("--threads", type=threads_arg, default=None, metavar="N",
                        help=f"torch CPU threads for this command (default: ${ENV}, else {DEFAULT}; 'torch' keeps "
                             "torch's own setting)")
