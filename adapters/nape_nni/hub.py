"""NNI's hub spaces that have a fast path: recognising them, and their samples' graphs without building a model.

Fast paths (a graph straight from a sample, equal to tracing the frozen NNI model):

* ``NasBench201`` with its default arguments: the sample is an encoding of our ``nb201`` space (NNI's network is the
  benchmark's), so its graph is ``nape.spaces.get("nb201").to_graph(sample)``;
* ``NasBench101`` (any arguments): :mod:`nape_nni.nb101`, NNI's network (the benchmark's plus unused weights);
* ``DARTS``, ``PNAS``, ``NASNet``, ``ENAS``, ``AmoebaNet`` and ``NDS`` (any width and depth): :mod:`nape_nni.nds`.

Anything else goes the general way: freeze the space with the sample and trace the model.
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

from nape_plugin.graph import CompGraph

__all__ = ["HubSpace", "identify", "strip_scope", "fast_graph", "recognise_sample", "NB201_DEFAULTS"]

#: Constructor arguments of NNI's ``NasBench201`` for which its network is NAS-Bench-201's CIFAR-10 network.
NB201_DEFAULTS = {"stem_out_channels": 16, "num_modules_per_stack": 5, "num_labels": 10}
_NB201_LABELS = frozenset({"0_1", "0_2", "1_2", "0_3", "1_3", "2_3"})
#: ImageNet hub spaces without a fast path (their models are traced); known only for their input shape.
_TRACED = frozenset({"ProxylessNAS", "MobileNetV3Space", "ShuffleNetSpace", "AutoFormer"})


@dataclass(frozen=True)
class HubSpace:
    """One of NNI's hub spaces with its constructor arguments (defaults filled in)."""

    name: str                                   # class name in nni.nas.hub.pytorch
    kind: str                                   # "nb201", "nb101", "nds", or "traced" (no fast path)
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one input of the network: CIFAR for the benchmark spaces and NDS' ``cifar``, ImageNet otherwise."""
        if self.kind in ("nb201", "nb101") or (self.kind == "nds" and self.config.get("dataset") == "cifar"):
            return (3, 32, 32)
        size = int(self.config.get("img_size", 224))
        return (3, size, size)

    def graph(self, sample: Mapping[str, Any]) -> CompGraph | None:
        """The graph of ``sample`` built directly, or None where this space's arguments have no fast path."""
        return fast_graph(sample, self)


def _nds_classes() -> dict[type, tuple[str, str, int] | None]:
    from nni.nas.hub.pytorch import nasnet

    from .nds import SPACES
    classes: dict[type, tuple[str, str, int] | None] = {nasnet.NDS: None}
    for name, spec in SPACES.items():
        classes[getattr(nasnet, name)] = spec
    return classes


