"""The hooks nape-plugin calls. Implement any of them in a plugin; docs/plugin_hooks.md has an example of each.

A plugin is a module (or any object) with functions named after these hooks, usually marked with :data:`hookimpl`.
Every function named ``nape_*`` in a plugin counts as a hook implementation, marked or not, so a misspelt hook name
is an error rather than code that silently never runs. Implementations may take any subset of the hook's arguments.

Hooks are called by keyword, always through the plugin manager's hook relay, so hook wrappers and tracing see every
call. Built-in behaviour is itself a set of plugins registered first and marked ``trylast``, so a third-party
implementation wins: for first-result hooks it is asked before the built-in one, and for registry hooks (all the
others) its entries replace built-in entries of the same name; among plugins, the one registered later wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from ..convert.opmap import Mapping as OpMapping
    from ..graph.core import CompGraph
    from ..spaces.base import SearchSpace

PROJECT = "nape_plugin"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class Command:
    """A ``nape`` subcommand: ``target`` is ``"module[:attribute]"`` of an object with ``add_arguments(parser)`` and
    ``run(args) -> int | None``, imported only when the subcommand runs; ``help`` is its one-line description."""

    target: str
    help: str


@hookspec(firstresult=True)
def nape_to_graph(obj: Any, context: dict[str, Any]) -> CompGraph | None:
    """Convert ``obj`` to a computation graph, or return None to let the next converter try.

    Called by :func:`nape_plugin.to_graph` for every object that is not already a CompGraph. ``context`` holds the
    keyword arguments given to it (``input_shape``, ``space`` ...). The first non-None result wins; the built-in
    converter (torch modules, graph JSON, benchmark encodings) is asked last.
    """


@hookspec
def nape_register_spaces() -> Iterable[SearchSpace]:
    """Return search spaces (:class:`~nape_plugin.spaces.SearchSpace` instances) to register under their ``name``.

    Called once, when the space registry is first needed (``nape.spaces.get``/``names``), and again after a plugin is
    registered or unregistered at run time. A plugin's space replaces a built-in space of the same name.
    """


@hookspec
def nape_op_mappings() -> Mapping[type | Callable | str, OpMapping]:
    """Map module classes, functions or tensor-method names to ops of the vocabulary for the tracer.

    A module class may also be given by its qualified name (``"package.module.Class"``), so a plugin maps classes of a
    framework without importing it. Values are an op name from :data:`nape_plugin.graph.ops.VOCAB` (or ``"identity"``
    to drop the call) or a function of a :class:`nape_plugin.convert.opmap.Call` returning a
    :class:`nape_plugin.graph.Node`. Module classes listed here are traced as single nodes (leaves), whatever their
    ``forward`` does. Called once, before the first trace.
    """


@hookspec
def nape_register_predictors() -> Mapping[str, Callable[..., Any]]:
    """Return ``{name: factory}`` of predictors; ``factory(**kwargs)`` returns an object with ``fit``/``predict``.

    Called once, when the predictor registry is first needed (:func:`nape_plugin.plugins.get_predictor`).
    """


@hookspec
def nape_register_pretrained() -> Mapping[str, Callable[[], Any]]:
    """Return ``{name: loader}`` of pretrained estimators; ``nape.load_pretrained(name)`` calls ``loader()``.

    Called once, when the pretrained registry is first needed.
    """


@hookspec
def nape_register_commands() -> Mapping[str, Command]:
    """Return ``{name: Command(target, help)}`` of subcommands of the ``nape`` command line.

    Called when ``nape`` builds its parser. The built-in commands come from a built-in plugin; only the chosen
    subcommand's module is imported, so ``nape --help`` stays fast and one command's dependencies never break another.
    """
