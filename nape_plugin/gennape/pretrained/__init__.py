"""Shipped pretrained estimators: weights (``<name>.pt``) and their JSON cards (``<name>.json``) in this folder.

``nape.load_pretrained(name)`` looks names up in the registry that the ``nape_register_pretrained`` hook fills; the
built-in plugin registers every ``.pt`` file here. Each load returns a fresh copy, so fine-tuning one never changes
another.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from ...errors import UnknownNameError

HERE = Path(__file__).resolve().parent


def shipped() -> dict[str, Callable[[], Any]]:
    """``{name: loader}`` for every model file shipped in the package."""
    from ..estimator import load
    return {p.stem: (lambda p=p: load(p)) for p in sorted(HERE.glob("*.pt"))}


def names() -> list[str]:
    """Every registered pretrained model name."""
    from ...plugins.manager import pretrained
    return sorted(pretrained())


def load_pretrained(name: str = "default"):
    """A fresh copy of the pretrained estimator registered as ``name``."""
    from ...plugins.manager import pretrained
    registry = pretrained()
    if name not in registry:
        raise UnknownNameError(f"no pretrained model named {name!r}; available: {', '.join(sorted(registry)) or 'none'}"
                               " (`nape plugins` lists them with where they come from)")
    return registry[name]()


def card(name: str = "default") -> dict[str, Any]:
    """The JSON card of a shipped model: training data, seed, command, git revision, metrics."""
    path = HERE / f"{name}.json"
    if not path.is_file():
        raise UnknownNameError(f"no card for {name!r}; shipped cards: {', '.join(p.stem for p in HERE.glob('*.json'))}")
    return json.loads(path.read_text())
