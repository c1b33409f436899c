"""The plugin manager: built-in plugins first, then third-party ones from the ``nape_plugin`` entry-point group.

Set ``NAPE_DISABLE_PLUGIN_AUTOLOAD=1`` to skip entry-point discovery (built-ins still load), or
``NAPE_BLOCK_PLUGINS=name,other`` to block single plugins by the names ``nape plugins`` lists. Register a plugin at
run time (a notebook, a test) with :func:`register`.

Every hook is called through the manager's hook relay, so hook wrappers and pluggy's tracing see every call. The
registries (spaces, op mappings, predictors, pretrained models, commands) merge their hook's results by one rule,
:meth:`PluginManager.registry`: built-in entries first, then each plugin's in registration order, a later entry
replacing an earlier one of the same name (so a third-party plugin overrides a built-in one).
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import os
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Iterator, Mapping, TypeVar

import pluggy

from ..errors import PluginError, UnknownNameError
from . import hookspecs
from .hookspecs import Command

if TYPE_CHECKING:  # pragma: no cover
    from ..graph.core import CompGraph

ENTRY_POINT_GROUP = "nape_plugin"
DISABLE_AUTOLOAD_ENV = "NAPE_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV = "NAPE_BLOCK_PLUGINS"
#: The built-in plugins, registered first and by name: each lives in the layer whose behaviour it adds, so the host
#: imports none of them.
BUILTIN_PLUGINS = ("nape_plugin.convert.builtin", "nape_plugin.spaces.builtin", "nape_plugin.predictors.builtin",
                   "nape_plugin.gennape.builtin", "nape_plugin.cli.builtin")
HOOK_PREFIX = "nape_"
HOOKS: tuple[str, ...] = tuple(sorted(n for n in vars(hookspecs) if n.startswith(HOOK_PREFIX)))
DOCS = "docs/plugin_hooks.md"

_manager: PluginManager | None = None
_CACHES: list[Callable[[], None]] = []
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that also takes unmarked ``nape_*`` functions as hook implementations, remembers where each
    plugin came from, and merges the registry hooks' results by one rule."""

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
        if self.is_blocked(name):
            raise PluginError(f"plugin {name!r} is blocked ({BLOCK_ENV}); remove it from that list to register it")
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

    @property
    def blocked(self) -> list[str]:
        """Names blocked from registering."""
        return [name for name, plugin in self.list_name_plugin() if plugin is None]

    # ------------------------------------------------------------------------------------------ hook calls
    def to_graph(self, obj: Any, context: dict[str, Any]) -> CompGraph | None:
        """The ``nape_to_graph`` hook: the first converter's graph of ``obj``, or None when no converter takes it."""
        return self.hook.nape_to_graph(obj=obj, context=context)

    def registry(self, hook_name: str, entries: Callable[[Any], Iterable[tuple[K, V]]]) -> dict[K, V]:
        """Call the argument-free registry hook ``hook_name`` and merge its results into one dict.

        ``entries(result)`` gives the ``(name, value)`` pairs of one implementation's result, or raises PluginError
        when the result is malformed; the error then names the plugin that returned it. Built-in results come first,
        then the plugins' in registration order, and a later pair replaces an earlier one with the same name.
        """
        try:
            results = getattr(self.hook, hook_name)()
        except PluginError:
            raise
        except Exception as e:
            raise PluginError(f"plugin {self._culprit(hook_name, lambda _: False)!r}: {hook_name} raised "
                              f"{type(e).__name__}: {e}") from e
        merged: dict[K, V] = {}
        for result in reversed(results):      # pluggy calls the last registered first, the trylast built-ins last
            try:
                merged.update(entries(result))
            except PluginError as e:
                raise PluginError(f"plugin {self._culprit(hook_name, lambda r: _malformed(entries, r))!r}: "
                                  f"{e}") from None
        return merged

    def contributions(self, hook_name: str) -> Iterator[tuple[str, Any]]:
        """``(plugin name, result)`` per plugin implementing ``hook_name`` (argument-free), built-ins first: each
        plugin's implementations called alone, through pluggy, with that plugin's own wrappers."""
        for name in self._implementers(hook_name):
            for result in reversed(self._alone(hook_name, name)()):
                yield name, result

    def _implementers(self, hook_name: str) -> list[str]:
        impls = getattr(self.hook, hook_name).get_hookimpls()
        return list(dict.fromkeys(i.plugin_name for i in impls if not (i.hookwrapper or i.wrapper)))

    def _alone(self, hook_name: str, name: str) -> Any:
        others = [plugin for other, plugin in self.list_name_plugin() if plugin is not None and other != name]
        return self.subset_hook_caller(hook_name, remove_plugins=others)

    def _culprit(self, hook_name: str, malformed: Callable[[Any], bool]) -> str:
        """The plugin whose implementation of ``hook_name`` raises, or returns a result ``malformed`` rejects."""
        names = self._implementers(hook_name)
        for name in names:
            try:
                if any(malformed(r) for r in self._alone(hook_name, name)()):
                    return name
            except Exception:
                return name
        return " or ".join(names)              # a hook wrapper changed the result


