"""The plugin manager: built-in plugins first, then third-party ones from the ``nape_plugin`` entry-point group.

Set ``NAPE_DISABLE_PLUGIN_AUTOLOAD=1`` to skip entry-point discovery (built-ins still load). Register a plugin at run
time (a notebook, a test) with :func:`register`. The registries (op mappings, predictors, pretrained models) are
collected per plugin so that a broken entry names the plugin that made it.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import os
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Callable, Iterator, TypeVar

import pluggy

from ..errors import PluginError, UnknownNameError
from . import hookspecs

ENTRY_POINT_GROUP = "nape_plugin"
DISABLE_AUTOLOAD_ENV = "NAPE_DISABLE_PLUGIN_AUTOLOAD"
#: The built-in plugins, registered first and by name: each lives in the layer whose behaviour it adds, so the host
#: imports none of them.
BUILTIN_PLUGINS = ("nape_plugin.convert.builtin", "nape_plugin.spaces.builtin", "nape_plugin.predictors.builtin",
                   "nape_plugin.gennape.builtin")
HOOK_PREFIX = "nape_"
HOOKS: tuple[str, ...] = tuple(sorted(n for n in vars(hookspecs) if n.startswith(HOOK_PREFIX)))
DOCS = "docs/plugin_hooks.md"

_manager: PluginManager | None = None
_CACHES: list[Callable[[], None]] = []
T = TypeVar("T")


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that also takes unmarked ``nape_*`` functions as hook implementations and remembers where
    each plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        #: plugin name -> "built-in", "entry point <name> of <distribution> <version>" or "run time"
        self.sources: dict[str, str] = {}

    def parse_hookimpl_opts(self, plugin: Any, name: str):
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(HOOK_PREFIX):
            attr = inspect.getattr_static(plugin, name, None)
            if inspect.isfunction(attr) or isinstance(attr, (staticmethod, classmethod)):
                opts = {}
        return opts

    def add(self, plugin: object, name: str, source: str) -> None:
        """Validate and register ``plugin``; a bad one raises PluginError and leaves the manager as it was."""
        self._validate(plugin, name)
        try:
            self.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as e:
            raise PluginError(f"cannot register plugin {name!r}: {str(e).splitlines()[0]}") from None
        self.sources[name] = source

    def _validate(self, plugin: object, name: str) -> None:
        for attr in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            hook_name = opts.get("specname") or attr
            if hook_name not in HOOKS:
                close = difflib.get_close_matches(hook_name, HOOKS, n=1)
                raise PluginError(
                    f"plugin {name!r} implements {hook_name}, which is not a nape-plugin hook"
                    f"{f' (did you mean {close[0]}?)' if close else ''}; the hooks are {', '.join(HOOKS)} (see {DOCS})")
            wanted = list(inspect.signature(getattr(plugin, attr)).parameters)
            offered = list(inspect.signature(getattr(hookspecs, hook_name)).parameters)
            extra = [a for a in wanted if a not in offered]
            if extra:
                raise PluginError(
                    f"plugin {name!r}: {attr}({', '.join(wanted)}) takes {', '.join(extra)}, which the hook does not "
                    f"pass; its signature is {hook_name}({', '.join(offered)}) (see {DOCS})")

    def check(self) -> None:
        """pluggy's ``check_pending`` as a PluginError."""
        try:
            self.check_pending()
        except pluggy.PluginValidationError as e:
            raise PluginError(f"{e}; fix the hook implementation's name or signature (see {DOCS})") from None


