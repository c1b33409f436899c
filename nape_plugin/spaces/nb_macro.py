"""NAS-Bench-Macro (Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree Search", CVPR 2021).

A CIFAR-10 network of MobileNetV2 blocks with 8 searchable layers, each one of three candidates: 0 identity, 1 an
inverted residual with kernel 3 and expansion ratio 3, 2 one with kernel 5 and expansion ratio 6; 3^8 = 6,561
architectures, every one trained from scratch three times. The network (``Network`` of the benchmark's
``train/model.py``): a 3x3 conv stem (32 channels, BN, ReLU); three stages of 2, 3 and 3 layers whose first layer has
stride 2 and doubles the channels (64, 128, 256; 32 -> 16 -> 8 -> 4 pixels), where an identity that must change the
shape is a 1x1 conv + BN; then a 1x1 conv to 1280 channels (BN, ReLU), global average pooling and a linear classifier.
An inverted residual is a 1x1 conv to ``round(c_in * t)`` channels (BN, ReLU), a depthwise conv (BN, ReLU) and a 1x1
conv (BN), with an identity shortcut when stride is 1 and the channels match. Convs have no bias.

Encodings: ``str`` (canonical), the benchmark's 8 digits such as ``"01201200"``, one per layer in network order;
``ints``, the same as a tuple of 8 ints (also read from lists, NumPy arrays and text such as ``"(0, 1, 2, 0, 1, 2, 0,
0)"``); ``ops``, the benchmark's op names ``id``, ``ir_3x3_t3``, ``ir_5x5_t6``. A non-negative int is read as the digits
with their leading zeros restored (``1201200`` is ``"01201200"``), as a table read without column types gives them.
"""
from __future__ import annotations

import itertools
import numbers
import random
from typing import Any, Iterator

import torch
from torch import nn

from ..errors import EncodingError
from ..graph import CompGraph, GraphBuilder
from .base import SearchSpace, as_rng
from .nb201 import int_sequence
from .ofa import MBConv, _g_conv_bn_act, _g_mbconv, conv_bn_act

#: The candidates of every layer by digit, the benchmark's names.
OPS: tuple[str, ...] = ("id", "ir_3x3_t3", "ir_5x5_t6")
#: (kernel, expansion ratio) of the inverted residuals, by digit.
BLOCKS: dict[int, tuple[int, int]] = {1: (3, 3), 2: (5, 6)}
STAGES: tuple[int, ...] = (2, 3, 3)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
LAYERS = sum(STAGES)
FORM = f"{LAYERS} digits, one per layer: 0 identity, 1 inverted residual k3 t3, 2 inverted residual k5 t6"


def layer_plan(stem: int = STEM_CHANNELS) -> list[tuple[int, int, int]]:
    """(c_in, c_out, stride) of the 8 searchable layers."""
    plan, c = [], stem
    for depth in STAGES:
        plan.append((c, 2 * c, 2))
        plan += [(2 * c, 2 * c, 1)] * (depth - 1)
        c *= 2
    return plan


class NBMacroNetwork(nn.Module):
    """The NAS-Bench-Macro network of ``digits`` (see the module docstring)."""

    def __init__(self, digits: str, num_classes: int = 10):
        super().__init__()
        self.stem = conv_bn_act(3, STEM_CHANNELS, 3, act="relu")
        layers: list[nn.Module] = []
        for d, (c_in, c_out, stride) in zip(digits, layer_plan()):
            if d == "0":
                layers.append(conv_bn_act(c_in, c_out, 1, stride) if stride != 1 or c_in != c_out else nn.Identity())
            else:
                k, t = BLOCKS[int(d)]
                layers.append(MBConv(c_in, c_out, k, stride, round(c_in * t), "relu", False))
        self.features = nn.Sequential(*layers)
        c = layer_plan()[-1][1]
        self.out = conv_bn_act(c, HEAD_CHANNELS, 1, act="relu")
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.out(self.features(self.stem(x)))
        return self.classifier(x.mean((2, 3)))


