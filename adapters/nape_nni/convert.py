"""NNI objects to computation graphs (what ``nape.to_graph`` does with them once the adapter is installed).

Accepted, besides ``input_shape`` (inferred for NNI's hub spaces) and ``name``:

* a frozen model (``model_space.freeze(sample)``, ``model_space.random()``) or any module built from NNI's modules:
  traced (:func:`nape_nni.trace.trace_model`);
* a model space with ``sample=...``: the sample's model, built directly where a fast path exists, else frozen and
  traced;
* an ``ExecutableModelSpace`` a strategy produced (``RawFormatModelSpace``, ``SimplifiedModelSpace``,
  ``BenchmarkModelSpace``), frozen: its sample's graph, the same way;
* a sample dict with ``model_space=...``; or a bare sample of ``NasBench201``, ``NasBench101`` or ``DARTS`` (default
  arguments), recognised by its labels.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from nape_plugin.errors import ConversionError
from nape_plugin.graph import CompGraph

from . import hub as _hub
from .trace import trace_model

__all__ = ["to_graph", "sample_graph", "is_nni_module"]


def is_nni_module(module: Any) -> bool:
    """Whether ``module`` is a torch module that is, or contains, one of NNI's modules."""
    from torch import nn
    return isinstance(module, nn.Module) and any(type(m).__module__.startswith("nni.") for m in module.modules())


def _input_shape(context: Mapping[str, Any], hub: _hub.HubSpace | None, what: str) -> Sequence[int]:
    shape = context.get("input_shape")
    if shape is not None:
        return shape
    if hub is not None:
        return hub.input_shape
    raise ConversionError(f"to_graph({what}) needs input_shape=(C, H, W), the shape of one input without the batch "
                          "dimension (only NNI's hub spaces have a known one): pass it as nape_nni.search(..., "
                          "input_shape=(3, 32, 32)), NapeEvaluator(input_shape=...) or "
                          "nape.to_graph(model, input_shape=...)")


def sample_graph(sample: Mapping[str, Any], model_space: Any, input_shape: Sequence[int] | None = None) -> CompGraph:
    """The graph of the model ``model_space`` becomes when frozen with ``sample``.

    Built directly for the hub spaces with a fast path (see :mod:`nape_nni.hub`); otherwise the space is frozen and
    the model traced (on the ``meta`` device where it can be: no weights are allocated).
    """
    if not isinstance(sample, Mapping):
        raise ConversionError(f"an NNI sample is a dict of labels to choices, got {type(sample).__name__}")
    hub = _hub.identify(model_space)
    if hub is not None and (input_shape is None or tuple(input_shape) == hub.input_shape):
        graph = hub.graph(sample)
        if graph is not None:
            return graph
    bench = _hub.benchmark_modules()
    if bench is not None and isinstance(model_space, bench[0].BenchmarkModelSpace):
        raise ConversionError(f"the {type(model_space.evaluator).__name__} benchmark space has no network to trace; "
                              "only its NAS-Bench-101/201 samples convert")
    if isinstance(model_space, type):
        raise ConversionError(f"{model_space.__name__} has no fast path for this sample; pass a model space instance "
                              "(it will be frozen with the sample and traced)")
    frozen = _frozen_module(model_space, sample)
    return trace_model(frozen, _input_shape({"input_shape": input_shape}, hub, type(frozen).__name__))


def _frozen_module(space: Any, sample: Mapping[str, Any]) -> Any:
    """The torch module ``space`` becomes with ``sample``, built on the meta device where its code allows."""
    import torch
    from nni.nas.space import ExecutableModelSpace, RawFormatModelSpace
    if isinstance(space, RawFormatModelSpace):
        space = space.model_space                  # freeze the module itself: the frozen model's cache stays untouched

    def make() -> Any:
        if isinstance(space, ExecutableModelSpace):
            return (space if space.status.frozen() else space.freeze(dict(sample))).executable_model()
        return space.freeze(dict(sample))
    try:
        with torch.device("meta"):
            return make()
    except (RuntimeError, NotImplementedError):     # construction code that reads tensor values
        return make()


def _is_mutable(module: Any) -> bool:
    from nni.nas.nn.pytorch import ModelSpace
    return isinstance(module, ModelSpace) and bool(module.simplify())


def to_graph(obj: Any, context: Mapping[str, Any]) -> CompGraph | None:
    """The graph of the NNI object ``obj``, or None when ``obj`` is not one (another converter then tries)."""
    from nni.nas.space import ExecutableModelSpace
    if isinstance(obj, ExecutableModelSpace):
        return _executable(obj, context)
    if isinstance(obj, Mapping) and "model_space" in context:
        return sample_graph(obj, context["model_space"], context.get("input_shape"))
    if isinstance(obj, Mapping):
        hub = _hub.recognise_sample(obj) if obj else None
        return hub.graph(obj) if hub is not None else None
    if not is_nni_module(obj):
        return None
    if _is_mutable(obj):
        if "sample" not in context:
            raise ConversionError(
                f"{type(obj).__name__} is a model space with {len(obj.simplify())} open choice(s); pass sample=... "
                "(a dict of labels to choices) or a frozen model (model_space.freeze(sample))")
        return sample_graph(context["sample"], obj, context.get("input_shape"))
    name = context.get("name") or type(obj).__name__
    return trace_model(obj, _input_shape(context, _hub.identify(obj), name), name=name)


def _executable(model: Any, context: Mapping[str, Any]) -> CompGraph:
    sample = model.sample if model.status.frozen() else context.get("sample")
    if sample is None:
        raise ConversionError(f"{type(model).__name__} is not frozen (status {model.status.value}); pass sample=... or "
                              "a model a strategy produced (model_space.freeze(sample), model_space.random())")
    return sample_graph(sample, model, context.get("input_shape"))
