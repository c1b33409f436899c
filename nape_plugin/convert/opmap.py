"""How torch modules, functions and tensor methods map onto the op vocabulary.

A mapping takes a :class:`Call` (what the tracer saw) and returns a :class:`~nape_plugin.graph.Node`. Plugins add their
own through the ``nape_op_mappings`` hook; a mapping may also be a plain op name, which gives a node without kernel
attributes. Module classes are keyed by qualified name (``"torch.nn.modules.conv.Conv2d"``), so a plugin can map a
class of a framework it does not import, and a plugin's mapping replaces a built-in one however each names the class.
The tracer sets each node's ``params`` to the parameters the call really consumed (shared weights counted once), so
mappings only need the op, shapes, kernel attributes and FLOPs.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace
from math import prod
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import PluginError
from ..graph.builder import IDENTITY, conv_node, global_pool_node, linear_node, norm_node, pool_node, simple_node
from ..graph.core import Node, Shape
from ..graph.ops import OP_INDEX
from ..plugins.manager import DOCS, as_mapping, get_plugin_manager, registry_cache


@dataclass(frozen=True)
class TensorArg:
    """A tensor argument of a call, seen by its shape (batch dimension dropped unless ``const``)."""

    shape: Shape
    const: bool = False


@dataclass
class Call:
    """One module call, function call or method call as the tracer saw it."""

    target: Any                       # the module instance, the function, or the method name
    args: tuple                       # tensors replaced by TensorArg, other literals kept
    kwargs: dict
    in_shapes: list[Shape]            # shapes of the data (non-constant) tensor inputs, each producer once, in order
    out_shape: Shape
    name: str
    multi_output: bool = False        # the call returned several tensors (a tuple)
    #: "from_multi_output": an input is a tuple-returning call; "batched_in_shapes" / "batched_out_shape": shapes
    #: with the batch dimension (of size 1)
    extra: dict = field(default_factory=dict)

    @property
    def in_shape(self) -> Shape:
        return self.in_shapes[0] if self.in_shapes else ()

    def arg(self, index: int, key: str, default: Any = None) -> Any:
        """Positional argument ``index`` or keyword ``key``."""
        return self.args[index] if len(self.args) > index else self.kwargs.get(key, default)


Mapping = str | Callable[[Call], Node]


def op(name: str) -> Callable[[Call], Node]:
    """A mapping giving a plain node of op ``name``."""
    return lambda c: simple_node(name, c.in_shape, c.out_shape, name=c.name)


def _multi(name: str) -> Callable[[Call], Node]:
    return lambda c: Node(name, c.out_shape, c.out_shape, name=c.name)


def _tup(v: Any, n: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v),) * n


def _out_size(c: Call) -> int:
    """Elements of the output, batch of 1 included: right even when the batch is not the first dimension (the
    sequence-first layouts of attention code), where ``prod(c.out_shape)`` would miss the sequence length."""
    full = c.extra.get("batched_out_shape")
    return prod(full) if full is not None else prod(c.out_shape)


def _linear(c: Call, bias: bool) -> Node:
    node = linear_node(c.in_shape, c.out_shape, bias, c.name)
    return replace(node, flops=_out_size(c) * c.in_shape[-1])


# ------------------------------------------------------------------------------------------------------- modules
def _conv_module(c: Call) -> Node:
    m = c.target
    return conv_node(c.in_shape, c.out_shape, m.kernel_size, m.stride, m.dilation, m.groups, m.bias is not None,
                     c.name, transpose=isinstance(m, nn.modules.conv._ConvTransposeNd))


def _pool_module(kind: str) -> Callable[[Call], Node]:
    def f(c: Call) -> Node:
        m = c.target
        nd = len(c.in_shape) - 1
        k = _tup(m.kernel_size, nd)
        return pool_node(kind, c.in_shape, c.out_shape, k, _tup(m.stride or m.kernel_size, nd), c.name,
                         _tup(getattr(m, "dilation", 1), nd))
    return f


def _adaptive(kind: str) -> Callable[[Call], Node]:
    def f(c: Call) -> Node:
        if all(s == 1 for s in c.out_shape[1:]):
            return global_pool_node(f"global_{kind}", c.in_shape, c.out_shape, c.name)
        k = tuple(max(1, i // o) for i, o in zip(c.in_shape[1:], c.out_shape[1:]))
        return pool_node(kind, c.in_shape, c.out_shape, k, k, c.name)
    return f


def _mha(c: Call) -> Node:
    """``nn.MultiheadAttention`` (self- or cross-attention): q/k/v/out projections plus the two attention matmuls."""
    m = c.target
    full = c.extra.get("batched_in_shapes") or [(1, *s) for s in c.in_shapes]
    q = full[0]
    kv = full[1] if len(full) > 1 else q
    seq = (lambda s: s[-2]) if m.batch_first or len(q) == 2 else (lambda s: s[0])
    nq, nk, d = seq(q), seq(kv), m.embed_dim
    flops = nq * d * d + nk * m.kdim * d + nk * m.vdim * d + nq * d * d + 2 * nq * nk * d
    return Node("attention", (nq, d), (nq, d), bias=m.in_proj_bias is not None or m.bias_k is not None, flops=flops,
                name=c.name)


MODULES: dict[type, Mapping] = {
    nn.Conv1d: _conv_module, nn.Conv2d: _conv_module, nn.Conv3d: _conv_module,
    nn.ConvTranspose1d: _conv_module, nn.ConvTranspose2d: _conv_module, nn.ConvTranspose3d: _conv_module,
    nn.Linear: lambda c: _linear(c, c.target.bias is not None),
    nn.BatchNorm1d: lambda c: norm_node("batchnorm", c.in_shape, c.in_shape[0], c.target.affine, c.name),
    nn.BatchNorm2d: lambda c: norm_node("batchnorm", c.in_shape, c.in_shape[0], c.target.affine, c.name),
    nn.BatchNorm3d: lambda c: norm_node("batchnorm", c.in_shape, c.in_shape[0], c.target.affine, c.name),
    nn.SyncBatchNorm: lambda c: norm_node("batchnorm", c.in_shape, c.in_shape[0], c.target.affine, c.name),
    nn.LayerNorm: lambda c: norm_node("layernorm", c.in_shape, prod(c.target.normalized_shape),
                                      c.target.elementwise_affine, c.name),
    nn.GroupNorm: lambda c: norm_node("groupnorm", c.in_shape, c.target.num_channels, c.target.affine, c.name),
    nn.InstanceNorm1d: lambda c: norm_node("groupnorm", c.in_shape, c.in_shape[0], c.target.affine, c.name),
    nn.InstanceNorm2d: lambda c: norm_node("groupnorm", c.in_shape, c.in_shape[0], c.target.affine, c.name),
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.LeakyReLU: "leaky_relu", nn.PReLU: "prelu", nn.ELU: "elu",
    nn.SELU: "elu", nn.CELU: "elu", nn.GELU: "gelu", nn.SiLU: "silu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh",
    nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid", nn.Softmax: "softmax", nn.LogSoftmax: "softmax",
    nn.Hardtanh: lambda c: simple_node("relu6", c.in_shape, c.out_shape, name=c.name)
    if (c.target.min_val, c.target.max_val) == (0.0, 6.0) else simple_node("oov", c.in_shape, c.out_shape,
                                                                            name="Hardtanh"),
    nn.MaxPool1d: _pool_module("maxpool"), nn.MaxPool2d: _pool_module("maxpool"), nn.MaxPool3d: _pool_module("maxpool"),
    nn.AvgPool1d: _pool_module("avgpool"), nn.AvgPool2d: _pool_module("avgpool"), nn.AvgPool3d: _pool_module("avgpool"),
    nn.AdaptiveAvgPool1d: _adaptive("avgpool"), nn.AdaptiveAvgPool2d: _adaptive("avgpool"),
    nn.AdaptiveAvgPool3d: _adaptive("avgpool"), nn.AdaptiveMaxPool1d: _adaptive("maxpool"),
    nn.AdaptiveMaxPool2d: _adaptive("maxpool"), nn.AdaptiveMaxPool3d: _adaptive("maxpool"),
    nn.Flatten: "reshape", nn.Unflatten: "reshape",
    nn.Identity: IDENTITY, nn.Dropout: IDENTITY, nn.Dropout1d: IDENTITY, nn.Dropout2d: IDENTITY,
    nn.Dropout3d: IDENTITY, nn.AlphaDropout: IDENTITY,
    nn.Upsample: "upsample", nn.UpsamplingNearest2d: "upsample", nn.UpsamplingBilinear2d: "upsample",
    nn.PixelShuffle: "reshape", nn.ZeroPad2d: "pad", nn.ConstantPad1d: "pad", nn.ConstantPad2d: "pad",
    nn.ConstantPad3d: "pad", nn.ReflectionPad1d: "pad", nn.ReflectionPad2d: "pad", nn.ReplicationPad1d: "pad",
    nn.ReplicationPad2d: "pad",
    nn.MultiheadAttention: _mha,
    nn.Embedding: lambda c: simple_node("embedding", c.in_shape, c.out_shape, name=c.name),
}


# ----------------------------------------------------------------------------------------------------- functions
def _is_zero(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0


def _add(c: Call) -> Node:
    if len(c.in_shapes) == 1 and any(_is_zero(a) for a in (*c.args, *c.kwargs.values())):
        return Node(IDENTITY, c.in_shape, c.out_shape, name=c.name)   # x + 0, as in Python's sum()
    return Node("add", c.out_shape, c.out_shape, name=c.name)


def _mul(c: Call) -> Node:
    if any(_is_zero(a) for a in (*c.args, *c.kwargs.values())):
        return simple_node("zero", c.in_shape, c.out_shape, name=c.name)   # x * 0: the NAS "none" op
    return Node("mul", c.out_shape, c.out_shape, name=c.name)


def _matmul(c: Call) -> Node:
    a = next((a.shape for a in c.args if isinstance(a, TensorArg)), ())
    return Node("matmul", c.in_shape, c.out_shape, flops=_out_size(c) * (a[-1] if a else 1), name=c.name)


def _mean(c: Call) -> Node:
    dims = c.arg(1, "dim")
    nd = len(c.in_shape) + 1                       # with the batch dimension
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    dims = {d % nd for d in dims}
    spatial = set(range(2, nd)) if nd >= 4 else {1} if nd == 3 else set()
    if spatial and dims == spatial:
        return global_pool_node("global_avgpool", c.in_shape, c.out_shape, c.name)
    return simple_node("reduce", c.in_shape, c.out_shape, name=c.name)


def _getitem(c: Call) -> Node:
    if c.extra.get("from_multi_output"):
        return Node(IDENTITY, c.in_shape, c.out_shape, name=c.name)   # picking one tensor of a tuple
    return simple_node("slice", c.in_shape, c.out_shape, name=c.name)


def _f_pool(kind: str) -> Callable[[Call], Node]:
    def f(c: Call) -> Node:
        nd = len(c.in_shape) - 1
        k = _tup(c.arg(1, "kernel_size"), nd)
        s = c.arg(2, "stride") or k
        return pool_node(kind, c.in_shape, c.out_shape, k, _tup(s, nd), c.name)
    return f


def _f_linear(c: Call) -> Node:
    return _linear(c, c.arg(2, "bias") is not None)


def _f_conv(c: Call) -> Node:
    w = c.arg(1, "weight").shape
    nd = len(w) - 2
    return conv_node(c.in_shape, c.out_shape, w[2:], _tup(c.arg(3, "stride", 1), nd), _tup(c.arg(5, "dilation", 1), nd),
                     c.arg(6, "groups", 1), c.arg(2, "bias") is not None, c.name)


def _f_conv_transpose(c: Call) -> Node:
    w = c.arg(1, "weight").shape
    nd = len(w) - 2
    return conv_node(c.in_shape, c.out_shape, w[2:], _tup(c.arg(3, "stride", 1), nd), _tup(c.arg(7, "dilation", 1), nd),
                     c.arg(6, "groups", 1), c.arg(2, "bias") is not None, c.name, transpose=True)


def _sdpa(c: Call) -> Node:
    """``F.scaled_dot_product_attention``: the q @ k^T and attn @ v matmuls."""
    q, k, v = (c.arg(i, key) for i, key in enumerate(("query", "key", "value")))
    heads = prod(q.shape[:-2])
    flops = heads * q.shape[-2] * k.shape[-2] * (q.shape[-1] + v.shape[-1])
    return Node("attention", q.shape, c.out_shape, flops=flops, name=c.name)


def _clamp(c: Call) -> Node:
    """``clamp(0, 6)`` is relu6 and ``clamp(min=0)`` relu; other bounds are out of vocabulary."""
    bounds = (c.arg(1, "min"), c.arg(2, "max"))
    name = {(0, 6): "relu6", (0, None): "relu"}.get(bounds, "oov")
    return simple_node(name, c.in_shape, c.out_shape, name=c.name if name != "oov" else f"clamp{bounds}")


def _hardtanh(c: Call) -> Node:
    bounds = (c.arg(1, "min_val", -1.0), c.arg(2, "max_val", 1.0))
    name = "relu6" if bounds == (0, 6) else "oov"
    return simple_node(name, c.in_shape, c.out_shape, name=c.name if name != "oov" else f"hardtanh{bounds}")


#: Tensor methods, by name.
METHODS: dict[str, Mapping] = {
    "add": _add, "sub": op("sub"), "mul": _mul, "div": op("div"), "matmul": _matmul,
    "add_": _add, "sub_": op("sub"), "mul_": _mul, "div_": op("div"),
    "relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh",
    "softmax": "softmax", "log_softmax": "softmax", "clamp": _clamp, "clamp_": _clamp, "clip": _clamp,
    "flatten": "reshape", "reshape": "reshape", "view": "reshape", "squeeze": "reshape", "unsqueeze": "reshape",
    "view_as": "reshape", "reshape_as": "reshape", "expand": "reshape", "expand_as": "reshape", "repeat": "reshape",
    "permute": "transpose", "transpose": "transpose", "t": "transpose",
    "mean": _mean, "sum": "reduce", "amax": "reduce", "max": "reduce",
    "chunk": "slice", "split": "slice", "unbind": "slice", "narrow": "slice",
    "contiguous": IDENTITY, "clone": IDENTITY, "detach": IDENTITY, "to": IDENTITY, "type": IDENTITY,
    "float": IDENTITY, "type_as": IDENTITY,
    "new_zeros": "zero",      # zeros of another shape made from x: the reducing "none" op of NAS cells
}

#: Functions (torch, torch.nn.functional, operator), by identity.
FUNCTIONS: dict[Callable, Mapping] = {
    operator.add: _add, torch.add: _add, operator.sub: op("sub"), torch.sub: op("sub"),
    operator.mul: _mul, torch.mul: _mul, operator.truediv: op("div"), torch.div: op("div"),
    operator.matmul: _matmul, torch.matmul: _matmul, torch.bmm: _matmul, torch.mm: _matmul,
    torch.cat: _multi("concat"), torch.concat: _multi("concat"), torch.stack: _multi("concat"),
    operator.getitem: _getitem,
    torch.relu: "relu", F.relu: "relu", F.relu6: "relu6", F.hardtanh: _hardtanh, torch.clamp: _clamp,
    torch.clip: _clamp, torch.sigmoid: "sigmoid", torch.tanh: "tanh",
    F.gelu: "gelu", F.silu: "silu", F.hardswish: "hardswish", F.hardsigmoid: "hardsigmoid",
    F.leaky_relu: "leaky_relu", F.elu: "elu", F.softmax: "softmax", torch.softmax: "softmax",
    F.log_softmax: "softmax",
    F.max_pool1d: _f_pool("maxpool"), F.max_pool2d: _f_pool("maxpool"), F.max_pool3d: _f_pool("maxpool"),
    F.avg_pool1d: _f_pool("avgpool"), F.avg_pool2d: _f_pool("avgpool"), F.avg_pool3d: _f_pool("avgpool"),
    F.adaptive_avg_pool1d: _adaptive("avgpool"), F.adaptive_avg_pool2d: _adaptive("avgpool"),
    F.adaptive_avg_pool3d: _adaptive("avgpool"), F.adaptive_max_pool1d: _adaptive("maxpool"),
    F.adaptive_max_pool2d: _adaptive("maxpool"), F.adaptive_max_pool3d: _adaptive("maxpool"),
    F.pad: "pad", F.interpolate: "upsample",
    torch.flatten: "reshape", torch.reshape: "reshape", torch.squeeze: "reshape", torch.unsqueeze: "reshape",
    torch.transpose: "transpose", torch.permute: "transpose",
    torch.mean: _mean, torch.sum: "reduce", torch.chunk: "slice", torch.split: "slice", torch.unbind: "slice",
    F.dropout: IDENTITY, torch.dropout: IDENTITY, F.dropout1d: IDENTITY, F.dropout2d: IDENTITY,
    F.dropout3d: IDENTITY, F.alpha_dropout: IDENTITY,
    F.linear: _f_linear, F.conv1d: _f_conv, F.conv2d: _f_conv, F.conv3d: _f_conv,
    F.conv_transpose1d: _f_conv_transpose, F.conv_transpose2d: _f_conv_transpose, F.conv_transpose3d: _f_conv_transpose,
    F.batch_norm: lambda c: norm_node("batchnorm", c.in_shape, c.in_shape[0], c.arg(3, "weight") is not None, c.name),
    F.layer_norm: lambda c: norm_node("layernorm", c.in_shape, prod(c.arg(1, "normalized_shape")),
                                      c.arg(2, "weight") is not None, c.name),
    F.group_norm: lambda c: norm_node("groupnorm", c.in_shape, c.in_shape[0], c.arg(2, "weight") is not None, c.name),
    F.instance_norm: lambda c: norm_node("groupnorm", c.in_shape, c.in_shape[0], c.arg(3, "weight") is not None,
                                         c.name),
    F.embedding: "embedding",
    F.scaled_dot_product_attention: _sdpa,
    torch.zeros_like: "zero",
}


def as_callable(mapping: Mapping) -> Callable[[Call], Node]:
    """A mapping as a function of a :class:`Call` (op names become plain nodes)."""
    if callable(mapping):
        return mapping
    if mapping == IDENTITY:
        return lambda c: Node(IDENTITY, c.in_shape, c.out_shape, name=c.name)
    return op(mapping)


def qualified_name(cls: type) -> str:
    """``"module.QualName"`` of a class, as module mappings are keyed."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _entries(result: Any) -> list[tuple[Any, Callable[[Call], Node]]]:
    """The ``(key, mapping function)`` pairs of one ``nape_op_mappings`` result, module classes by qualified name."""
    pairs = []
    for key, value in as_mapping("nape_op_mappings", result).items():
        if not (callable(value) or value in OP_INDEX or value == IDENTITY):
            raise PluginError(f"nape_op_mappings maps {key!r} to {value!r}, which is neither an op of "
                              f"nape_plugin.graph.ops.VOCAB nor a function of a Call (see {DOCS})")
        if isinstance(key, type):
            key = qualified_name(key)
        elif not (isinstance(key, str) or callable(key)):
            raise PluginError(f"nape_op_mappings has key {key!r}; keys are module classes (or their qualified names), "
                              f"functions or tensor-method names (see {DOCS})")
        pairs.append((key, as_callable(value)))
    return pairs


@registry_cache
def op_mappings() -> tuple[dict, dict, dict]:
    """(module classes by qualified name, functions, method names) -> mapping function; built-ins overridden by
    plugins. A string key with a dot names a module class, one without names a tensor method."""
    modules: dict = {}
    functions: dict = {}
    methods: dict = {}
    for key, mapping in get_plugin_manager().registry("nape_op_mappings", _entries).items():
        if isinstance(key, str):
            (modules if "." in key else methods)[key] = mapping
        else:
            functions[key] = mapping
    return modules, functions, methods


def module_mapping(modules: dict, cls: type) -> Callable[[Call], Node] | None:
    """The mapping of module class ``cls`` in ``modules`` (the first of :func:`op_mappings`): its own, else that of
    its nearest mapped base class; None when neither is mapped."""
    for base in cls.__mro__:
        mapping = modules.get(qualified_name(base))
        if mapping is not None:
            return mapping
    return None