def _bound(cls: type, args: tuple, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Every constructor argument of ``cls`` (NNI keeps a model space's own ``__init__`` as ``_init_wrapped``)."""
    sig = inspect.signature(getattr(cls, "_init_wrapped", None) or cls.__init__)
    bound = sig.bind(None, *args, **kwargs)
    bound.apply_defaults()
    out = dict(bound.arguments)
    out.pop(next(iter(sig.parameters)))            # self
    return out


def _symbol(obj: Any) -> tuple[type, tuple, dict] | None:
    """(class, args, kwargs) the model space ``obj`` was (or would be) created with."""
    from nni.nas.nn.pytorch import ModelSpace
    from nni.nas.space import RawFormatModelSpace, SimplifiedModelSpace
    if isinstance(obj, RawFormatModelSpace):
        obj = obj.model_space
    if isinstance(obj, SimplifiedModelSpace):
        obj = obj.model
    if isinstance(obj, type):
        return (obj, (), {}) if issubclass(obj, ModelSpace) else None
    symbol = getattr(obj, "trace_symbol", None)
    if isinstance(symbol, type):
        return symbol, tuple(getattr(obj, "trace_args", ()) or ()), dict(getattr(obj, "trace_kwargs", {}) or {})
    return None


def benchmark_modules() -> tuple[Any, Any] | None:
    """NNI's benchmark space and evaluator modules if the program imported them (importing them needs peewee)."""
    space, evaluator = (sys.modules.get(f"nni.nas.benchmark.{m}") for m in ("space", "evaluator"))
    return (space, evaluator) if space is not None and evaluator is not None else None


def identify(obj: Any) -> HubSpace | None:
    """The hub space behind ``obj`` (a ModelSpace instance or class, a frozen model, an ExecutableModelSpace, or a
    ``BenchmarkModelSpace``), or None."""
    from nni.nas.hub.pytorch import NasBench101, NasBench201
    bench = benchmark_modules()
    if bench is not None and isinstance(obj, bench[0].BenchmarkModelSpace):
        if isinstance(obj.evaluator, bench[1].NasBench201Benchmark):
            return HubSpace("NasBench201", "nb201", dict(NB201_DEFAULTS))
        if isinstance(obj.evaluator, bench[1].NasBench101Benchmark):
            return HubSpace("NasBench101", "nb101", _bound(NasBench101, (), {}))
        return None
    found = _symbol(obj)
    if found is None:
        return None
    cls, args, kwargs = found
    try:
        config = _bound(cls, args, kwargs)
    except TypeError:
        return None
    if cls is NasBench201:
        return HubSpace(cls.__name__, "nb201", config)
    if cls is NasBench101:
        return HubSpace(cls.__name__, "nb101", config)
    if cls.__module__.startswith("nni.nas.hub.pytorch.") and cls.__name__ in _TRACED:
        return HubSpace(cls.__name__, "traced", config)
    nds = _nds_classes()
    if cls in nds:
        spec = nds[cls]
        if spec is not None:
            ops_attr, merge_op, nodes = spec
            config = {"op_candidates": list(getattr(cls, ops_attr)), "merge_op": merge_op, "num_nodes_per_cell": nodes,
                      **config}
        return HubSpace(cls.__name__, "nds", config)
    return None


def strip_scope(sample: Mapping[str, Any]) -> dict[str, Any]:
    """``sample`` without the longest label prefix ending in ``/`` that all its labels share (``cell/0_1``: ``0_1``)."""
    keys = [str(k) for k in sample]
    if not keys:
        return {}
    prefix = keys[0]
    for k in keys[1:]:
        while not k.startswith(prefix):
            prefix = prefix[:-1]
    prefix = prefix[:prefix.rfind("/") + 1]
    return {str(k)[len(prefix):]: v for k, v in sample.items()}


def fast_graph(sample: Mapping[str, Any], hub: HubSpace) -> CompGraph | None:
    """The graph of the model ``hub`` becomes when frozen with ``sample``, built directly; None where no fast path
    applies (then freeze and trace)."""
    s = strip_scope(sample)
    if hub.kind == "nb201":
        if {k: hub.config.get(k) for k in NB201_DEFAULTS} != NB201_DEFAULTS:
            return None
        from nape_plugin import spaces
        return spaces.get("nb201").to_graph({f"cell/{k}": v for k, v in s.items()})
    if hub.kind == "nb101":
        from . import nb101
        c = hub.config
        matrix, ops = nb101.cell_spec(s, c["max_num_vertices"], c["max_num_edges"])
        return nb101.build_graph(matrix, ops, c["stem_out_channels"], c["num_stacks"], c["num_modules_per_stack"],
                                 c["num_labels"])
    if hub.kind == "nds":
        if hub.config.get("auxiliary_loss"):
            return None
        from . import nds
        return nds.build_graph(s, hub.config)
    return None


def recognise_sample(sample: Mapping[str, Any]) -> HubSpace | None:
    """The hub space (default arguments) a bare sample comes from, judged by its labels: NasBench201, NasBench101 or
    DARTS; None when the labels fit none of them."""
    s = strip_scope(sample)
    keys = set(s)
    if keys == _NB201_LABELS:
        return HubSpace("NasBench201", "nb201", dict(NB201_DEFAULTS))
    if "num_nodes" in keys and keys <= {"num_nodes", "final", *(f"op{i}" for i in range(1, 6)),
                                        *(f"input{i}" for i in range(1, 7))}:
        from nni.nas.hub.pytorch import NasBench101
        return HubSpace("NasBench101", "nb101", _bound(NasBench101, (), {}))
    darts = {f"{c}/{kind}_{i}_{k}" for c in ("normal", "reduce") for kind in ("op", "input") for i in range(2, 6)
             for k in (0, 1)}
    if darts <= keys <= darts | {"width", "depth"}:
        from nni.nas.hub.pytorch import DARTS
        hub = identify(DARTS)
        ops = set(hub.config["op_candidates"]) if hub else set()
        if all(s[k] in ops for k in darts if "/op_" in k):
            return hub
    return None

