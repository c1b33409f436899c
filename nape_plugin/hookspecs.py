"""The hooks nape-plugin calls; implement any of them in a plugin (see docs/plugin_hooks.md).

Hooks are called by keyword. Built-in behaviour is itself a set of plugins registered first and marked ``trylast``,
so a third-party implementation of a first-result hook wins over the built-in one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from .graph import CompGraph
    from .opmap import Mapping as OpMapping
    from .spaces.base import SearchSpace

hookspec = pluggy.HookspecMarker("nape_plugin")
hookimpl = pluggy.HookimplMarker("nape_plugin")


@hookspec(firstresult=True)
def nape_to_graph(obj: Any, context: dict[str, Any]) -> "CompGraph | None":
    """Convert ``obj`` to a computation graph, or return None to let the next converter try.

    ``context`` holds the keyword arguments given to :func:`nape_plugin.to_graph` (``input_shape``, ``space`` ...).
    The first non-None result wins.
    """


@hookspec
def nape_register_spaces() -> "Iterable[SearchSpace]":
    """Return search spaces to register under their ``name`` (later ``nape.spaces.get(name)``)."""


@hookspec
def nape_op_mappings() -> "Mapping[type | Callable | str, OpMapping]":
    """Map module classes, functions or tensor-method names to ops for the tracer.

    Values are an op name from :data:`nape_plugin.ops.VOCAB` or a function of a :class:`nape_plugin.opmap.Call`
    returning a :class:`nape_plugin.graph.Node`. Module classes listed here are traced as single nodes (leaves).
    """


@hookspec
def nape_register_predictors() -> "Mapping[str, Callable[..., Any]]":
    """Return ``{name: factory}`` of predictors; ``factory(**kwargs)`` returns an object with ``fit``/``predict``."""


@hookspec
def nape_register_pretrained() -> "Mapping[str, Callable[[], Any]]":
    """Return ``{name: loader}`` of pretrained estimators; ``nape.load_pretrained(name)`` calls ``loader()``."""
