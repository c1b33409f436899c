"""nape-plugin hooks contributed by the NASLib adapter (loaded through the ``nape_plugin`` entry point).

``nape.to_graph(naslib_graph)`` works for NASLib's nasbench101, nasbench201, nasbench301 and TransNAS-Bench-101
micro/macro graph objects (and for the ``torch.nn.Module`` holders NASLib's optimizers wrap them in, with the graph
in ``.arch``), and ``nape naslib-eval`` runs NASLib's predictor evaluation (:mod:`nape_naslib.evaluate`). Nothing here
imports NASLib: objects are recognised by their getters (see :mod:`nape_naslib.convert`).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

from nape_plugin.errors import ConversionError, EncodingError
from nape_plugin.graph import CompGraph
from nape_plugin.plugins.hookspecs import Command, hookimpl

from .convert import cache_key, naslib_type, to_arch

#: How many converted graphs the LRU cache keeps (keyed by NASLib's ``get_hash()``).
CACHE_SIZE = 20_000


class GraphCache:
    """A thread-safe bounded LRU of CompGraphs."""

    def __init__(self, maxsize: int = CACHE_SIZE):
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, CompGraph] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> CompGraph | None:
        with self._lock:
            graph = self._data.get(key)
            if graph is None:
                self.misses += 1
            else:
                self.hits += 1
                self._data.move_to_end(key)
            return graph

    def put(self, key: Hashable, graph: CompGraph) -> None:
        with self._lock:
            self._data[key] = graph
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)


cache = GraphCache()


def naslib_graph(obj: Any, context: dict[str, Any] | None = None) -> CompGraph | None:
    """The computation graph of a NASLib graph object (cached by ``get_hash()``), or None if ``obj`` is not one."""
    context = context or {}
    kind = naslib_type(obj)
    if kind is None:
        inner = getattr(obj, "arch", None)          # NASLib's optimizers keep candidates as Module(arch=graph)
        kind = naslib_type(inner) if inner is not None and inner is not obj else None
        if kind is None:
            return None
        obj = inner
    space_context = _space_context(kind, context)
    key = cache_key(obj, kind)
    if key is not None:
        key = (key, tuple(sorted(space_context.items())))
        graph = cache.get(key)
        if graph is not None:
            return graph
    arch = to_arch(obj, kind)
    graph = _space(arch.space, space_context).to_graph(arch.encoding)
    if key is not None:
        cache.put(key, graph)
    return graph


def _space_context(kind: str, context: dict[str, Any]) -> dict[str, Any]:
    """The space options that change the graph: NAS-Bench-201's data set (``to_graph(obj, dataset="cifar100")``)."""
    dataset = context.get("dataset")
    if kind == "nasbench201" and dataset:
        return {"dataset": "cifar10" if dataset == "cifar10-valid" else dataset}
    return {}


_spaces: dict[tuple, Any] = {}


def _space(name: str, options: dict[str, Any]):
    """The registered space ``name``, or a new instance of its class with ``options`` (e.g. another data set)."""
    from nape_plugin import spaces
    try:
        base = spaces.get(name)
    except KeyError:
        raise ConversionError(f"the NASLib adapter maps this object to the space {name!r}, which is not registered; "
                              f"registered: {', '.join(spaces.names())}") from None
    if not options:
        return base
    key = (name, tuple(sorted(options.items())))
    if key not in _spaces:
        if all(getattr(base, k, None) == v for k, v in options.items()):
            _spaces[key] = base
        else:
            try:
                _spaces[key] = type(base)(**options)
            except (TypeError, EncodingError) as e:
                raise ConversionError(f"space {name!r} cannot be built with {options}: {e}") from e
    return _spaces[key]


@hookimpl
def nape_to_graph(obj: Any, context: dict[str, Any]) -> CompGraph | None:
    """NASLib graph objects -> CompGraph; None for everything else."""
    return naslib_graph(obj, context)


@hookimpl
def nape_register_commands() -> dict[str, Command]:
    """``nape naslib-eval``."""
    return {"naslib-eval": Command("nape_naslib.evaluate",
                                   "NASLib's predictor evaluation with the estimator (needs NASLib)")}
