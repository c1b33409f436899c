"""The closed op vocabulary of computation graphs, and the per-op cost formulas.

Every node of a :class:`~nape_plugin.graph.CompGraph` carries one op name from :data:`VOCAB`; anything else is mapped to
``"oov"`` (out of vocabulary) with its original name kept on the node. The vocabulary is append-only: its order fixes
the one-hot node features of shipped models.

FLOPs follow the convention of NAS benchmarks: multiply-accumulates of conv / linear / matmul / attention, plus one
read per window element for pooling; elementwise ops, normalisation and reshapes cost nothing.
"""
from __future__ import annotations

from math import prod

VOCAB: tuple[str, ...] = (
    "input", "output",
    "conv", "depthwise_conv", "conv_transpose", "linear", "matmul", "attention", "embedding",
    "batchnorm", "layernorm", "groupnorm",
    "relu", "relu6", "leaky_relu", "prelu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
    "softmax",
    "add", "sub", "mul", "div", "concat",
    "maxpool", "avgpool", "global_avgpool", "global_maxpool",
    "pad", "upsample", "reshape", "transpose", "slice", "reduce", "zero",
    "oov",
)
OP_INDEX: dict[str, int] = {op: i for i, op in enumerate(VOCAB)}

#: Ops whose node carries a kernel (their ``kernel``/``stride``/``dilation`` attributes are meaningful).
WINDOWED = frozenset({"conv", "depthwise_conv", "conv_transpose", "maxpool", "avgpool"})
#: Ops with learnable weights.
WEIGHTED = frozenset({"conv", "depthwise_conv", "conv_transpose", "linear", "attention", "embedding", "batchnorm",
                      "layernorm", "groupnorm", "prelu"})
#: Ops that take several tensors whose order does not matter for the graph.
MULTI_INPUT = frozenset({"add", "mul", "concat"})


def canonical_op(op: str) -> str:
    """``op`` if it is in the vocabulary, else ``"oov"``."""
    return op if op in OP_INDEX else "oov"


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Spatial output size of a convolution or pooling window along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_out(size: int, kernel: int, stride: int, padding: int = 0, ceil_mode: bool = False) -> int:
    """Spatial output size of a pooling window along one axis (``ceil_mode`` as in torch)."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_flops(out_shape: tuple[int, ...], in_channels: int, kernel: tuple[int, ...], groups: int) -> int:
    """Multiply-accumulates of a (grouped) convolution producing ``out_shape`` = (C_out, *spatial)."""
    return prod(out_shape) * (in_channels // groups) * prod(kernel)


def conv_params(in_channels: int, out_channels: int, kernel: tuple[int, ...], groups: int, bias: bool) -> int:
    """Weights (and bias) of a (grouped) convolution."""
    return out_channels * (in_channels // groups) * prod(kernel) + (out_channels if bias else 0)


def linear_flops(out_shape: tuple[int, ...], in_features: int) -> int:
    """Multiply-accumulates of a linear layer applied over every leading position of ``out_shape``."""
    return prod(out_shape) * in_features


def linear_params(in_features: int, out_features: int, bias: bool) -> int:
    """Weights (and bias) of a linear layer."""
    return in_features * out_features + (out_features if bias else 0)


def matmul_flops(a: tuple[int, ...], b: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of ``a @ b`` (inner dimension ``a[-1]``)."""
    return prod(out_shape) * (a[-1] if a else 1)


def pool_flops(out_shape: tuple[int, ...], kernel: tuple[int, ...]) -> int:
    """One read per window element per output element."""
    return prod(out_shape) * prod(kernel)


def norm_params(channels: int, affine: bool) -> int:
    """Scale and shift of a batch/layer/group norm."""
    return 2 * channels if affine else 0
