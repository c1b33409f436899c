"""Tracing any ``torch.nn.Module`` into a computation graph with torch.fx and shape propagation.

Shapes propagate on the ``meta`` device whatever device the weights live on: the common modules (conv, linear, norms,
pools, activations) have their output shape computed directly (and their input checked), other modules run with their
parameters and buffers swapped for meta tensors, and functions run on meta tensors. No weight memory is allocated
and real weights are never touched, so build large models under ``with torch.device("meta"):`` and trace them freely.
Tracing runs in eval mode; the module's train/eval flags are restored.
"""
from __future__ import annotations

import inspect
import operator
import warnings
from dataclasses import replace
from numbers import Integral
from typing import Any, Callable, Sequence

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from ..errors import ShapeError, TraceError
from ..graph import ops as O
from ..graph.builder import IDENTITY, simple_node, simplify
from ..graph.core import CompGraph, Node
from ..graph.ops import OP_INDEX
from .opmap import Call, TensorArg, module_mapping, op_mappings

__all__ = ["trace"]


class _Tracer(fx.Tracer):
    """fx tracer that keeps every module class with an op mapping as one leaf call."""

    def __init__(self, modules: dict):
        super().__init__()
        self.modules = modules
        self._leaf: dict[type, bool] = {}

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        leaf = self._leaf.get(type(m))
        if leaf is None:
            leaf = self._leaf[type(m)] = module_mapping(self.modules, type(m)) is not None or \
                super().is_leaf_module(m, qualname)
        return leaf


