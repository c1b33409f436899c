"""Getting a ready estimator: from a file (``load``), by registered name (``load_pretrained``), or either
(``resolve``, timm-style). Names come from the registry the ``nape_register_pretrained`` hook fills; the built-in
plugin registers every ``.pt`` file shipped in this folder, and every model a user saved to the user data folder's
``pretrained/`` (:func:`user_dir`). Each load returns a fresh copy, so fine-tuning one never changes another, and
names its start: ``pretrained`` is the registered name or the file's absolute path, so ``fit`` (and every clone's)
fine-tunes from those weights.
"""
from __future__ import annotations

import copy
import io as _io
import json
import os
from functools import partial
from pathlib import Path
from typing import Any, Callable

from ...errors import UnknownNameError
from ...plugins import pretrained
from ...utils.files import data_dir, is_file
from .. import io
from ..bagging import BaggedEstimator
from ..estimator import GennapeEstimator

HERE = Path(__file__).resolve().parent
#: What :func:`load` returns.
Estimator = GennapeEstimator | BaggedEstimator


def load(path: str | os.PathLike | _io.BytesIO) -> Estimator:
    """An estimator written by ``save`` (a :class:`GennapeEstimator` or a bagged ensemble of them), whose start
    (``pretrained``) is that file: its absolute path, or for a file object an in-memory copy of what it holds."""
    blob = io.read(path)
    cls: type[Estimator] = BaggedEstimator if blob["format"] == io.BAG_FORMAT else GennapeEstimator
    with io.restoring(path):
        est = cls.from_blob(blob, path)
        io.check_usable(est)
    if isinstance(path, (str, os.PathLike)):
        return est.set_params(pretrained=str(Path(path).resolve()))
    return est.set_params(pretrained=copy.deepcopy(est))


def user_dir() -> Path:
    """Where a user's own pretrained models are registered from by file name: ``<data_dir>/pretrained``."""
    return data_dir() / "pretrained"


def shipped() -> dict[str, Callable[[], Estimator]]:
    """``{name: loader}`` for every model file shipped in the package."""
    return {p.stem: partial(load, p) for p in sorted(HERE.glob("*.pt"))}


def user_models() -> dict[str, Callable[[], Estimator]]:
    """``{name: loader}`` for every model file a user put in :func:`user_dir`."""
    return {p.stem: partial(load, p) for p in sorted(user_dir().glob("*.pt"))}


def names() -> list[str]:
    """Every registered pretrained model name."""
    return sorted(pretrained())


def load_pretrained(name: str = "default") -> Estimator:
    """A fresh copy of the pretrained estimator registered as ``name``, with ``pretrained=name`` (a nape-plugin
    estimator; a plugin's loader may return another kind, returned as it is)."""
    registry = pretrained()
    if name not in registry:
        raise UnknownNameError(f"no pretrained model named {name!r}; available: {', '.join(sorted(registry)) or 'none'}"
                               " (`nape plugins` lists them with where they come from)")
    est = registry[name]()
    return est.set_params(pretrained=name) if isinstance(est, (GennapeEstimator, BaggedEstimator)) else est


def resolve(name_or_path: str | os.PathLike) -> Estimator:
    """The estimator a user means by ``name_or_path``: a registered pretrained name, else a saved estimator file;
    neither gives an UnknownNameError listing the registered names."""
    if isinstance(name_or_path, str) and name_or_path in pretrained():
        return load_pretrained(name_or_path)
    if is_file(name_or_path):
        return load(name_or_path)
    raise UnknownNameError(f"no pretrained model named {str(name_or_path)!r} and no such file; pretrained: "
                           f"{', '.join(names()) or 'none'} (or the path of a file saved with est.save)")


def card(name: str = "default") -> dict[str, Any]:
    """The JSON card of a shipped model: training data, seed, command, git revision, metrics."""
    path = HERE / f"{name}.json"
    if not path.is_file():
        raise UnknownNameError(f"no card for {name!r}; shipped cards: {', '.join(p.stem for p in HERE.glob('*.json'))}")
    return json.loads(path.read_text())