def _malformed(entries: Callable[[Any], Iterable[Any]], result: Any) -> bool:
    try:
        list(entries(result))
    except PluginError:
        return True
    return False


def blocked_by_environment() -> list[str]:
    """The plugin names ``$NAPE_BLOCK_PLUGINS`` lists (comma-separated)."""
    return [name.strip() for name in os.environ.get(BLOCK_ENV, "").split(",") if name.strip()]


def build_manager(autoload: bool | None = None, blocked: Iterable[str] | None = None) -> PluginManager:
    """A new manager: built-ins, then (unless ``autoload`` is False or the environment disables it) entry points;
    plugins named in ``blocked`` (default: ``$NAPE_BLOCK_PLUGINS``) are not registered."""
    pm = PluginManager()
    for name in blocked_by_environment() if blocked is None else blocked:
        pm.set_blocked(name)
    for name in BUILTIN_PLUGINS:
        if not pm.is_blocked(name):
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
                    f"uninstall that package, or block it with {BLOCK_ENV}={ep.name} (or skip every third-party "
                    f"plugin with {DISABLE_AUTOLOAD_ENV}=1)") from None
            pm.add(plugin, ep.name, f"entry point {ep.name} = {ep.value} of {dist}")
    pm.check()
    return pm


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created on first use."""
    global _manager
    if _manager is None:
        _manager = build_manager()
    return _manager


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


def as_mapping(hook_name: str, result: Any) -> dict:
    """A registry hook's result as a dict, or a PluginError saying a mapping was expected."""
    if not isinstance(result, Mapping):
        raise PluginError(f"{hook_name} returned {type(result).__name__}, expected a mapping (see {DOCS})")
    return dict(result)


def _named(hook_name: str, what: str, values: str, valid: Callable[[Any], bool]
           ) -> Callable[[Any], Iterable[tuple[str, Any]]]:
    """Entries of a ``{name: what}`` registry whose names are strings and whose values (``values``) pass ``valid``."""
    def entries(result: Any) -> Iterable[tuple[str, Any]]:
        pairs = as_mapping(hook_name, result).items()
        for key, value in pairs:
            if not isinstance(key, str) or not valid(value):
                raise PluginError(f"{hook_name} maps {key!r} to {value!r}; expected {{name: {what}}} with string "
                                  f"names and {values} values (see {DOCS})")
        return pairs
    return entries


@registry_cache
def predictors() -> dict[str, Callable[..., Any]]:
    """``{name: factory}`` of every registered predictor."""
    return get_plugin_manager().registry(
        "nape_register_predictors", _named("nape_register_predictors", "factory", "callable", callable))


@registry_cache
def pretrained() -> dict[str, Callable[[], Any]]:
    """``{name: loader}`` of every registered pretrained estimator."""
    return get_plugin_manager().registry(
        "nape_register_pretrained", _named("nape_register_pretrained", "loader", "callable", callable))


@registry_cache
def commands() -> dict[str, Command]:
    """``{name: Command}`` of every ``nape`` subcommand, built-in ones first."""
    return get_plugin_manager().registry(
        "nape_register_commands",
        _named("nape_register_commands", "Command", "nape_plugin.plugins.Command",
               lambda v: isinstance(v, Command)))


def get_predictor(name: str, **kwargs: Any) -> Any:
    """A new predictor by registered name."""
    registry = predictors()
    if name not in registry:
        raise UnknownNameError(f"no predictor named {name!r}; registered: {', '.join(sorted(registry)) or 'none'}")
    return registry[name](**kwargs)


#: What ``describe`` reports for each registry hook: (key, summary of one plugin's result).
_SUMMARIES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "nape_register_spaces": ("spaces", lambda r: sorted(getattr(s, "name", repr(s)) for s in r)),
    "nape_register_predictors": ("predictors", lambda r: sorted(as_mapping("nape_register_predictors", r))),
    "nape_register_pretrained": ("pretrained", lambda r: sorted(as_mapping("nape_register_pretrained", r))),
    "nape_register_commands": ("commands", lambda r: list(as_mapping("nape_register_commands", r))),
    "nape_op_mappings": ("op_mappings", lambda r: len(as_mapping("nape_op_mappings", r))),
}


def describe() -> list[dict[str, Any]]:
    """One row per registered plugin, in registration order: its name, where it came from, the hooks it
    implements, and what it contributes to each registry."""
    pm = get_plugin_manager()
    provides: dict[str, dict[str, Any]] = {name: {} for name in pm.sources}
    for hook_name, (key, summary) in _SUMMARIES.items():
        for plugin, result in pm.contributions(hook_name):
            try:
                provides[plugin][key] = summary(result)
            except PluginError as e:
                raise PluginError(f"plugin {plugin!r}: {e}") from None
    rows = []
    for name, source in pm.sources.items():
        hooks = sorted(h.name for h in pm.get_hookcallers(pm.get_plugin(name)) or [])
        rows.append({"name": name, "source": source, "hooks": hooks, "provides": provides[name]})
    return rows