class NBMacroSpace(SearchSpace):
    """NAS-Bench-Macro: 6,561 CIFAR-10 networks of 8 layers with 3 candidates each (see the module docstring)."""

    name = "nb_macro"
    input_shape = (3, 32, 32)
    num_classes = 10
    formats = ("str", "ints", "ops")

    def __init__(self, num_classes: int = 10):
        self.num_classes = int(num_classes)

    def parse(self, arch: Any) -> str:
        if isinstance(arch, str):
            s = arch.strip()
            if s.isdigit():
                return self._check(s, arch)
            ints = int_sequence(s)
            if ints is None:
                raise EncodingError(f"nb_macro cannot read {arch!r:.80}: expected {FORM}, e.g. '01201200', or "
                                    "'(0, 1, 2, 0, 1, 2, 0, 0)'")
            return self._from_ints(ints, arch)
        if isinstance(arch, numbers.Integral) and not isinstance(arch, bool):
            if not 0 <= arch < 10 ** LAYERS:
                raise EncodingError(f"nb_macro cannot read the int {arch}: expected {FORM} (an int is read as the "
                                    f"digits with leading zeros restored, so it must be below 10^{LAYERS})")
            return self._check(str(int(arch)).zfill(LAYERS), arch)
        if isinstance(arch, (list, tuple)) and arch and all(isinstance(a, str) for a in arch):
            bad = [a for a in arch if a not in OPS]
            if bad:
                raise EncodingError(f"nb_macro op list {list(arch)!r:.120}: unknown op {bad[0]!r}; ops are "
                                    f"{', '.join(OPS)}")
            return self._check("".join(str(OPS.index(a)) for a in arch), arch)
        ints = int_sequence(arch)
        if ints is None:
            raise EncodingError(f"nb_macro cannot read a {type(arch).__name__} ({arch!r:.80}); give {FORM} as a "
                                "string such as '01201200', a sequence of 8 ints or 8 op names")
        return self._from_ints(ints, arch)

    def _from_ints(self, ints: tuple[int, ...], arch: Any) -> str:
        if any(not 0 <= i <= 9 for i in ints):
            raise EncodingError(f"nb_macro {arch!r:.80}: layer choices must be 0, 1 or 2, got {list(ints)}")
        return self._check("".join(map(str, ints)), arch)

    @staticmethod
    def _check(digits: str, arch: Any) -> str:
        if len(digits) != LAYERS or any(c not in "012" for c in digits):
            raise EncodingError(f"nb_macro {arch!r:.80}: need {FORM}; got {len(digits)} digit(s) {digits!r:.40}")
        return digits

    def encode(self, arch: Any, fmt: str = "str") -> Any:
        digits = self.parse(arch)
        if fmt == "str":
            return digits
        if fmt == "ints":
            return tuple(int(c) for c in digits)
        if fmt == "ops":
            return tuple(OPS[int(c)] for c in digits)
        raise EncodingError(f"nb_macro has no encoding {fmt!r}; formats: {', '.join(self.formats)}")

    def build(self, arch: Any) -> nn.Module:
        return NBMacroNetwork(self.parse(arch), self.num_classes)

    def to_graph(self, arch: Any) -> CompGraph:
        digits = self.parse(arch)
        b = GraphBuilder(self.input_shape)
        x = _g_conv_bn_act(b, b.input, STEM_CHANNELS, 3, act="relu")
        for d, (c_in, c_out, stride) in zip(digits, layer_plan()):
            if d != "0":
                k, t = BLOCKS[int(d)]
                x = _g_mbconv(b, x, c_out, k, stride, round(c_in * t), "relu", False)
            elif stride != 1 or c_in != c_out:
                x = _g_conv_bn_act(b, x, c_out, 1, stride)
        x = b.global_pool(_g_conv_bn_act(b, x, HEAD_CHANNELS, 1, act="relu"), "avg", keepdim=False)
        return b.build(b.linear(x, self.num_classes),
                       meta={"source": self.name, "arch": digits, "input_shape": list(self.input_shape)})

    def sample(self, rng: random.Random | int | None = None) -> str:
        r = as_rng(rng)
        return "".join(r.choice("012") for _ in range(LAYERS))

    def neighbours(self, arch: Any) -> list[str]:
        """The 16 architectures with one layer's choice changed."""
        d = self.parse(arch)
        return [d[:i] + c + d[i + 1:] for i in range(LAYERS) for c in "012" if c != d[i]]

    def enumerate(self) -> Iterator[str]:
        """All 6,561 architectures in the benchmark's order (digit strings in lexicographic order)."""
        return ("".join(p) for p in itertools.product("012", repeat=LAYERS))
