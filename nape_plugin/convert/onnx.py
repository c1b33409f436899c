"""ONNX models as computation graphs (needs the ``onnx`` extra: ``pip install 'nape-plugin[onnx]'``).

Shapes come from ``onnx.shape_inference``; ops map onto the same vocabulary, node attributes and FLOPs conventions as
the torch tracer, and parameters are the initializers each op consumes (each counted once). Tensors that do not
depend on the model input (initializers, ``Constant``, shape arithmetic such as ``Shape -> Gather -> Concat``) are not
nodes; they only carry their initializers to the op that consumes them.

Patterns exporters split into several ops are joined back so a model traced from torch and its ONNX export give the
same graph: ``MatMul`` by a weight followed by ``Add`` of a bias is one ``linear``; ``x * Sigmoid(x)`` is ``silu``;
chains of ``Slice`` are one ``slice``. What cannot be recovered: an exporter that folds batch norm into the preceding
conv (torch does in eval mode; export with ``training=torch.onnx.TrainingMode.TRAINING`` to keep it) gives a conv with
a bias and no ``batchnorm`` node, and ops decomposed into arithmetic (GELU before opset 20 becomes ``Erf``, ``Div``,
``Mul`` ...) stay decomposed.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import replace
from math import prod
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import ConversionError, ShapeError
from ..graph.builder import (
    IDENTITY,
    conv_node,
    global_pool_node,
    linear_node,
    norm_node,
    pool_node,
    simple_node,
    simplify,
)
from ..graph.core import CompGraph, Node

__all__ = ["from_onnx", "is_onnx"]

#: Ops whose inputs at these positions are learnable weights (all other positions are shapes, stats or constants).
_WEIGHT_SLOTS: dict[str, tuple[int, ...]] = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (0, 1, 2), "MatMul": (0, 1), "BatchNormalization": (1, 2),
    "LayerNormalization": (1, 2), "InstanceNormalization": (1, 2), "GroupNormalization": (1, 2), "PRelu": (1,),
    "Gather": (0,),
}
#: Elementwise ops whose non-scalar float initializer operands are parameters (``x + pos_embed``, ``x * gamma``).
_OPERAND_PARAMS = frozenset({"Add", "Sub", "Mul", "Div", "Concat", "Sum"})
#: Ops whose output is metadata about their input, not data.
_SHAPE_OPS = frozenset({"Shape", "Size"})
_FLOAT_TYPES = (1, 10, 11, 16)            # FLOAT, FLOAT16, DOUBLE, BFLOAT16
#: Ops whose later outputs are not data (batch-norm running statistics, dropout masks).
_FIRST_OUTPUT_ONLY = frozenset({"BatchNormalization", "Dropout"})
#: Constants up to this many elements keep their value (for Clip bounds, Mul by zero, ReduceMean axes ...).
_SMALL = 16
_CONSTANT_ATTRS = frozenset({"value", "value_float", "value_floats", "value_int", "value_ints"})


def is_onnx(obj: Any) -> bool:
    """True for an ``onnx.ModelProto`` or a path ending in ``.onnx`` (without importing onnx)."""
    if isinstance(obj, (str, os.PathLike)):
        return str(obj).lower().endswith(".onnx")
    return type(obj).__name__ == "ModelProto" and type(obj).__module__.split(".")[0] == "onnx"


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ConversionError("converting ONNX models needs the onnx package: pip install 'nape-plugin[onnx]'") \
            from None
    return onnx


def _load(obj: Any):
    onnx = _import_onnx()
    if isinstance(obj, onnx.ModelProto):
        return obj
    path = Path(obj)
    try:
        return onnx.load(path)
    except FileNotFoundError:
        raise
    except Exception as e:
        raise ConversionError(f"{path} is not a readable ONNX model ({type(e).__name__}: {e}); the file may be "
                              "truncated or corrupted: export it again") from None


class _Ctx:
    """What a mapping sees of one ONNX node."""

    def __init__(self, node: Any, attrs: dict[str, Any], in_shapes: list[tuple[int, ...]],
                 out_shape: tuple[int, ...], inputs: list[str], shapes: dict[str, tuple[int, ...]],
                 values: dict[str, np.ndarray], data: dict[str, int]):
        self.node, self.attrs, self.in_shapes, self.out_shape = node, attrs, in_shapes, out_shape
        self.inputs, self.shapes, self.values, self.data = inputs, shapes, values, data
        self.name = node.name or node.op_type

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.in_shapes[0] if self.in_shapes else ()

    def input(self, i: int) -> str:
        return self.inputs[i] if len(self.inputs) > i else ""

    def value(self, i: int) -> np.ndarray | None:
        """The constant value of input ``i`` when it is known without running the model."""
        return self.values.get(self.input(i))

    def full_shape(self, i: int) -> tuple[int, ...]:
        """Shape of input ``i`` with the batch dimension."""
        return self.shapes.get(self.input(i), ())

    @property
    def out_full(self) -> tuple[int, ...]:
        """Shape of the (first) output with the batch dimension."""
        return self.shapes[self.node.output[0]]


def _plain(op: str) -> Callable[[_Ctx], Node]:
    return lambda c: simple_node(op, c.in_shape, c.out_shape, name=c.name)


def _multi(op: str) -> Callable[[_Ctx], Node]:
    return lambda c: Node(op, c.out_shape, c.out_shape, name=c.name)


def _identity(c: _Ctx) -> Node:
    return Node(IDENTITY, c.in_shape, c.out_shape, name=c.name)


def _conv(c: _Ctx) -> Node:
    w = c.full_shape(1)
    nd = len(w) - 2
    transpose = c.node.op_type == "ConvTranspose"
    cin = w[0] if transpose else w[1] * int(c.attrs.get("group", 1))
    if len(c.in_shape) != nd + 1 or c.in_shape[0] != cin:
        raise ShapeError(f"{c.node.op_type} {c.name!r} expects {cin} input channels, got a tensor of shape "
                         f"{c.in_shape} (batch dimension dropped); check input_shape")
    return conv_node(c.in_shape, c.out_shape, tuple(c.attrs.get("kernel_shape", w[2:])),
                     tuple(c.attrs.get("strides", (1,) * nd)), tuple(c.attrs.get("dilations", (1,) * nd)),
                     int(c.attrs.get("group", 1)), bool(c.input(2)), c.name, transpose=transpose)


def _linear(c: _Ctx, bias: bool) -> Node:
    """A linear layer; FLOPs count the output with its batch of 1, which is right whatever dimension the batch is in
    (attention exports run sequence-first, where the batch-less shape would miss the sequence length)."""
    return replace(linear_node(c.in_shape, c.out_shape, bias, c.name), flops=prod(c.out_full) * c.in_shape[-1])


def _gemm(c: _Ctx) -> Node:
    if c.input(1) in c.data:
        return _matmul(c)
    return _linear(c, bool(c.input(2)))


def _matmul(c: _Ctx) -> Node:
    a = c.full_shape(0)
    return Node("matmul", c.in_shape, c.out_shape, flops=prod(c.out_full) * (a[-1] if a else 1), name=c.name)


def _pool(kind: str) -> Callable[[_Ctx], Node]:
    def f(c: _Ctx) -> Node:
        k = tuple(c.attrs["kernel_shape"])
        return pool_node(kind, c.in_shape, c.out_shape, k, tuple(c.attrs.get("strides", (1,) * len(k))), c.name,
                         tuple(c.attrs.get("dilations", (1,) * len(k))))
    return f


def _global(kind: str) -> Callable[[_Ctx], Node]:
    return lambda c: global_pool_node(kind, c.in_shape, c.out_shape, c.name)


def _norm(op: str, channels: Callable[[_Ctx], int]) -> Callable[[_Ctx], Node]:
    return lambda c: norm_node(op, c.in_shape, channels(c), bool(c.input(1)), c.name)


def _channels(c: _Ctx, expected: int) -> int:
    if not c.in_shape or c.in_shape[0] != expected:
        raise ShapeError(f"{c.node.op_type} {c.name!r} expects {expected} channels, got a tensor of shape {c.in_shape} "
                         "(batch dimension dropped); check input_shape")
    return expected


def _scalar(v: np.ndarray | None) -> float | None:
    return float(v.reshape(-1)[0]) if v is not None and v.size == 1 else None


def _clip(c: _Ctx) -> Node:
    lo = _scalar(c.value(1)) if c.input(1) else c.attrs.get("min")
    hi = _scalar(c.value(2)) if c.input(2) else c.attrs.get("max")
    op = {(0.0, 6.0): "relu6", (0.0, None): "relu"}.get((lo, hi), "oov")
    return simple_node(op, c.in_shape, c.out_shape, name=c.name if op != "oov" else f"Clip({lo}, {hi})")


def _const_operand(c: _Ctx) -> float | None:
    """The value of a scalar constant operand of a binary op, if there is one."""
    for i in range(len(c.inputs)):
        if c.input(i) not in c.data:
            return _scalar(c.value(i))
    return None


def _add(c: _Ctx) -> Node:
    if len(c.in_shapes) == 1 and _const_operand(c) == 0.0:
        return _identity(c)
    return Node("add", c.out_shape, c.out_shape, name=c.name)


def _mul(c: _Ctx) -> Node:
    if _const_operand(c) == 0.0:
        return simple_node("zero", c.in_shape, c.out_shape, name=c.name)
    return Node("mul", c.out_shape, c.out_shape, name=c.name)


def _reduce_mean(c: _Ctx) -> Node:
    axes = c.attrs.get("axes")
    if axes is None and c.input(1):
        v = c.value(1)
        axes = None if v is None else v.reshape(-1).tolist()
    nd = len(c.in_shape) + 1
    dims = {int(a) % nd for a in (axes or ())}
    spatial = set(range(2, nd)) if nd >= 4 else {1} if nd == 3 else set()
    if spatial and dims == spatial:
        return global_pool_node("global_avgpool", c.in_shape, c.out_shape, c.name)
    return simple_node("reduce", c.in_shape, c.out_shape, name=c.name)


def _gather(c: _Ctx) -> Node:
    op = "slice" if c.input(0) in c.data else "embedding"      # a weight table indexed by the data: an embedding
    return simple_node(op, c.in_shape, c.out_shape, name=c.name)


#: ONNX op type -> mapping of one node.
ONNX_OPS: dict[str, Callable[[_Ctx], Node]] = {
    "Conv": _conv, "ConvTranspose": _conv, "Gemm": _gemm, "MatMul": _matmul,
    "BatchNormalization": _norm("batchnorm", lambda c: _channels(c, c.full_shape(1)[0])),
    "LayerNormalization": _norm("layernorm", lambda c: prod(c.full_shape(1))),
    "InstanceNormalization": _norm("groupnorm", lambda c: c.in_shape[0]),
    "GroupNormalization": _norm("groupnorm", lambda c: c.in_shape[0]),
    "Relu": _plain("relu"), "Clip": _clip, "LeakyRelu": _plain("leaky_relu"), "PRelu": _plain("prelu"),
    "Elu": _plain("elu"), "Selu": _plain("elu"), "Celu": _plain("elu"), "Gelu": _plain("gelu"),
    "Sigmoid": _plain("sigmoid"), "Tanh": _plain("tanh"), "HardSwish": _plain("hardswish"),
    "HardSigmoid": _plain("hardsigmoid"), "Softmax": _plain("softmax"), "LogSoftmax": _plain("softmax"),
    "Add": _add, "Sum": _multi("add"), "Sub": _plain("sub"), "Mul": _mul, "Div": _plain("div"),
    "Concat": _multi("concat"),
    "MaxPool": _pool("maxpool"), "AveragePool": _pool("avgpool"),
    "GlobalAveragePool": _global("global_avgpool"), "GlobalMaxPool": _global("global_maxpool"),
    "Flatten": _plain("reshape"), "Reshape": _plain("reshape"), "Squeeze": _plain("reshape"),
    "Unsqueeze": _plain("reshape"), "Expand": _plain("reshape"), "Tile": _plain("reshape"),
    "DepthToSpace": _plain("reshape"), "SpaceToDepth": _plain("reshape"), "Transpose": _plain("transpose"),
    "Slice": _plain("slice"), "Split": _plain("slice"), "Gather": _gather,
    "ReduceMean": _reduce_mean, "ReduceSum": _plain("reduce"), "ReduceMax": _plain("reduce"),
    "ReduceMin": _plain("reduce"), "Pad": _plain("pad"), "Resize": _plain("upsample"),
    "Identity": _identity, "Dropout": _identity, "Cast": _identity,
}


def _shape_of(value_info: Any) -> tuple[int, ...] | None:
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    dims = t.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        return None
    return tuple(int(d.dim_value) for d in dims)


def _prepare(model: Any, input_shape: Sequence[int] | None) -> tuple[Any, str]:
    """A copy of ``model`` with a batch-1 input of a known shape and inferred shapes; and the input's name."""
    onnx = _import_onnx()
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ConversionError(f"the ONNX model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                              "nape converts models with one input tensor")
    m = onnx.ModelProto()
    m.CopyFrom(model)
    inp = next(i for i in m.graph.input if i.name == inputs[0].name)
    dims = inp.type.tensor_type.shape.dim
    if input_shape is not None:
        if len(input_shape) + 1 != len(dims) and len(dims):
            raise ShapeError(f"input_shape={tuple(input_shape)} does not fit the model's input {inp.name!r} of rank "
                             f"{len(dims)} (batch dimension included)")
        del m.graph.value_info[:]
        for o in m.graph.output:
            o.type.tensor_type.ClearField("shape")
        inp.type.tensor_type.shape.Clear()
        for v in (1, *input_shape):
            inp.type.tensor_type.shape.dim.add().dim_value = int(v)
    else:
        if not dims:
            raise ShapeError(f"the model's input {inp.name!r} has no declared shape; pass input_shape=(C, H, W)")
        if not all(d.HasField("dim_value") for d in dims[1:]):
            raise ShapeError(f"the model's input {inp.name!r} has symbolic dimensions "
                             f"{[d.dim_param or d.dim_value for d in dims]}; pass input_shape=(C, H, W)")
        dims[0].dim_value = 1                         # a batch of one, whatever the model declares
    try:
        m = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
    except Exception as e:
        raise ShapeError(f"ONNX shape inference failed ({type(e).__name__}: {str(e).strip().splitlines()[0]}); check "
                         "input_shape against what the model expects") from None
    return m, inp.name


def from_onnx(model: Any, input_shape: Sequence[int] | None = None, name: str | None = None) -> CompGraph:
    """The computation graph of an ONNX model (a ``ModelProto`` or a path to a ``.onnx`` file).

    ``input_shape`` (no batch dimension) overrides the shape the model declares for its input; it is needed when that
    shape has symbolic dimensions other than the batch.
    """
    onnx = _import_onnx()
    from onnx import numpy_helper
    m, input_name = _prepare(_load(model), input_shape)
    g = m.graph
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in (*g.input, *g.value_info, *g.output):
        s = _shape_of(vi)
        if s is not None:
            shapes[vi.name] = s
    values: dict[str, np.ndarray] = {}              # small constants whose value mappings look at
    sizes: dict[str, tuple[int, bool]] = {}         # initializer -> (numel, is float)
    for t in g.initializer:
        shapes[t.name] = tuple(int(d) for d in t.dims)
        sizes[t.name] = (prod(t.dims), t.data_type in _FLOAT_TYPES)
        if prod(t.dims) <= _SMALL:
            values[t.name] = numpy_helper.to_array(t)
    consumers: dict[str, list[Any]] = {}
    for node in g.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    for o in g.output:
        consumers.setdefault(o.name, []).append(None)

    def only_consumer(tensor: str) -> Any:
        users = consumers.get(tensor, [])
        return users[0] if len(users) == 1 else None

    in_shape = shapes[input_name][1:]
    nodes: list[Node] = [Node("input", in_shape, in_shape, name="input")]
    raw_inputs: list[list[int]] = [[]]
    data: dict[str, int] = {input_name: 0}          # data tensor -> raw node index
    carried: dict[str, frozenset[str]] = {t: frozenset((t,)) for t in sizes}    # constant -> initializers in it
    seen: set[str] = set()
    oov: list[str] = []
    skip: set[int] = set()                          # ids of nodes already folded into an earlier one
    evaluated = False

    for node in g.node:
        op, ins = node.op_type, list(node.input)
        if id(node) in skip:
            continue
        data_ins = list(dict.fromkeys(i for i in ins if i in data))
        if op == "Constant":
            for a in node.attribute:
                if a.name not in _CONSTANT_ATTRS:
                    continue
                v = onnx.helper.get_attribute_value(a)
                v = numpy_helper.to_array(v) if a.name == "value" else np.asarray(v)
                if v.size <= _SMALL:
                    values[node.output[0]] = v
        if op == "Constant" or not data_ins or op in _SHAPE_OPS:     # constants and shape arithmetic: not nodes
            carry = frozenset().union(*(carried.get(i, frozenset()) for i in ins))
            for o in node.output:
                carried[o] = carry
            continue
        missing = [t for t in (*data_ins, node.output[0]) if t not in shapes]
        if missing and not evaluated:           # shape inference gave up (e.g. on Where/Expand): run the model
            evaluated = True
            shapes.update({k: v for k, v in _evaluated_shapes(m, input_name, shapes[input_name]).items()
                           if k not in shapes})
            missing = [t for t in missing if t not in shapes]
        if missing:
            raise ShapeError(f"ONNX shape inference gave no static shape for {missing[0]!r} of {op} {node.name!r}; "
                             "pass input_shape=(C, H, W)")
        out, out_shape = node.output[0], shapes[node.output[0]][1:]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        ctx = _Ctx(node, attrs, [shapes[i][1:] for i in data_ins], out_shape, ins, shapes, values, data)
        params = _params(op, ins, data, carried, sizes)
        aliases: list[str] = []
        follower = only_consumer(out)
        if op == "MatMul" and ins[0] in data and ins[1] not in data:           # x @ W (+ b): a linear layer
            bias = follower is not None and follower.op_type == "Add" and \
                all(i not in data for i in follower.input if i != out)
            if bias:
                skip.add(id(follower))
                params |= {t for i in follower.input if i != out for t in carried.get(i, ()) if sizes[t][1]}
                aliases = [follower.output[0]]
            mapped = _linear(ctx, bias)
        elif op == "Sigmoid" and follower is not None and follower.op_type == "Mul" and \
                sorted(follower.input) == sorted([ins[0], out]):               # x * sigmoid(x)
            skip.add(id(follower))
            aliases = [follower.output[0]]
            mapped = simple_node("silu", ctx.in_shape, out_shape, name=ctx.name)
        else:
            mapping = ONNX_OPS.get(op)
            mapped = simple_node("oov", ctx.in_shape, out_shape, name=op) if mapping is None else mapping(ctx)
        prev = data[data_ins[0]]
        if mapped.op == "slice" and nodes[prev].op == "slice" and prev > 0 and only_consumer(data_ins[0]) is node:
            nodes[prev] = replace(nodes[prev], out_shape=out_shape)                # a chain of slices is one slice
            for o in node.output:
                data[o] = prev
            continue
        if mapped.op == "oov":
            oov.append(mapped.name)
        if mapped.op != IDENTITY:
            fresh = params - seen
            seen |= fresh
            mapped = replace(mapped, params=sum(sizes[t][0] for t in fresh))
        nodes.append(mapped)
        raw_inputs.append([data[i] for i in data_ins])
        produced = node.output[:1] if op in _FIRST_OUTPUT_ONLY else node.output
        for o in (*produced, *aliases):
            if o:
                data[o] = len(nodes) - 1
        for o in node.output:
            if o not in data:
                carried[o] = frozenset()
    outs = [data[o.name] for o in g.output if o.name in data]
    if not outs:
        raise ConversionError("the ONNX model has no output computed from its input; nothing to describe")
    label = name or g.name or "onnx"
    if oov:
        warnings.warn(f"{label}: {len(oov)} op(s) out of vocabulary ({', '.join(sorted(set(oov)))}); they are kept as "
                      "'oov' nodes", stacklevel=2)
    opset = max((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), default=0)
    meta: dict[str, Any] = {"source": "onnx", "model": label, "input_shape": list(in_shape), "opset": opset}
    if oov:
        meta["oov"] = sorted(set(oov))
    return simplify(nodes, raw_inputs, outs, meta)



def _evaluated_shapes(model: Any, input_name: str, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Shapes of every tensor from running ``model`` on zeros with onnx's reference evaluator (slow: a fallback)."""
    from onnx.helper import tensor_dtype_to_np_dtype
    from onnx.reference import ReferenceEvaluator
    inp = next(i for i in model.graph.input if i.name == input_name)
    x = np.zeros(shape, dtype=tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type))
    try:
        results = ReferenceEvaluator(model).run(None, {input_name: x}, intermediate=True)
    except Exception as e:
        raise ShapeError(f"ONNX shape inference left shapes unknown and running the model on zeros of shape {shape} "
                         f"failed ({type(e).__name__}: {str(e).strip().splitlines()[0]}); check input_shape") from None
    return {k: tuple(int(d) for d in np.shape(v)) for k, v in results.items() if isinstance(v, np.ndarray)}


def _params(op: str, ins: list[str], data: dict[str, int], carried: dict[str, frozenset[str]],
            sizes: dict[str, tuple[int, bool]]) -> set[str]:
    """Initializers that are parameters of an ``op`` node with inputs ``ins``."""
    slots = _WEIGHT_SLOTS.get(op)
    out = set()
    for pos, i in enumerate(ins):
        if not i or i in data:
            continue
        for t in carried.get(i, ()):
            numel, is_float = sizes[t]
            if is_float and ((slots is not None and pos in slots) or (op in _OPERAND_PARAMS and numel > 1)):
                out.add(t)
    return out
