"""Search spaces by name: ``nape.spaces.get("nb201")``, ``nape.spaces.names()``.

Spaces come from the ``nape_register_spaces`` hook; the built-in ones are nb101, nb201, nb301 (DARTS), the
TransNAS-Bench-101 spaces, the Once-for-All spaces and nb_macro (NAS-Bench-Macro).
"""
from __future__ import annotations

from typing import Any, Iterable

from ..errors import PluginError, UnknownNameError
from ..plugins import get_plugin_manager, registry_cache
from .base import SearchSpace, as_rng

__all__ = ["SearchSpace", "get", "names", "as_rng"]


def _entries(result: Any) -> Iterable[tuple[str, SearchSpace]]:
    spaces = list(result) if isinstance(result, Iterable) else [result]
    for space in spaces:
        if not isinstance(space, SearchSpace) or not space.name:
            raise PluginError(f"nape_register_spaces returned {space!r}; expected named SearchSpace instances")
    return [(space.name, space) for space in spaces]


@registry_cache
def _registry() -> dict[str, SearchSpace]:
    return get_plugin_manager().registry("nape_register_spaces", _entries)


def names() -> list[str]:
    """Names of every registered search space."""
    return sorted(_registry())


def get(name: str) -> SearchSpace:
    """The search space registered as ``name``."""
    try:
        return _registry()[name]
    except KeyError:
        raise UnknownNameError(f"no search space named {name!r}; registered: {', '.join(names())}") from None