class _Root(nn.Module):
    """Holder of a module that is itself one op, so that it is traced as a call of that op."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: Any) -> Any:
        return self.module(x)


def trace(module: nn.Module, input_shape: Sequence[int], input_dtype: torch.dtype = torch.float32,
          name: str | None = None) -> CompGraph:
    """The computation graph of ``module`` for one input of shape ``input_shape`` (no batch dimension)."""
    if not isinstance(module, nn.Module):
        raise TraceError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence) or not input_shape or \
            not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in input_shape):
        raise ShapeError(f"input_shape must be a non-empty sequence of positive ints without the batch dimension, "
                         f"e.g. (3, 32, 32); got {input_shape!r}")
    input_shape = tuple(int(s) for s in input_shape)
    modules, functions, methods = op_mappings()
    cls = type(module).__name__
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        tracer = _Tracer(modules)
        if tracer.is_leaf_module(module, ""):      # a lone conv, norm ...: one op, as it would be inside a network
            module = _Root(module)
        try:
            graph = tracer.trace(module, concrete_args=_concrete_args(module) or None)
        except Exception as e:
            raise TraceError(
                f"torch.fx cannot trace {cls}: {type(e).__name__}: {_first_line(e)}. Data-dependent control flow "
                "(Python if/for on tensor values) is the usual cause: register the offending submodule as a single op "
                "through the nape_op_mappings hook (docs/plugin_hooks.md), or make its control flow static") from e
        values = _propagate(graph, module, input_shape, input_dtype, cls)
    finally:
        for m, training in modes:
            m.training = training
    return _convert(graph, module, values, input_shape, modules, functions, methods, name or cls)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else ""


def _concrete_args(module: nn.Module) -> dict[str, Any]:
    sig = inspect.signature(module.forward)
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return {p.name: p.default for p in params[1:] if p.default is not inspect.Parameter.empty}


# ---------------------------------------------------------------------------------------------- shape propagation
def _check_channels(m: nn.Module, x: torch.Tensor, expected: int, dims: tuple[int, ...]) -> None:
    if x.dim() not in dims or x.shape[1] != expected:
        raise ShapeError(f"{type(m).__name__} expects {expected} channels in a {'/'.join(map(str, dims))}-d input, "
                         f"got a tensor of shape {tuple(x.shape)}")


def _norm(dims: tuple[int, ...], attr: str) -> Callable[[nn.Module, torch.Tensor], torch.Tensor]:
    def f(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        _check_channels(m, x, getattr(m, attr), dims)
        return x
    return f


def _layer_norm(m: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    k = len(m.normalized_shape)
    if tuple(x.shape[x.dim() - k:]) != tuple(m.normalized_shape):
        raise ShapeError(f"LayerNorm{tuple(m.normalized_shape)} got a tensor of shape {tuple(x.shape)}")
    return x


def _same(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return x


def _conv(m: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    if isinstance(m.padding, str):
        return None
    nd = len(m.kernel_size)
    _check_channels(m, x, m.in_channels, (nd + 2,))
    out = [O.conv_out(s, k, st, p, d) for s, k, st, p, d in
           zip(x.shape[2:], m.kernel_size, m.stride, m.padding, m.dilation)]
    if min(out) < 1:
        raise ShapeError(f"{type(m).__name__} with kernel {m.kernel_size} gives an empty output for input "
                         f"{tuple(x.shape)}")
    return x.new_empty((x.shape[0], m.out_channels, *out))


def _linear(m: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 1 or x.shape[-1] != m.in_features:
        raise ShapeError(f"Linear({m.in_features}, {m.out_features}) got a tensor of shape {tuple(x.shape)}")
    return x.new_empty((*x.shape[:-1], m.out_features))


def _pool(nd: int, has_dilation: bool) -> Callable[[nn.Module, torch.Tensor], torch.Tensor]:
    def f(m: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
        if getattr(m, "return_indices", False):
            return None

        def tup(v: Any) -> tuple[int, ...]:
            return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd
        if x.dim() not in (nd + 1, nd + 2):
            raise ShapeError(f"{type(m).__name__} expects a {nd + 1}-d or {nd + 2}-d input, got {tuple(x.shape)}")
        k, p = tup(m.kernel_size), tup(m.padding)
        s = tup(m.stride if m.stride else m.kernel_size)
        d = tup(m.dilation) if has_dilation else (1,) * nd
        keff = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
        if any(pi > ki // 2 for pi, ki in zip(p, k)):
            raise ShapeError(f"{type(m).__name__}: padding {p} is more than half the kernel {k}")
        out = [O.pool_out(L, ke, si, pi, m.ceil_mode) for L, ke, si, pi in zip(x.shape[-nd:], keff, s, p)]
        if min(out) < 1:
            raise ShapeError(f"{type(m).__name__} with kernel {k} gives an empty output for input {tuple(x.shape)}")
        return x.new_empty((*x.shape[:-nd], *out))
    return f


def _adaptive_shape(x: torch.Tensor, output_size: Any, nd: int) -> torch.Tensor | None:
    size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if x.dim() not in (nd + 1, nd + 2) or len(size) != nd or not all(s is None or isinstance(s, int) for s in size):
        return None
    return x.new_empty((*x.shape[:-nd], *(x.shape[x.dim() - nd + i] if s is None else s for i, s in enumerate(size))))


def _adaptive(m: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    return _adaptive_shape(x, m.output_size, 2 if isinstance(m, nn.AdaptiveAvgPool2d) else 1)


#: Output shapes of the most common modules, computed without running them (exact types only: subclasses may
#: override ``forward``). ``None`` from a rule means "run the module".
_FAST: dict[type, Callable[[Any, torch.Tensor], torch.Tensor | None]] = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv, nn.Linear: _linear,
    nn.BatchNorm1d: _norm((2, 3), "num_features"), nn.BatchNorm2d: _norm((4,), "num_features"),
    nn.BatchNorm3d: _norm((5,), "num_features"), nn.GroupNorm: _norm((2, 3, 4, 5), "num_channels"),
    nn.LayerNorm: _layer_norm, nn.AdaptiveAvgPool1d: _adaptive, nn.AdaptiveAvgPool2d: _adaptive,
    nn.MaxPool1d: _pool(1, True), nn.MaxPool2d: _pool(2, True), nn.MaxPool3d: _pool(3, True),
    nn.AvgPool1d: _pool(1, False), nn.AvgPool2d: _pool(2, False), nn.AvgPool3d: _pool(3, False),
    **{t: _same for t in (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Sigmoid,
                          nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softmax, nn.LogSoftmax, nn.Identity,
                          nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)},
}


_NOT_FAST = object()


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """numpy broadcasting of two shapes, or None when they do not broadcast."""
    out = []
    for x, y in zip(reversed((1,) * (len(b) - len(a)) + tuple(a)), reversed((1,) * (len(a) - len(b)) + tuple(b))):
        if x != y and 1 not in (x, y):
            return None
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def _elementwise(args: tuple, kwargs: dict) -> Any:
    """Broadcasting binary ops (add, sub, mul) on meta tensors or numbers."""
    if kwargs or len(args) != 2:
        return _NOT_FAST
    a, b = args
    ta, tb = isinstance(a, torch.Tensor), isinstance(b, torch.Tensor)
    if ta and tb:
        shape, dtype = _broadcast(a.shape, b.shape), torch.promote_types(a.dtype, b.dtype)
        if shape is None:
            return _NOT_FAST       # torch raises the precise error
    elif ta or tb:
        t, other = (a, b) if ta else (b, a)
        if not isinstance(other, (int, float)) or isinstance(other, bool):
            return _NOT_FAST
        shape, dtype = t.shape, t.dtype
        if isinstance(other, float) and not dtype.is_floating_point:
            dtype = torch.get_default_dtype()
    else:
        return _NOT_FAST
    return torch.empty(shape, dtype=dtype, device="meta")


def _unary(args: tuple, kwargs: dict) -> Any:
    """Shape- and dtype-preserving ops (activations, softmax, dropout, copies)."""
    x = args[0] if args else kwargs.get("input")
    if not isinstance(x, torch.Tensor) or kwargs.get("dtype") is not None:
        return _NOT_FAST
    return x


def _cat(args: tuple, kwargs: dict) -> Any:
    xs = args[0] if args else kwargs.get("tensors")
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    if not isinstance(xs, (tuple, list)) or not xs or not all(isinstance(x, torch.Tensor) for x in xs) or \
            len({x.dim() for x in xs}) != 1 or len({x.dtype for x in xs}) != 1 or not isinstance(dim, int):
        return _NOT_FAST
    d = dim % xs[0].dim()
    rest = {tuple(x.shape[:d]) + tuple(x.shape[d + 1:]) for x in xs}
    if len(rest) != 1:
        return _NOT_FAST           # torch raises the precise error
    shape = list(xs[0].shape)
    shape[d] = sum(x.shape[d] for x in xs)
    return xs[0].new_empty(shape)


def _mean(args: tuple, kwargs: dict) -> Any:
    x = args[0] if args else None
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keep = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    if not isinstance(x, torch.Tensor) or set(kwargs) - {"dim", "keepdim"} or dims is None or \
            not x.dtype.is_floating_point:
        return _NOT_FAST
    dims = {d % x.dim() for d in ((dims,) if isinstance(dims, int) else dims)}
    shape = [1 if i in dims else s for i, s in enumerate(x.shape) if keep or i not in dims]
    return x.new_empty(shape)


def _matmul(args: tuple, kwargs: dict) -> Any:
    if kwargs or len(args) != 2:
        return _NOT_FAST
    a, b = args
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.dim() < 2 or b.dim() < 2 or \
            a.shape[-1] != b.shape[-2] or a.dtype != b.dtype:
        return _NOT_FAST
    batch = _broadcast(a.shape[:-2], b.shape[:-2])
    if batch is None:
        return _NOT_FAST
    return a.new_empty((*batch, a.shape[-2], b.shape[-1]))


def _f_adaptive(nd: int) -> Callable[[tuple, dict], Any]:
    def f(args: tuple, kwargs: dict) -> Any:
        if len(args) != 2 or kwargs or not isinstance(args[0], torch.Tensor):
            return _NOT_FAST
        out = _adaptive_shape(args[0], args[1], nd)
        return _NOT_FAST if out is None else out
    return f


def _sdpa(args: tuple, kwargs: dict) -> Any:
    if len(args) != 3 or kwargs or not all(isinstance(a, torch.Tensor) and a.dim() >= 2 for a in args):
        return _NOT_FAST
    q, k, v = args
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2] or k.shape[:-2] != v.shape[:-2] or \
            _broadcast(q.shape[:-2], k.shape[:-2]) != tuple(q.shape[:-2]):
        return _NOT_FAST
    return q.new_empty((*q.shape[:-1], v.shape[-1]))


_UNARY_FUNCTIONS = (torch.relu, F.relu, F.relu6, torch.sigmoid, F.sigmoid, torch.tanh, F.tanh, F.gelu, F.silu,
                    F.hardswish, F.hardsigmoid, F.leaky_relu, F.elu, F.softmax, torch.softmax, F.log_softmax,
                    F.dropout, F.dropout1d, F.dropout2d, F.dropout3d)
_UNARY_METHODS = ("relu", "sigmoid", "tanh", "softmax", "log_softmax", "contiguous", "clone", "detach")
#: Functions (and tensor-method names) whose result is computed without running them; they fall back to torch when
#: the rule does not apply (``_NOT_FAST``). True division is left to torch: its integer promotion differs.
_FAST_CALLS: dict[Any, Callable[[tuple, dict], Any]] = {
    **{f: _elementwise for f in (operator.add, operator.sub, operator.mul, torch.add, torch.sub, torch.mul,
                                 "add", "sub", "mul")},
    **{f: _unary for f in (*_UNARY_FUNCTIONS, *_UNARY_METHODS)},
    torch.cat: _cat, torch.concat: _cat, torch.mean: _mean, "mean": _mean,
    operator.matmul: _matmul, torch.matmul: _matmul, "matmul": _matmul,
    F.adaptive_avg_pool1d: _f_adaptive(1), F.adaptive_avg_pool2d: _f_adaptive(2),
    F.scaled_dot_product_attention: _sdpa,
}


def _run_call(target: Any, args: tuple, kwargs: dict) -> Any:
    """Run a call_function (``target`` a function) or call_method (``target`` a name) on meta values."""
    fast = _FAST_CALLS.get(target)
    if fast is not None:
        out = fast(args, kwargs)
        if out is not _NOT_FAST:
            return out
    if isinstance(target, str):
        self_obj, *rest = args
        return getattr(self_obj, target)(*rest, **kwargs)
    return target(*args, **kwargs)


def _to_meta(v: Any, cache: dict[int, Any]) -> Any:
    if isinstance(v, torch.Tensor) and v.device.type != "meta":
        if id(v) not in cache:
            cache[id(v)] = torch.empty_like(v, device="meta")
        return cache[id(v)]
    return v


def _mha(m: nn.MultiheadAttention, args: tuple, kwargs: dict) -> Any:
    """``nn.MultiheadAttention`` without masks: (output, averaged weights or None)."""
    names = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
             "is_causal")
    given = {**dict(zip(names, args)), **kwargs}
    if set(given) - set(names) or given.get("key_padding_mask") is not None or given.get("attn_mask") is not None \
            or given.get("is_causal") or not given.get("average_attn_weights", True):
        return None
    q, k, v = given.get("query"), given.get("key"), given.get("value")
    if not all(isinstance(t, torch.Tensor) and t.dim() == 3 for t in (q, k, v)) or q.shape[-1] != m.embed_dim \
            or k.shape[-1] != m.kdim or v.shape[-1] != m.vdim or k.shape[:-1] != v.shape[:-1]:
        return None
    b, nq, nk = (q.shape[0], q.shape[1], k.shape[1]) if m.batch_first else (q.shape[1], q.shape[0], k.shape[0])
    if (k.shape[0] if m.batch_first else k.shape[1]) != b:
        return None
    weights = q.new_empty((b, nq, nk)) if given.get("need_weights", True) else None
    return q.new_empty((*q.shape[:-1], m.embed_dim)), weights


def _run_module(m: nn.Module, args: tuple, kwargs: dict, cache: dict[int, Any]) -> Any:
    if type(m) is nn.MultiheadAttention:
        out = _mha(m, args, kwargs)
        if out is not None:
            return out
    rule = _FAST.get(type(m))
    if rule is not None and len(args) == 1 and not kwargs and isinstance(args[0], torch.Tensor):
        out = rule(m, args[0])
        if out is not None:
            return out
    swapped: list[tuple[dict, str, Any]] = []
    try:
        for sub in m.modules():
            for slots in (sub._parameters, sub._buffers):
                for k, v in slots.items():
                    if isinstance(v, torch.Tensor) and v.device.type != "meta":
                        swapped.append((slots, k, v))
                        slots[k] = _to_meta(v, cache)
        return m(*args, **kwargs)
    finally:
        for slots, k, v in swapped:
            slots[k] = v


def _propagate(graph: fx.Graph, root: nn.Module, input_shape: tuple[int, ...], dtype: torch.dtype,
               cls: str) -> dict[fx.Node, Any]:
    """Run ``graph`` on a meta input of batch size 1; every node's value (meta tensors, tuples, python values)."""
    env: dict[fx.Node, Any] = {}
    cache: dict[int, Any] = {}
    first = True
    with torch.device("meta"), torch.no_grad():
        for n in graph.nodes:
            if n.op == "output":
                continue
            if n.op == "placeholder":
                if first:
                    env[n] = torch.empty((1, *input_shape), dtype=dtype, device="meta")
                    first = False
                elif n.args:
                    env[n] = n.args[0]
                else:
                    raise TraceError(f"{cls}.forward takes a second required input {n.target!r}; nape traces modules "
                                     "with one tensor input: wrap the module so the other inputs are fixed")
                continue
            args, kwargs = fx.node.map_arg((n.args, n.kwargs), env.__getitem__)
            try:
                if n.op == "get_attr":
                    env[n] = _to_meta(_fetch(root, n.target), cache)
                elif n.op == "call_module":
                    env[n] = _run_module(_submodule(root, n.target), args, kwargs, cache)
                else:
                    env[n] = _run_call(n.target, args, kwargs)
            except Exception as e:
                shapes = [tuple(a.shape) for a in _flat(args) if isinstance(a, torch.Tensor)]
                where = n.target if isinstance(n.target, str) else getattr(n.target, "__name__", str(n.target))
                raise ShapeError(
                    f"shapes do not propagate through {cls} for input_shape={input_shape}: {n.op} {where!r} "
                    f"({n.name}) failed on inputs of shape {shapes}: {type(e).__name__}: {_first_line(e)}. Check "
                    "input_shape (channels first, no batch dimension) against what the model expects; a module "
                    "whose forward needs real data (.item(), nonzero) cannot be traced") from e
    return env


