"""The plugin manager: built-in plugins first, then third-party ones from the ``nape_plugin`` entry-point group.

Set ``NAPE_DISABLE_PLUGIN_AUTOLOAD=1`` to skip entry-point discovery (built-ins still load).
"""
from __future__ import annotations

import importlib
import os
from functools import lru_cache
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import PluginError, UnknownNameError

ENTRY_POINT_GROUP = "nape_plugin"
DISABLE_AUTOLOAD_ENV = "NAPE_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PLUGINS = ("nape_plugin.builtins",)

_manager: pluggy.PluginManager | None = None


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created on first use."""
    global _manager
    if _manager is None:
        pm = pluggy.PluginManager("nape_plugin")
        pm.add_hookspecs(hookspecs)
        for name in BUILTIN_PLUGINS:
            pm.register(importlib.import_module(name), name=name)
        if not os.environ.get(DISABLE_AUTOLOAD_ENV):
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as e:
            raise PluginError(f"{e}; fix the hook implementation's name or signature (see docs/plugin_hooks.md)") \
                from None
        _manager = pm
    return _manager


def hook() -> Any:
    """The hook relay: ``hook().nape_to_graph(obj=..., context=...)``."""
    return get_plugin_manager().hook


def register(plugin: object, name: str | None = None) -> None:
    """Register a plugin object or module at run time (e.g. in a notebook) and refresh the registries."""
    pm = get_plugin_manager()
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except (ValueError, pluggy.PluginValidationError) as e:
        pm.unregister(plugin) if pm.is_registered(plugin) else None
        raise PluginError(f"cannot register plugin {name or plugin!r}: {e}") from None
    _refresh()


def unregister(plugin: object) -> None:
    """Undo :func:`register`."""
    get_plugin_manager().unregister(plugin)
    _refresh()


def _refresh() -> None:
    op_mappings.cache_clear()
    predictors.cache_clear()
    pretrained.cache_clear()
    from . import spaces
    spaces._registry.cache_clear()


def _merged(results: list[Any], what: str) -> dict:
    # hook results come last-registered first; apply in reverse so third-party plugins override built-ins
    merged: dict = {}
    for r in reversed(results):
        if r is None:
            continue
        try:
            merged.update(r)
        except (TypeError, ValueError):
            raise PluginError(f"a nape_{what} hook returned {type(r).__name__}, expected a mapping") from None
    return merged


@lru_cache(maxsize=1)
def op_mappings() -> tuple[dict, dict, dict]:
    """(module classes, functions, method names) -> mapping, built-ins overridden by plugins."""
    from .opmap import as_callable
    merged = _merged(hook().nape_op_mappings(), "op_mappings")
    modules, functions, methods = {}, {}, {}
    for key, mapping in merged.items():
        target = modules if isinstance(key, type) else methods if isinstance(key, str) else functions
        target[key] = as_callable(mapping)
    return modules, functions, methods


@lru_cache(maxsize=1)
def predictors() -> dict[str, Callable[..., Any]]:
    """``{name: factory}`` of every registered predictor."""
    return _merged(hook().nape_register_predictors(), "register_predictors")


@lru_cache(maxsize=1)
def pretrained() -> dict[str, Callable[[], Any]]:
    """``{name: loader}`` of every registered pretrained estimator."""
    return _merged(hook().nape_register_pretrained(), "register_pretrained")


def get_predictor(name: str, **kwargs: Any) -> Any:
    """A new predictor by registered name."""
    registry = predictors()
    if name not in registry:
        raise UnknownNameError(f"no predictor named {name!r}; registered: {', '.join(sorted(registry)) or 'none'}")
    return registry[name](**kwargs)


def describe() -> list[dict[str, Any]]:
    """One row per registered plugin: name, where it comes from, and the hooks it implements."""
    pm = get_plugin_manager()
    dists = {id(p): d for p, d in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in pm.list_name_plugin():
        dist = dists.get(id(plugin))
        source = f"{dist.project_name} {dist.version} (entry point)" if dist else \
            "built-in" if name in BUILTIN_PLUGINS else "registered at run time"
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append({"name": name, "source": source, "hooks": hooks})
    return rows
