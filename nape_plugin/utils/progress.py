"""Progress bars for every loop over many graphs, epochs or queries: one helper, so ``NAPE_PROGRESS`` and the
terminal rule hold everywhere.

A bar appears only once its work has run for :data:`DELAY_S` seconds (quick loops print nothing) and is cleared when
it ends. ``enabled=None`` (the default) shows it when stderr is a terminal, or as ``NAPE_PROGRESS=1``/``0`` says;
``True``/``False`` force it.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sized
from typing import Any, Iterable, TypeVar

from tqdm.auto import tqdm

ENV = "NAPE_PROGRESS"
#: Seconds of work before a bar appears.
DELAY_S = 1.0
T = TypeVar("T")


def shown(enabled: bool | None = None) -> bool:
    """Whether a bar with ``enabled`` shows: as forced, else as ``NAPE_PROGRESS`` says, else on terminals."""
    if enabled is not None:
        return bool(enabled)
    env = os.environ.get(ENV, "").strip()
    return env == "1" if env in ("0", "1") else sys.stderr.isatty()


def progress_bar(total: int | None = None, desc: str = "", enabled: bool | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar (see the module docstring); ``kwargs`` go to tqdm."""
    return tqdm(total=total, desc=desc, disable=not shown(enabled), dynamic_ncols=True, leave=False,
                **{"delay": DELAY_S, **kwargs})


def track(items: Iterable[T], desc: str, enabled: bool | None = None, total: int | None = None) -> Iterable[T]:
    """``items``, counted on a bar while they are consumed (``total`` defaults to ``len(items)`` where it has one)."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    return progress_bar(total, desc, enabled, iterable=items)
