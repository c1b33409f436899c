"""Tracing any ``torch.nn.Module`` into a computation graph with torch.fx and shape propagation.

Shapes propagate on the ``meta`` device when the module's weights live there (build large models under
``with torch.device("meta"):`` and no weight memory is allocated), and under a fake-tensor mode otherwise, so the
module's real weights are never touched. Tracing runs in eval mode; the module's train/eval flags are restored.
"""
from __future__ import annotations

import inspect
import warnings
from dataclasses import replace
from typing import Any, Sequence

import torch
import torch.fx as fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from . import plugins
from .builder import IDENTITY, simplify, simple_node
from .errors import ShapeError, TraceError
from .graph import CompGraph, Node
from .opmap import Call, TensorArg


class _Tracer(fx.Tracer):
    def __init__(self, leaf_types: tuple[type, ...]):
        super().__init__()
        self.leaf_types = leaf_types

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, self.leaf_types) or super().is_leaf_module(m, qualname)


def _shape(meta: Any) -> tuple[int, ...] | None:
    """Shape without the batch dimension of a tensor's metadata (first tensor of a tuple), or None."""
    if isinstance(meta, TensorMetadata):
        return tuple(int(s) for s in meta.shape[1:])
    if isinstance(meta, (tuple, list)) and meta:
        return _shape(meta[0])
    return None


def _is_multi(meta: Any) -> bool:
    return isinstance(meta, (tuple, list)) and not isinstance(meta, TensorMetadata)


def _propagate(gm: fx.GraphModule, module: nn.Module, input_shape: Sequence[int], dtype: torch.dtype) -> None:
    tensors = [*module.parameters(), *module.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    shape = (1, *input_shape)
    if device.type == "meta":
        ShapeProp(gm).propagate(torch.empty(shape, dtype=dtype, device="meta"))
        return
    from torch._subclasses.fake_tensor import FakeTensorMode
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    with mode:
        x = torch.empty(shape, dtype=dtype, device=device)
    ShapeProp(gm, fake_mode=mode).propagate(x)


def _concrete_args(module: nn.Module) -> dict[str, Any]:
    sig = inspect.signature(module.forward)
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return {p.name: p.default for p in params[1:] if p.default is not inspect.Parameter.empty}


def trace(module: nn.Module, input_shape: Sequence[int], input_dtype: torch.dtype = torch.float32,
          name: str | None = None) -> CompGraph:
    """The computation graph of ``module`` for one input of shape ``input_shape`` (no batch dimension)."""
    if not isinstance(module, nn.Module):
        raise TraceError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if input_shape is None or not all(isinstance(s, int) and s > 0 for s in input_shape):
        raise ShapeError(f"input_shape must be positive ints without the batch dimension, e.g. (3, 32, 32); got "
                         f"{input_shape!r}")
    modules, functions, methods = plugins.op_mappings()
    cls = type(module).__name__
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        tracer = _Tracer(tuple(modules))
        try:
            graph = tracer.trace(module, concrete_args=_concrete_args(module) or None)
        except Exception as e:
            raise TraceError(
                f"torch.fx cannot trace {cls}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}. "
                "Data-dependent control flow is the usual cause: register the offending submodule as a single op "
                "through the nape_op_mappings hook (docs/plugin_hooks.md), or make its control flow static") from e
        gm = fx.GraphModule(tracer.root, graph)
        try:
            _propagate(gm, module, tuple(input_shape), input_dtype)
        except Exception as e:
            failing = next((n for n in gm.graph.nodes if n.op != "placeholder" and "tensor_meta" not in n.meta), None)
            where = f" at {failing.op} {failing.target!r} ({failing.name})" if failing is not None else ""
            raise ShapeError(f"shapes do not propagate through {cls} for input_shape={tuple(input_shape)}{where}: "
                             f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}. Check input_shape "
                             "(channels first, no batch dimension) against what the model expects") from e
    finally:
        for m, training in modes.items():
            m.training = training
    return _convert(gm, module, tuple(input_shape), modules, functions, methods, name or cls)


