"""Search spaces by name: ``nape.spaces.get("nb201")``, ``nape.spaces.names()``.

Spaces come from the ``nape_register_spaces`` hook; the built-in ones are nb101, nb201, nb301 (DARTS), the
TransNAS-Bench-101 spaces, the Once-for-All spaces and nb_macro (NAS-Bench-Macro).
"""
from __future__ import annotations

from ..errors import PluginError, UnknownNameError
from ..plugins import registry_cache
from ..plugins.manager import contributions
from .base import SearchSpace, as_rng

__all__ = ["SearchSpace", "get", "names", "as_rng"]


@registry_cache
def _registry() -> dict[str, SearchSpace]:
    spaces: dict[str, SearchSpace] = {}
    for _, result in contributions("nape_register_spaces"):   # built-ins first, plugins override; a raising
        for space in result:                                  # hook is a PluginError naming the plugin
            if not isinstance(space, SearchSpace) or not space.name:
                raise PluginError(f"nape_register_spaces returned {space!r}; expected named SearchSpace instances")
            spaces[space.name] = space
    return spaces


def names() -> list[str]:
    """Names of every registered search space."""
    return sorted(_registry())


def get(name: str) -> SearchSpace:
    """The search space registered as ``name``."""
    try:
        return _registry()[name]
    except KeyError:
        raise UnknownNameError(f"no search space named {name!r}; registered: {', '.join(names())}") from None
