"""NASLib on a current Python beside a CPU-only torch: what NASLib's imports lack, supplied for the time of the import.

NASLib (branch ``Develop``) imports two things a current environment may not have:

* ``collections.Iterable``, removed in Python 3.10 (``from collections import Iterable`` at import, and
  ``collections.Iterable`` in its WL-kernel predictor at run time): :func:`alias_collections` adds the alias back;
* ``torchvision``, at module level, for its image-data code only (data sets, transforms, a ResNet encoder none of the
  architecture-level code paths build). A torchvision built for your torch may not be at hand, or may fail to import
  beside it. When ``torchvision`` is missing or fails to import, :func:`torchvision_stand_in` puts a
  stand-in in ``sys.modules`` while NASLib's modules are imported: the modules and the eight ``transforms`` classes
  NASLib's modules reference at import, each raising a clear error when used. A torchvision that imports is never
  replaced, and the stand-in is removed again afterwards, so the rest of the process (NNI, Lightning) sees the real
  state.

:func:`load_naslib` does both and imports NASLib's packages (:data:`PACKAGES`); every nape entry point that uses NASLib
calls it first. In your own script, call it before importing from ``naslib``::

    from nape_naslib import load_naslib
    load_naslib()
    from naslib.defaults.trainer import Trainer
"""
from __future__ import annotations

import collections
import collections.abc
import contextlib
import importlib
import importlib.machinery
import sys
import types
import warnings
from typing import Iterator

from nape_plugin.errors import PluginError

#: ``collections`` names NASLib uses that Python 3.10 removed (now only in ``collections.abc``).
ALIASES = ("Iterable",)
#: NASLib's packages imported by :func:`load_naslib`: every module of them that imports torchvision is imported
#: while the stand-in is in place.
PACKAGES = ("naslib", "naslib.utils", "naslib.search_spaces", "naslib.predictors", "naslib.optimizers",
            "naslib.defaults.trainer", "naslib.defaults.predictor_evaluator", "naslib.utils.custom_dataset",
            "naslib.utils.ninapro_dataset", "naslib.utils.darcyflow_dataset")
#: The torchvision modules NASLib imports, and the ``torchvision.transforms`` classes its modules subclass or import.
TORCHVISION_MODULES = ("torchvision", "torchvision.datasets", "torchvision.models", "torchvision.transforms",
                       "torchvision.transforms.functional")
TRANSFORMS = ("ColorJitter", "Compose", "Normalize", "RandomGrayscale", "RandomHorizontalFlip", "Resize",
              "ToPILImage", "ToTensor")
DOCS = "docs/naslib.md"


class NaslibUnavailable(PluginError):
    """NASLib (or something it imports) cannot be imported."""


class TorchvisionStandIn(types.ModuleType):
    """A module of the torchvision stand-in: the names NASLib imports, and a clear error for anything else."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"{self.__name__}.{name} is not available: torchvision is {self._why}, and nape_naslib "
                             "stands in for it only so that NASLib imports; NASLib's image-data code needs a "
                             "torchvision that matches your torch")


def _unavailable_class(module: str, name: str, why: str) -> type:
    def __init__(self, *args, **kwargs):
        raise RuntimeError(f"{module}.{name} is not available: torchvision is {why}; NASLib's image-data code needs a "
                           "torchvision that matches your torch")
    return type(name, (), {"__init__": __init__, "__module__": module,
                           "__doc__": f"Stand-in for {module}.{name} (torchvision is {why})."})


def torchvision_problem() -> str | None:
    """None when ``import torchvision`` works, else why not (``"not installed"``, ``"broken (...)"``). A failed import
    leaves nothing of torchvision in ``sys.modules``."""
    if isinstance(sys.modules.get("torchvision"), TorchvisionStandIn):
        return sys.modules["torchvision"]._why
    try:
        importlib.import_module("torchvision")
    except ModuleNotFoundError as e:
        if e.name != "torchvision":
            _forget_torchvision()
            return f"broken ({e})"
        return "not installed"
    except Exception as e:           # e.g. a build for another torch: "operator torchvision::nms does not exist"
        _forget_torchvision()
        return f"broken ({type(e).__name__}: {' '.join(str(e).split())[:160]})"
    return None


def _forget_torchvision() -> None:
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]


def stand_in_modules(why: str) -> dict[str, types.ModuleType]:
    """The stand-in: ``{module name: module}`` for :data:`TORCHVISION_MODULES`, with :data:`TRANSFORMS` in
    ``torchvision.transforms``."""
    modules: dict[str, types.ModuleType] = {}
    for name in TORCHVISION_MODULES:
        module = TorchvisionStandIn(name, f"nape_naslib's stand-in for {name} (torchvision is {why})")
        module._why = why
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, origin="nape_naslib stand-in")
        modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(modules[parent], child, module)
    for cls in TRANSFORMS:
        setattr(modules["torchvision.transforms"], cls, _unavailable_class("torchvision.transforms", cls, why))
    return modules


@contextlib.contextmanager
def torchvision_stand_in() -> Iterator[str | None]:
    """While inside: ``torchvision`` imports, as the real one if it can, else as the stand-in. Yields None or why the
    stand-in is used; afterwards ``sys.modules`` is as before (modules imported inside keep their references)."""
    why = torchvision_problem()
    if why is None:
        yield None
        return
    modules = stand_in_modules(why)
    before = {name: sys.modules[name] for name in modules if name in sys.modules}
    sys.modules.update(modules)
    try:
        yield why
    finally:
        for name, module in modules.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
                if name in before:
                    sys.modules[name] = before[name]


def alias_collections() -> list[str]:
    """Add the :data:`ALIASES` Python removed from ``collections`` (for NASLib; process-wide, like the names Python
    3.9 had); returns those added."""
    added = [name for name in ALIASES if not hasattr(collections, name)]
    for name in added:
        setattr(collections, name, getattr(collections.abc, name))
    return added


@contextlib.contextmanager
def quiet_naslib() -> Iterator[None]:
    """Silence the FutureWarnings and DeprecationWarnings NASLib's code and its old dependencies raise on every call
    (hundreds in one evaluation), for the time inside."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def load_naslib() -> types.ModuleType:
    """Make NASLib importable here and import its :data:`PACKAGES`; returns the ``naslib`` package.

    Raises :class:`NaslibUnavailable` with one line saying what is missing and where the set-up is described.
    """
    if all(sys.modules.get(p) is not None for p in PACKAGES):
        return sys.modules["naslib"]
    alias_collections()
    try:
        with torchvision_stand_in(), quiet_naslib():
            for package in PACKAGES:
                importlib.import_module(package)
    except ModuleNotFoundError as e:
        if e.name is not None and e.name.split(".")[0] == "naslib":
            raise NaslibUnavailable(f"NASLib is not importable (no module {e.name!r}): put its source folder on "
                                    f"sys.path, e.g. with a naslib.pth file in site-packages ({DOCS})") from None
        raise NaslibUnavailable(f"NASLib imports {e.name!r}, which is not installed: install NASLib's dependencies "
                                f"as {DOCS} lists them") from None
    except Exception as e:
        raise NaslibUnavailable(f"importing NASLib failed ({type(e).__name__}: {' '.join(str(e).split())[:200]}); "
                                f"see {DOCS} for the set-up nape_naslib is tested with") from None
    return sys.modules["naslib"]


def naslib_importable() -> bool:
    """Whether :func:`load_naslib` succeeds."""
    try:
        load_naslib()
    except NaslibUnavailable:
        return False
    return True