def _convert(gm: fx.GraphModule, root: nn.Module, input_shape: tuple[int, ...], modules: dict, functions: dict,
             methods: dict, name: str) -> CompGraph:
    nodes: list[Node] = [Node("input", input_shape, input_shape, name="input")]
    inputs: list[list[int]] = [[]]
    index: dict[fx.Node, int] = {}          # fx node -> raw node index
    const_params: dict[fx.Node, set[int]] = {}
    seen: set[int] = set()
    multi: set[fx.Node] = set()
    outputs: list[int] = []
    oov: list[str] = []
    placeholder_done = False
    all_params = {id(p): p.numel() for p in root.parameters()}

    def new_params(ids: set[int]) -> int:
        fresh = ids - seen
        seen.update(fresh)
        return sum(all_params.get(i, 0) for i in fresh)

    for n in gm.graph.nodes:
        if n.op == "placeholder":
            if not placeholder_done:
                index[n] = 0
                placeholder_done = True
            else:
                const_params[n] = set()
            continue
        if n.op == "get_attr":
            obj = _fetch_attr(gm, n.target)
            const_params[n] = {id(obj)} if isinstance(obj, nn.Parameter) else set()
            continue
        if n.op == "output":
            outputs = [index[a] for a in _flat_nodes(n.args) if a in index]
            continue
        data_args = [a for a in _flat_nodes((n.args, n.kwargs)) if a in index]
        param_ids = set().union(*(const_params.get(a, set()) for a in _flat_nodes((n.args, n.kwargs))))
        if n.op == "call_module":
            param_ids |= {id(p) for p in gm.get_submodule(n.target).parameters()}
        meta = n.meta.get("tensor_meta")
        out_shape = _shape(meta)
        if not data_args or out_shape is None:     # constants and non-tensor values (sizes, dims) are not nodes
            const_params[n] = param_ids
            continue
        if n.op == "call_module":
            target = gm.get_submodule(n.target)
            mapping = next((modules[t] for t in type(target).__mro__ if t in modules), None)
            label, call_name = type(target).__name__, str(n.target)
        elif n.op == "call_function":
            target = n.target
            mapping = functions.get(target)
            label = call_name = getattr(target, "__name__", str(target))
        else:  # call_method
            target = n.target
            mapping = methods.get(target)
            label = call_name = str(target)
        call = Call(target, _tensor_args(n.args, n, index), _tensor_args(n.kwargs, n, index),
                    [_shape(a.meta.get("tensor_meta")) for a in data_args], out_shape, call_name, _is_multi(meta),
                    {"from_multi_output": any(a in multi for a in data_args)})
        if mapping is None:
            node = simple_node("oov", call.in_shape, out_shape, name=label)
            oov.append(label)
        else:
            node = mapping(call)
        if node.op != IDENTITY:
            node = replace(node, params=new_params(param_ids))
        if _is_multi(meta):
            multi.add(n)
        nodes.append(node)
        inputs.append([index[a] for a in data_args])
        index[n] = len(nodes) - 1
    if not outputs:
        raise TraceError(f"{name} returns no tensor computed from its input; nothing to describe")
    if oov:
        warnings.warn(f"{name}: {len(oov)} op(s) out of vocabulary ({', '.join(sorted(set(oov)))}); they are kept as "
                      "'oov' nodes. Map them with the nape_op_mappings hook for better predictions", stacklevel=3)
    unused = sum(v for k, v in all_params.items() if k not in seen)
    meta = {"source": "torch", "model": name, "input_shape": list(input_shape)}
    if oov:
        meta["oov"] = sorted(set(oov))
    if unused:
        meta["unused_params"] = unused
    return simplify(nodes, inputs, outputs, meta)


def _fetch_attr(gm: fx.GraphModule, target: str) -> Any:
    obj: Any = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _flat_nodes(obj: Any) -> list[fx.Node]:
    out: list[fx.Node] = []
    fx.node.map_arg(obj, lambda a: out.append(a) or a)
    return out


def _tensor_args(obj: Any, owner: fx.Node, index: dict) -> Any:
    def conv(a: fx.Node) -> Any:
        meta = a.meta.get("tensor_meta")
        if isinstance(meta, TensorMetadata):
            shape = tuple(int(s) for s in meta.shape)
            return TensorArg(shape[1:], False) if a in index else TensorArg(shape, True)
        return a.meta.get("val", None) if not isinstance(meta, (tuple, list)) else None
    return fx.node.map_arg(obj, conv)