def build_manager(autoload: bool | None = None) -> PluginManager:
    """A new manager: built-ins, then (unless ``autoload`` is False or the environment disables it) entry points."""
    pm = PluginManager()
    for name in BUILTIN_PLUGINS:
        pm.add(importlib.import_module(name), name, "built-in")
    if autoload is None:
        autoload = os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() in ("", "0", "false", "no")
    if autoload:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
                continue
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "an unknown distribution"
            try:
                plugin = ep.load()
            except (Exception, SystemExit) as e:       # a plugin calling sys.exit at import must not end the host
                raise PluginError(
                    f"cannot load plugin {ep.name!r} ({ep.value}) of {dist}: {type(e).__name__}: {e}. Fix or "
                    f"uninstall that package, or set {DISABLE_AUTOLOAD_ENV}=1 to skip third-party plugins") from None
            pm.add(plugin, ep.name, f"entry point {ep.name} = {ep.value} of {dist}")
    pm.check()
    return pm


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created on first use."""
    global _manager
    if _manager is None:
        _manager = build_manager()
    return _manager


def hook() -> Any:
    """The hook relay; call hooks by keyword: ``hook().nape_to_graph(obj=..., context=...)``."""
    return get_plugin_manager().hook


def register(plugin: object, name: str | None = None) -> str:
    """Register a plugin object or module at run time (a notebook, a test) and refresh the registries.

    Returns the name it was registered under (``name``, else pluggy's canonical name of the object).
    """
    pm = get_plugin_manager()
    name = name or pm.get_canonical_name(plugin)
    pm.add(plugin, name, "run time")
    _refresh()
    return name


def unregister(plugin: object | str) -> None:
    """Undo :func:`register`, given the plugin or its name."""
    pm = get_plugin_manager()
    name = plugin if isinstance(plugin, str) else pm.get_name(plugin)
    if name is None or not pm.has_plugin(name):
        raise UnknownNameError(f"no plugin {plugin!r} is registered; registered: {', '.join(pm.sources)}")
    pm.unregister(name=name)
    pm.sources.pop(name, None)
    _refresh()


def registry_cache(fn: Callable[[], T]) -> Callable[[], T]:
    """Cache an argument-free registry built from hooks until a plugin is registered or unregistered at run time.

    Registries above the host (spaces, op mappings) use it, so the host never needs to know them.
    """
    cached = lru_cache(maxsize=1)(fn)
    _CACHES.append(cached.cache_clear)
    return cached


def _refresh() -> None:
    for clear in _CACHES:
        clear()


def contributions(hook_name: str) -> Iterator[tuple[str, Any]]:
    """``(plugin name, result)`` of each implementation of an argument-free registry hook, built-ins first."""
    caller = getattr(hook(), hook_name)
    for impl in caller.get_hookimpls():
        if impl.hookwrapper or impl.wrapper:
            continue
        try:
            result = impl.function()
        except PluginError:
            raise
        except Exception as e:
            raise PluginError(f"plugin {impl.plugin_name!r}: {hook_name} raised {type(e).__name__}: {e}") from e
        if result is not None:
            yield impl.plugin_name, result


def as_mapping(plugin: str, hook_name: str, result: Any) -> dict:
    try:
        return dict(result)
    except (TypeError, ValueError):
        raise PluginError(f"plugin {plugin!r}: {hook_name} returned {type(result).__name__}, expected a mapping "
                          f"(see {DOCS})") from None


def _registry(hook_name: str, what: str) -> dict[str, Callable[..., Any]]:
    merged: dict[str, Callable[..., Any]] = {}
    for plugin, result in contributions(hook_name):
        for key, value in as_mapping(plugin, hook_name, result).items():
            if not isinstance(key, str) or not callable(value):
                raise PluginError(f"plugin {plugin!r}: {hook_name} maps {key!r} to {value!r}; expected "
                                  f"{{name: {what}}} with string names and callable values (see {DOCS})")
            merged[key] = value
    return merged


@registry_cache
def predictors() -> dict[str, Callable[..., Any]]:
    """``{name: factory}`` of every registered predictor."""
    return _registry("nape_register_predictors", "factory")


@registry_cache
def pretrained() -> dict[str, Callable[[], Any]]:
    """``{name: loader}`` of every registered pretrained estimator."""
    return _registry("nape_register_pretrained", "loader")


def get_predictor(name: str, **kwargs: Any) -> Any:
    """A new predictor by registered name."""
    registry = predictors()
    if name not in registry:
        raise UnknownNameError(f"no predictor named {name!r}; registered: {', '.join(sorted(registry)) or 'none'}")
    return registry[name](**kwargs)


def describe() -> list[dict[str, Any]]:
    """One row per registered plugin, in registration order: its name, where it came from, the hooks it
    implements, and what it contributes to each registry."""
    pm = get_plugin_manager()
    provides: dict[str, dict[str, Any]] = {name: {} for name in pm.sources}
    for plugin, result in contributions("nape_register_spaces"):
        provides[plugin]["spaces"] = sorted(getattr(s, "name", repr(s)) for s in result)
    for hook_name, key in (("nape_register_predictors", "predictors"), ("nape_register_pretrained", "pretrained")):
        for plugin, result in contributions(hook_name):
            provides[plugin][key] = sorted(as_mapping(plugin, hook_name, result))
    for plugin, result in contributions("nape_op_mappings"):
        provides[plugin]["op_mappings"] = len(as_mapping(plugin, "nape_op_mappings", result))
    rows = []
    for name, source in pm.sources.items():
        hooks = sorted(h.name for h in pm.get_hookcallers(pm.get_plugin(name)) or [])
        rows.append({"name": name, "source": source, "hooks": hooks, "provides": provides[name]})
    return rows