def _flat(obj: Any) -> list[Any]:
    if isinstance(obj, (tuple, list)):
        return [y for x in obj for y in _flat(x)]
    if isinstance(obj, dict):
        return [y for x in obj.values() for y in _flat(x)]
    return [obj]


# ------------------------------------------------------------------------------------------------------ conversion
def _shape(v: Any) -> tuple[int, ...] | None:
    """Shape without the batch dimension of a tensor (first tensor of a tuple), or None for non-tensors."""
    if isinstance(v, torch.Tensor):
        return tuple(v.shape[1:])
    if isinstance(v, (tuple, list)) and v:
        return _shape(v[0])
    return None


def _convert(graph: fx.Graph, root: nn.Module, values: dict[fx.Node, Any], input_shape: tuple[int, ...],
             modules: dict, functions: dict, methods: dict, name: str) -> CompGraph:
    nodes: list[Node] = [Node("input", input_shape, input_shape, name="input")]
    inputs: list[list[int]] = [[]]
    index: dict[fx.Node, int] = {}          # fx node -> raw node index (data nodes only)
    consts: dict[fx.Node, frozenset[int]] = {}   # non-data fx node -> ids of the parameters it carries
    multi: set[fx.Node] = set()
    outputs: list[int] = []
    oov: list[str] = []
    all_params = {id(p): p.numel() for p in root.parameters()}
    seen: set[int] = set()
    empty: frozenset[int] = frozenset()
    live: set[fx.Node] = set()        # nodes whose value reaches the output: dead code consumes no parameters
    for n in reversed(graph.nodes):
        if n.op == "output" or n in live:
            live.update(n.all_input_nodes)

    for n in graph.nodes:
        op_kind = n.op
        if op_kind in ("call_module", "call_function", "call_method", "get_attr") and n not in live:
            continue
        if op_kind == "placeholder":
            if index:
                consts[n] = empty
            else:
                index[n] = 0
            continue
        if op_kind == "get_attr":
            obj = values[n]
            consts[n] = frozenset((id(_fetch(root, n.target)),)) if isinstance(obj, torch.Tensor) else empty
            continue
        if op_kind == "output":
            outputs = [index[a] for a in n.all_input_nodes if a in index]
            continue
        used = n.all_input_nodes
        data_args = [a for a in used if a in index]
        param_ids = set()
        for a in used:
            if a in consts:
                param_ids |= consts[a]
        target = n.target
        if op_kind == "call_module":
            target = _submodule(root, n.target)
            param_ids.update(map(id, target.parameters() if target._modules else
                                 (p for p in target._parameters.values() if p is not None)))
        value = values[n]
        out_shape = _shape(value)
        if not data_args or out_shape is None:   # constants and non-tensor values (sizes, dims) are not nodes
            consts[n] = frozenset(param_ids)
            continue
        if op_kind == "call_module":
            mapping = module_mapping(modules, type(target))
            label, call_name = type(target).__name__, str(n.target)
        elif op_kind == "call_function":
            mapping = functions.get(target)
            label = call_name = getattr(target, "__name__", str(target))
        else:
            mapping = methods.get(target)
            label = call_name = str(target)
        is_multi = isinstance(value, (tuple, list))
        call = Call(target, _tensor_args(n.args, index, values), _tensor_args(n.kwargs, index, values),
                    [_shape(values[a]) for a in data_args], out_shape, call_name, is_multi,
                    {"from_multi_output": any(a in multi for a in data_args),
                     "batched_in_shapes": [_batched(values[a]) for a in data_args],
                     "batched_out_shape": _batched(value)})
        if mapping is None:
            node = simple_node("oov", call.in_shape, out_shape, name=label)
        else:
            try:
                node = mapping(call)
            except Exception as e:
                raise TraceError(f"the op mapping of {label} ({n.name}) failed on inputs of shape {call.in_shapes}: "
                                 f"{type(e).__name__}: {_first_line(e)}; fix or override it through the "
                                 "nape_op_mappings hook") from e
            if not isinstance(node, Node):
                raise TraceError(f"the op mapping of {label} returned {type(node).__name__}, expected a Node")
            if node.op not in OP_INDEX and node.op != IDENTITY:
                node = replace(node, op="oov", name=node.op)
        if node.op == "oov":
            oov.append(node.name or label)
        if node.op != IDENTITY:
            fresh = param_ids - seen
            if fresh:
                seen.update(fresh)
                node = _with_params(node, sum(all_params.get(i, 0) for i in fresh))
            elif node.params:
                node = _with_params(node, 0)
        if is_multi:
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
    meta: dict[str, Any] = {"source": "torch", "model": name, "input_shape": list(input_shape)}
    if oov:
        meta["oov"] = sorted(set(oov))
    if unused:
        meta["unused_params"] = unused
    return simplify(nodes, inputs, outputs, meta)


def _with_params(node: Node, params: int) -> Node:
    return Node(node.op, node.in_shape, node.out_shape, node.kernel, node.stride, node.dilation, node.groups,
                node.bias, node.flops, params, node.name)


def _batched(v: Any) -> tuple[int, ...]:
    if isinstance(v, torch.Tensor):
        return tuple(int(s) for s in v.shape)
    return _batched(v[0]) if isinstance(v, (tuple, list)) and v else ()


def _submodule(root: nn.Module, target: str) -> nn.Module:
    """``root.get_submodule(target)`` without its checks (fx only records paths of existing submodules)."""
    m = root
    for part in target.split("."):
        m = m._modules[part]
    return m


def _fetch(root: nn.Module, target: str) -> Any:
    obj: Any = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _tensor_args(obj: Any, index: dict, values: dict) -> Any:
    def conv(a: fx.Node) -> Any:
        v = values.get(a)
        if isinstance(v, torch.Tensor):
            return TensorArg(tuple(v.shape[1:]), False) if a in index else TensorArg(tuple(v.shape), True)
        return None if isinstance(v, (tuple, list)) else v
    return fx.node.map_arg(obj, conv)
