"""Once-for-All search spaces (Cai et al., ICLR 2020): OFA-MobileNetV3, OFA-ProxylessNAS and OFA-ResNet50.

The subnets of the three released OFA supernets, the families GENNAPE evaluates on, rebuilt as plain torch modules:

* ``ofa_mbv3`` (``ofa_mbv3_d234_e346_k357_w1.0``): a 3x3 stride-2 stem (16 channels, hswish), a fixed
  expand-ratio-1 block, five stages of 24, 40, 80, 112, 160 channels with strides 2, 2, 2, 1, 2, activations relu,
  relu, hswish, hswish, hswish and squeeze-excite in stages 2, 4 and 5 (where MobileNetV3-Large has them); then a
  1x1 conv to 960 (BN, hswish), global average pooling, a 1x1 conv to 1280 (hswish, no BN) and a 1000-way linear layer.
* ``ofa_pn`` (``ofa_proxyless_d234_e346_k357_w1.3``): the ProxylessNAS backbone at width 1.3: a 3x3 stride-2 stem
  (40 channels), a fixed expand-ratio-1 block (24), five stages of 32, 56, 104, 128, 248 channels with strides 2, 2, 2,
  1, 2, a last single block of 416 channels, a 1x1 conv to 1664, global average pooling and the classifier; ReLU6
  everywhere and no squeeze-excite.
* ``ofa_resnet`` (``ofa_resnet50``): a ResNet-50-D: a stem of 3x3 convs (stride 2, then an optional residual 3x3 conv
  block, then a 3x3 conv), 3x3 max pooling, four stages of bottleneck blocks with 256, 512, 1024, 2048 output channels
  times the stage's width multiplier, shortcuts by average pooling + 1x1 conv, global average pooling and a linear
  layer.

Choices. Mobile spaces: per stage a depth in {2, 3, 4}; per block a kernel size in {3, 5, 7} and an expand ratio in
{3, 4, 6} (the last ProxylessNAS block has depth 1 and free kernel/expand ratio). ResNet: the residual stem block kept
or skipped; width multipliers in {0.65, 0.8, 1.0} for the two stem convs and each stage; per stage 0, 1 or 2 blocks
beyond a base depth of 2, 2, 4, 2; per block a bottleneck ratio in {0.2, 0.25, 0.35}. Every space also has the input
resolution, 128 to 224 in steps of 4 (the range the OFA networks are trained for).

Channel counts follow OFA: ``make_divisible(round(c_in * e), 8)`` channels inside a mobile block (of the output
channels for a bottleneck), ``make_divisible(c // 4, 8)`` in squeeze-excite. Two faithful equivalents are used so that
graphs read naturally: hswish and hsigmoid are ``nn.Hardswish`` / ``nn.Hardsigmoid`` (OFA writes them as
``x * relu6(x + 3) / 6``) and global average pooling is ``x.mean((2, 3))`` (OFA takes two successive means). The
OFA-ResNet shortcut of a stage's first block keeps OFA's average pooling even at stride 1 (a 1x1 pool).

Encodings (see each space's ``encode``):

* ``str`` (canonical): the resolution, then the blocks of each stage, e.g. ``"r224|k3e4,k5e6|k7e3,k3e3,k5e4|..."``
  for the mobile spaces (``k<kernel>e<expand ratio>`` per block, comma-separated, stages separated by ``|``) and
  ``"r224|stem:d2,w0.65,w1.0|w0.8:e0.25,e0.2,e0.35|..."`` for OFA-ResNet (``d2`` keeps the residual stem block,
  ``d0`` skips it; then the two stem width multipliers; each stage is its width multiplier and one bottleneck ratio
  per block);
* ``ofa``: OFA's own dict, ``{"ks": [...], "e": [...], "d": [...], "r": [224]}`` for the mobile spaces (one kernel and
  expand ratio per block slot, four slots per stage, one depth per stage) and ``{"d": [...], "e": [...], "w": [...],
  "r": [224]}`` for OFA-ResNet (``d[0]`` 2 or 0 for the stem block, then the extra depth per stage; ``w`` indices into
  the width multipliers). Unused slots are written as 0, as OFA's architecture encoder does. When read, ``r`` may also
  be an int or be given as ``image_size``; without it the resolution is 224. ``ks``/``e`` may also list only the
  active blocks. A JSON string of the dict is read too.

The input resolution is part of the architecture: :meth:`~OFAMobileSpace.to_graph` builds the graph for a
``(3, r, r)`` input (``space.input_shape_for(arch)``), so ``space.to_graph(arch) == nape.to_graph(space.build(arch),
input_shape=space.input_shape_for(arch))``. ``space.input_shape`` is the default (3, 224, 224).
"""
from __future__ import annotations

import math
import random
import re
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import torch
from torch import nn

from ..errors import EncodingError
from ..graph import CompGraph, GraphBuilder
from .base import SearchSpace, as_rng, check_keys, literal

__all__ = ["OFASpace", "OFAMobileNetV3Space", "OFAProxylessSpace", "OFAResNetSpace", "MobileArch", "ResNetArch",
           "make_divisible", "RESOLUTIONS"]

#: Input resolutions of every OFA space.
RESOLUTIONS: tuple[int, ...] = tuple(range(128, 225, 4))
DEFAULT_RESOLUTION = 224
KERNELS: tuple[int, ...] = (3, 5, 7)
EXPAND_RATIOS: tuple[int, ...] = (3, 4, 6)
DEPTHS: tuple[int, ...] = (2, 3, 4)
RESNET_WIDTHS: tuple[float, ...] = (0.65, 0.8, 1.0)
RESNET_EXPAND_RATIOS: tuple[float, ...] = (0.2, 0.25, 0.35)
RESNET_EXTRA_DEPTHS: tuple[int, ...] = (0, 1, 2)
RESNET_BASE_DEPTHS: tuple[int, ...] = (2, 2, 4, 2)
RESNET_STAGE_WIDTHS: tuple[int, ...] = (256, 512, 1024, 2048)
IMAGENET_CLASSES = 1000

_ACTS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish}
_ACT_OPS = {"relu": "relu", "relu6": "relu6", "hswish": "hardswish"}
_BLOCK_RE = re.compile(r"^k(\d+)e(\d+)$")
_RES_RE = re.compile(r"^r(\d+)$")


def make_divisible(v: float, divisor: int = 8, min_val: int | None = None) -> int:
    """``v`` rounded to a multiple of ``divisor``, never more than 10% below ``v`` (MobileNet's channel rule)."""
    min_val = divisor if min_val is None else min_val
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _num(v: Any) -> float | None:
    """``v`` as a float when it is a finite real number (not a bool), else None."""
    try:
        if hasattr(v, "item") and not isinstance(v, (list, tuple)):
            v = v.item()
        f = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    except (ValueError, TypeError, OverflowError):
        return None
    return f if f is not None and math.isfinite(f) else None


def _fmt(v: float) -> str:
    return repr(float(v))


# ------------------------------------------------------------------------------------------- reference modules
def conv_bn_act(c_in: int, c_out: int, kernel: int, stride: int = 1, act: str | None = None, bn: bool = True,
                groups: int = 1, bias: bool = False) -> nn.Sequential:
    """Convolution with 'same' padding, then optionally batch norm and an activation (OFA's ``ConvLayer``)."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=bias)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    if act is not None:
        layers.append(_ACTS[act]())
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """OFA's squeeze-excite: global mean, 1x1 conv to ``make_divisible(c // 4, 8)``, ReLU, 1x1 conv, hsigmoid, scale."""

    def __init__(self, channels: int):
        super().__init__()
        mid = make_divisible(channels // 4)
        self.reduce = nn.Conv2d(channels, mid, 1, bias=True)
        self.relu = nn.ReLU()
        self.expand = nn.Conv2d(mid, channels, 1, bias=True)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.expand(self.relu(self.reduce(s))))


class MBConv(nn.Module):
    """Inverted residual: 1x1 expansion (unless ``mid == c_in`` and no expansion), depthwise conv, optional
    squeeze-excite, 1x1 projection; an identity shortcut when ``stride == 1`` and ``c_in == c_out``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, mid: int, act: str, se: bool,
                 expand: bool = True):
        super().__init__()
        self.inverted_bottleneck = conv_bn_act(c_in, mid, 1, act=act) if expand else None
        dw: list[nn.Module] = [*conv_bn_act(mid, mid, kernel, stride, act, groups=mid)]
        if se:
            dw.append(SqueezeExcite(mid))
        self.depth_conv = nn.Sequential(*dw)
        self.point_linear = conv_bn_act(mid, c_out, 1)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.inverted_bottleneck is None else self.inverted_bottleneck(x)
        y = self.point_linear(self.depth_conv(y))
        return y + x if self.residual else y


class MobileSubnet(nn.Module):
    """An OFA-MobileNetV3 or OFA-ProxylessNAS subnet: stem, blocks, head (see the module docstring)."""

    def __init__(self, first_conv: nn.Module, blocks: Sequence[nn.Module], final_expand: nn.Module | None,
                 feature_mix: nn.Module, classifier: nn.Linear):
        super().__init__()
        self.first_conv = first_conv
        self.blocks = nn.Sequential(*blocks)
        self.final_expand_layer = final_expand
        self.feature_mix_layer = feature_mix
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.first_conv(x))
        if self.final_expand_layer is not None:       # MobileNetV3: pool, then mix
            x = self.feature_mix_layer(self.final_expand_layer(x).mean((2, 3), keepdim=True))
            x = torch.flatten(x, 1)
        else:                                          # ProxylessNAS: mix, then pool
            x = self.feature_mix_layer(x).mean((2, 3))
        return self.classifier(x)


class Bottleneck(nn.Module):
    """OFA-ResNet bottleneck: 1x1, 3x3 (strided), 1x1 convs with BN; shortcut identity or avg-pool + 1x1 conv + BN."""

    def __init__(self, c_in: int, c_out: int, mid: int, stride: int, downsample: bool):
        super().__init__()
        self.conv1 = conv_bn_act(c_in, mid, 1, act="relu")
        self.conv2 = conv_bn_act(mid, mid, 3, stride, act="relu")
        self.conv3 = conv_bn_act(mid, c_out, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(stride, stride, 0, ceil_mode=True),
                                        *conv_bn_act(c_in, c_out, 1)) if downsample else nn.Identity()
        self.final_act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_act(self.conv3(self.conv2(self.conv1(x))) + self.downsample(x))


class ResidualConv(nn.Module):
    """``x + conv_bn_relu(x)``: the optional residual block of the OFA-ResNet stem."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = conv_bn_act(channels, channels, 3, act="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + x


class ResNetSubnet(nn.Module):
    """An OFA-ResNet50 subnet: stem, max pooling, bottleneck blocks, global average pooling, linear layer."""

    def __init__(self, input_stem: Sequence[nn.Module], blocks: Sequence[nn.Module], classifier: nn.Linear):
        super().__init__()
        self.input_stem = nn.Sequential(*input_stem)
        self.max_pooling = nn.MaxPool2d(3, 2, 1)
        self.blocks = nn.Sequential(*blocks)
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.max_pooling(self.input_stem(x)))
        return self.classifier(x.mean((2, 3)))


# ---------------------------------------------------------------------------------------------- graph helpers
def _g_conv_bn_act(b: GraphBuilder, x: int, c_out: int, kernel: int, stride: int = 1, act: str | None = None,
                   bn: bool = True, groups: int = 1, bias: bool = False) -> int:
    x = b.conv(x, c_out, kernel, stride, padding=kernel // 2, groups=groups, bias=bias)
    if bn:
        x = b.bn(x)
    return b.op(_ACT_OPS[act], x) if act is not None else x


def _g_mbconv(b: GraphBuilder, x: int, c_out: int, kernel: int, stride: int, mid: int, act: str, se: bool,
              expand: bool = True) -> int:
    c_in = b.shape(x)[0]
    y = _g_conv_bn_act(b, x, mid, 1, act=act) if expand else x
    y = _g_conv_bn_act(b, y, mid, kernel, stride, act, groups=mid)
    if se:
        s = b.global_pool(y, "avg", keepdim=True)
        s = b.conv(s, make_divisible(mid // 4), 1, padding=0, bias=True)
        s = b.op("hardsigmoid", b.conv(b.relu(s), mid, 1, padding=0, bias=True))
        y = b.mul([y, s])
    y = _g_conv_bn_act(b, y, c_out, 1)
    return b.add([y, x]) if stride == 1 and c_in == c_out else y


# ---------------------------------------------------------------------------------------------- the parser
class OFASpace(SearchSpace):
    """What the OFA spaces share: one parser of every encoding (the arch string, OFA's dict or its JSON / Python text,
    a parsed architecture) and the input resolution as part of the architecture."""

    input_shape = (3, DEFAULT_RESOLUTION, DEFAULT_RESOLUTION)
    num_classes = IMAGENET_CLASSES
    formats = ("str", "ofa")
    #: The parsed-architecture class.
    arch_type: type
    #: Keys of OFA's dict: required, and accepted besides them and the resolution (``r`` or ``image_size``).
    dict_keys: tuple[str, ...] = ()
    dict_optional: tuple[str, ...] = ()
    #: OFA's dict as error messages show it.
    dict_example = ""

    def arch(self, arch: Any) -> Any:
        """The parsed architecture of any encoding; ``EncodingError`` when malformed."""
        if isinstance(arch, self.arch_type):
            a = arch
        elif isinstance(arch, str):
            s = arch.strip()
            a = self._from_ofa(_load_dict(s, self.name), arch) if s.startswith("{") else self._from_str(s, arch)
        elif isinstance(arch, Mapping):
            a = self._from_ofa(arch, arch)
        else:
            raise EncodingError(f"{self.name} cannot read a {type(arch).__name__} ({arch!r:.80}); give an arch string "
                                f"({self._form()}) or OFA's dict {self.dict_example}")
        if a.resolution not in RESOLUTIONS:
            raise EncodingError(f"{self.name} architecture {arch!r:.200}: resolution {a.resolution} is not one of "
                                "128, 132, ..., 224 (steps of 4)")
        return self._check(a, arch)

    def _check_keys(self, d: Mapping, problem: str = "") -> None:
        """Raise ``EncodingError`` when OFA's dict ``d`` has an unknown key, lacks one, or ``problem`` is set."""
        check_keys(d, {*self.dict_keys, *self.dict_optional, "r", "image_size"}, f"{self.name} OFA dict")
        missing = [k for k in self.dict_keys if k not in d]
        if missing or problem:
            raise EncodingError(f"{self.name} OFA dict {dict(d)!r:.200}: "
                                + (f"missing {missing} " if missing else "")
                                + problem + f"; expected {self.dict_example}")

    @abstractmethod
    def _form(self) -> str:
        """The arch string's form, for error messages."""

    @abstractmethod
    def _from_str(self, s: str, text: Any) -> Any:
        """The architecture an arch string describes (choices not yet checked)."""

    @abstractmethod
    def _from_ofa(self, d: Mapping, text: Any) -> Any:
        """The architecture OFA's dict describes (choices not yet checked)."""

    @abstractmethod
    def _check(self, arch: Any, text: Any) -> Any:
        """``arch`` if its choices are in the space, else ``EncodingError`` naming the first one that is not."""

    def parse(self, arch: Any) -> str:
        return str(self.arch(arch))

    def input_shape_for(self, arch: Any) -> tuple[int, int, int]:
        """(3, r, r) for the resolution ``r`` of ``arch``."""
        r = self.arch(arch).resolution
        return (3, r, r)


# ---------------------------------------------------------------------------------------------- mobile spaces
@dataclass(frozen=True)
class MobileArch:
    """A parsed mobile-space architecture: the resolution and the (kernel, expand ratio) of each block per stage."""

    resolution: int
    stages: tuple[tuple[tuple[int, int], ...], ...]

    def __str__(self) -> str:
        return f"r{self.resolution}|" + "|".join(",".join(f"k{k}e{e}" for k, e in st) for st in self.stages)


class OFAMobileSpace(OFASpace):
    """Shared machinery of the OFA-MobileNetV3 and OFA-ProxylessNAS spaces (see the module docstring)."""

    arch_type = MobileArch
    dict_keys, dict_optional = ("ks", "e", "d"), ("wid",)
    dict_example = "{'ks': [...], 'e': [...], 'd': [...], 'r': [224]}"
    #: Per searchable stage: base width, stride, activation, squeeze-excite.
    base_widths: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    acts: tuple[str, ...] = ()
    se: tuple[bool, ...] = ()
    #: Number of leading stages with a searchable depth; later stages have a single block.
    searchable_depth_stages = 5
    #: Base channels of the stem conv and of the fixed first block; base channels of the head convs.
    stem_width: int = 16
    first_block_width: int = 16
    head_widths: tuple[int, ...] = ()
    stem_act: str = "relu"
    first_block_act: str = "relu"

    def __init__(self, width_mult: float, num_classes: int = IMAGENET_CLASSES):
        self.width_mult = float(width_mult)
        self.num_classes = int(num_classes)
        self.widths = tuple(make_divisible(w * self.width_mult) for w in self.base_widths)
        self.stem_channels = make_divisible(self.stem_width * self.width_mult)
        self.first_block_channels = make_divisible(self.first_block_width * self.width_mult)
        self.head_channels = tuple(make_divisible(w * self.width_mult) for w in self.head_widths)
        self.n_stages = len(self.base_widths)
        self.slots = max(DEPTHS)

    # ---------------------------------------------------------------------------------------------- encodings
    def _depth_ok(self, stage: int, depth: int) -> bool:
        return depth in DEPTHS if stage < self.searchable_depth_stages else depth == 1

    def _form(self) -> str:
        return (f"'r<res>|' then {self.n_stages} '|'-separated stages of comma-separated blocks 'k<kernel>e<expand>' "
                f"(kernel in {KERNELS}, expand ratio in {EXPAND_RATIOS}, {min(DEPTHS)} to {max(DEPTHS)} blocks per "
                f"stage{', the last stage one block' if self.searchable_depth_stages < self.n_stages else ''}), "
                f"resolution in 128..224 step 4, e.g. {str(self._max_arch())!r}")

    def _max_arch(self) -> MobileArch:
        return MobileArch(DEFAULT_RESOLUTION, tuple(((7, 6),) * (max(DEPTHS) if s < self.searchable_depth_stages
                                                                  else 1) for s in range(self.n_stages)))

    def _check(self, arch: MobileArch, text: Any) -> MobileArch:
        if len(arch.stages) != self.n_stages:
            raise EncodingError(f"{self.name} architecture {text!r:.200} has {len(arch.stages)} stage(s), expected "
                                f"{self.n_stages}; {self._form()}")
        for s, stage in enumerate(arch.stages):
            if not self._depth_ok(s, len(stage)):
                allowed = DEPTHS if s < self.searchable_depth_stages else (1,)
                raise EncodingError(f"{self.name} architecture {text!r:.200}: stage {s + 1} has {len(stage)} "
                                    f"block(s), allowed {allowed}")
            for k, e in stage:
                if k not in KERNELS or e not in EXPAND_RATIOS:
                    raise EncodingError(f"{self.name} architecture {text!r:.200}: block k{k}e{e} in stage {s + 1}; "
                                        f"kernel sizes are {KERNELS}, expand ratios {EXPAND_RATIOS}")
        return arch

    def _from_str(self, s: str, text: Any) -> MobileArch:
        parts = s.split("|")
        m = _RES_RE.match(parts[0])
        if not m:
            raise EncodingError(f"{self.name} arch string {text!r:.200} must start with the resolution 'r<res>|'; "
                                f"{self._form()}")
        stages = []
        for s_idx, part in enumerate(parts[1:], 1):
            blocks = []
            for token in part.split(","):
                bm = _BLOCK_RE.match(token.strip())
                if not bm:
                    raise EncodingError(f"{self.name} arch string {text!r:.200}: stage {s_idx} block {token!r} must "
                                        f"read 'k<kernel>e<expand>'; {self._form()}")
                blocks.append((int(bm.group(1)), int(bm.group(2))))
            stages.append(tuple(blocks))
        return MobileArch(int(m.group(1)), tuple(stages))

    def _from_ofa(self, d: Mapping, text: Any) -> MobileArch:
        self._check_keys(d, "'wid' must be None " if d.get("wid") is not None else "")
        res = _resolution(d, self.name)
        ds = _int_list(d["d"], "d", self.name)
        if len(ds) == self.searchable_depth_stages and self.n_stages > self.searchable_depth_stages:
            ds = ds + [1] * (self.n_stages - self.searchable_depth_stages)
        if len(ds) != self.n_stages:
            raise EncodingError(f"{self.name} OFA dict: 'd' has {len(ds)} entries, expected {self.n_stages} (one "
                                "depth per stage)")
        for s, depth in enumerate(ds):
            if not self._depth_ok(s, depth):
                allowed = DEPTHS if s < self.searchable_depth_stages else (1,)
                raise EncodingError(f"{self.name} OFA dict: depth {depth} of stage {s + 1} is not one of {allowed}")
        ks, es = _int_list(d["ks"], "ks", self.name), _int_list(d["e"], "e", self.name)
        full = self.slots * self.searchable_depth_stages + (self.n_stages - self.searchable_depth_stages)
        if len(ks) != len(es) or len(ks) not in (full, sum(ds)):
            raise EncodingError(f"{self.name} OFA dict: 'ks' and 'e' have {len(ks)} and {len(es)} entries; expected "
                                f"{full} (one per block slot, {self.slots} per stage) or {sum(ds)} (the active blocks)")
        stages, pos = [], 0
        for s, depth in enumerate(ds):
            width = self.slots if len(ks) == full and s < self.searchable_depth_stages else depth
            stages.append(tuple(zip(ks[pos:pos + depth], es[pos:pos + depth])))
            pos += width
        return MobileArch(res, tuple(stages))

    def encode(self, arch: Any, fmt: str = "str") -> Any:
        a = self.arch(arch)
        if fmt == "str":
            return str(a)
        if fmt == "ofa":
            ks, es, ds = [], [], []
            for s, stage in enumerate(a.stages):
                pad = self.slots - len(stage) if s < self.searchable_depth_stages else 0
                ks += [k for k, _ in stage] + [0] * pad
                es += [e for _, e in stage] + [0] * pad
                ds.append(len(stage))
            return {"ks": ks, "e": es, "d": ds, "r": [a.resolution]}
        raise EncodingError(f"{self.name} has no encoding {fmt!r}; formats: {', '.join(self.formats)}")

    # ---------------------------------------------------------------------------------------------- models
    def _blocks(self, a: MobileArch) -> Iterator[tuple[int, int, int, int, str, bool]]:
        """(c_out, kernel, stride, mid, act, se) of every searchable block."""
        c_in = self.first_block_channels
        for s, stage in enumerate(a.stages):
            for i, (k, e) in enumerate(stage):
                yield self.widths[s], k, self.strides[s] if i == 0 else 1, make_divisible(round(c_in * e)), \
                    self.acts[s], self.se[s]
                c_in = self.widths[s]

    def build(self, arch: Any) -> nn.Module:
        """The subnet's reference module (its input resolution is ``input_shape_for(arch)``)."""
        a = self.arch(arch)
        c0, c1 = self.stem_channels, self.first_block_channels
        blocks: list[nn.Module] = [MBConv(c0, c1, 3, 1, c0, self.first_block_act, False, expand=False)]
        c_in = c1
        for c_out, k, stride, mid, act, se in self._blocks(a):
            blocks.append(MBConv(c_in, c_out, k, stride, mid, act, se))
            c_in = c_out
        final, mix, last = self._head(c_in)
        return MobileSubnet(conv_bn_act(3, c0, 3, 2, self.stem_act), blocks, final, mix,
                            nn.Linear(last, self.num_classes))

    def _head(self, c_in: int) -> tuple[nn.Module | None, nn.Module, int]:
        raise NotImplementedError

    def _g_head(self, b: GraphBuilder, x: int) -> int:
        raise NotImplementedError

    def to_graph(self, arch: Any) -> CompGraph:
        a = self.arch(arch)
        b = GraphBuilder(self.input_shape_for(a))
        x = _g_conv_bn_act(b, b.input, self.stem_channels, 3, 2, self.stem_act)
        x = _g_mbconv(b, x, self.first_block_channels, 3, 1, self.stem_channels, self.first_block_act, False,
                      expand=False)
        for c_out, k, stride, mid, act, se in self._blocks(a):
            x = _g_mbconv(b, x, c_out, k, stride, mid, act, se)
        return b.build(self._g_head(b, x), meta={"source": self.name, "arch": str(a),
                                                 "input_shape": [3, a.resolution, a.resolution]})

    # ---------------------------------------------------------------------------------------------- moves
    def sample(self, rng: random.Random | int | None = None) -> str:
        r = as_rng(rng)
        res = r.choice(RESOLUTIONS)
        stages = []
        for s in range(self.n_stages):
            depth = r.choice(DEPTHS) if s < self.searchable_depth_stages else 1
            stages.append(tuple((r.choice(KERNELS), r.choice(EXPAND_RATIOS)) for _ in range(depth)))
        return str(MobileArch(res, tuple(stages)))

    def neighbours(self, arch: Any) -> list[str]:
        """Every architecture one change away: another resolution, one block's kernel or expand ratio, or a stage one
        block shorter (its last block dropped) or longer (a block of any kernel and expand ratio appended)."""
        a = self.arch(arch)
        out = [MobileArch(r, a.stages) for r in RESOLUTIONS if r != a.resolution]
        for s, stage in enumerate(a.stages):
            def with_stage(new: tuple) -> MobileArch:
                return MobileArch(a.resolution, a.stages[:s] + (new,) + a.stages[s + 1:])
            for i, (k, e) in enumerate(stage):
                out += [with_stage(stage[:i] + ((k2, e),) + stage[i + 1:]) for k2 in KERNELS if k2 != k]
                out += [with_stage(stage[:i] + ((k, e2),) + stage[i + 1:]) for e2 in EXPAND_RATIOS if e2 != e]
            if s < self.searchable_depth_stages:
                if len(stage) - 1 in DEPTHS:
                    out.append(with_stage(stage[:-1]))
                if len(stage) + 1 in DEPTHS:
                    out += [with_stage(stage + ((k, e),)) for k in KERNELS for e in EXPAND_RATIOS]
        return [str(n) for n in out]


class OFAMobileNetV3Space(OFAMobileSpace):
    """OFA-MobileNetV3 (``ofa_mbv3_d234_e346_k357_w1.0``; ``width_mult=1.2`` gives the w1.2 supernet's subnets)."""

    name = "ofa_mbv3"
    base_widths = (24, 40, 80, 112, 160)
    strides = (2, 2, 2, 1, 2)
    acts = ("relu", "relu", "hswish", "hswish", "hswish")
    se = (False, True, False, True, True)
    stem_width, first_block_width, head_widths = 16, 16, (960, 1280)
    stem_act, first_block_act = "hswish", "relu"

    def __init__(self, width_mult: float = 1.0, num_classes: int = IMAGENET_CLASSES):
        super().__init__(width_mult, num_classes)

    def _head(self, c_in: int) -> tuple[nn.Module | None, nn.Module, int]:
        expand, last = self.head_channels
        return (conv_bn_act(c_in, expand, 1, act="hswish"), conv_bn_act(expand, last, 1, act="hswish", bn=False),
                last)

    def _g_head(self, b: GraphBuilder, x: int) -> int:
        expand, last = self.head_channels
        x = b.global_pool(_g_conv_bn_act(b, x, expand, 1, act="hswish"), "avg", keepdim=True)
        x = b.flatten(_g_conv_bn_act(b, x, last, 1, act="hswish", bn=False))
        return b.linear(x, self.num_classes)


class OFAProxylessSpace(OFAMobileSpace):
    """OFA-ProxylessNAS (``ofa_proxyless_d234_e346_k357_w1.3``, the released supernet's width 1.3)."""

    name = "ofa_pn"
    base_widths = (24, 40, 80, 96, 192, 320)
    strides = (2, 2, 2, 1, 2, 1)
    acts = ("relu6",) * 6
    se = (False,) * 6
    stem_width, first_block_width, head_widths = 32, 16, (1280,)
    stem_act, first_block_act = "relu6", "relu6"

    def __init__(self, width_mult: float = 1.3, num_classes: int = IMAGENET_CLASSES):
        super().__init__(width_mult, num_classes)

    def _head(self, c_in: int) -> tuple[nn.Module | None, nn.Module, int]:
        last = self.head_channels[0]
        return None, conv_bn_act(c_in, last, 1, act="relu6"), last

    def _g_head(self, b: GraphBuilder, x: int) -> int:
        x = _g_conv_bn_act(b, x, self.head_channels[0], 1, act="relu6")
        return b.linear(b.global_pool(x, "avg", keepdim=False), self.num_classes)


# ---------------------------------------------------------------------------------------------- resnet space
@dataclass(frozen=True)
class ResNetArch:
    """A parsed OFA-ResNet architecture: resolution, stem block kept, stem widths, (width, ratios) per stage."""

    resolution: int
    stem_block: bool
    stem_widths: tuple[float, float]
    stages: tuple[tuple[float, tuple[float, ...]], ...]

    def __str__(self) -> str:
        stem = f"stem:d{2 if self.stem_block else 0},w{_fmt(self.stem_widths[0])},w{_fmt(self.stem_widths[1])}"
        stages = "|".join(f"w{_fmt(w)}:" + ",".join(f"e{_fmt(e)}" for e in es) for w, es in self.stages)
        return f"r{self.resolution}|{stem}|{stages}"


_RN_STEM_RE = re.compile(r"^stem:d(\d+),w([\d.]+),w([\d.]+)$")
_RN_STAGE_RE = re.compile(r"^w([\d.]+):(.+)$")


class OFAResNetSpace(OFASpace):
    """OFA-ResNet50 (``ofa_resnet50``; see the module docstring)."""

    name = "ofa_resnet"
    arch_type = ResNetArch
    dict_keys = ("d", "e", "w")
    dict_example = "{'d': [...], 'e': [...], 'w': [...], 'r': [224]}"

    def __init__(self, num_classes: int = IMAGENET_CLASSES):
        self.num_classes = int(num_classes)
        self.max_blocks = tuple(d + max(RESNET_EXTRA_DEPTHS) for d in RESNET_BASE_DEPTHS)

    @staticmethod
    def stem_channels(width: float) -> tuple[int, int]:
        """(channels of the first two stem convs, channels of the third) at width multiplier ``width``."""
        c = make_divisible(64 * width)
        return make_divisible(c // 2), c

    # ---------------------------------------------------------------------------------------------- encodings
    _FORM = ("'r<res>|stem:d<2 keep or 0 skip the residual stem block>,w<width>,w<width>|' then 4 stages "
             "'w<width>:e<ratio>,e<ratio>,...' (widths 0.65, 0.8, 1.0; ratios 0.2, 0.25, 0.35; 2-4, 2-4, 4-6, 2-4 "
             "blocks), resolution 128..224 step 4")

    def _form(self) -> str:
        return self._FORM

    def _check(self, a: ResNetArch, text: Any) -> ResNetArch:
        where = f"{self.name} architecture {text!r:.200}"
        for w in (*a.stem_widths, *(w for w, _ in a.stages)):
            if w not in RESNET_WIDTHS:
                raise EncodingError(f"{where}: width multiplier {w} is not one of {RESNET_WIDTHS}")
        if len(a.stages) != len(RESNET_BASE_DEPTHS):
            raise EncodingError(f"{where} has {len(a.stages)} stage(s), expected 4; {self._FORM}")
        for s, (_, es) in enumerate(a.stages):
            base = RESNET_BASE_DEPTHS[s]
            if not base <= len(es) <= base + max(RESNET_EXTRA_DEPTHS):
                raise EncodingError(f"{where}: stage {s + 1} has {len(es)} block(s), allowed {base} to "
                                    f"{base + max(RESNET_EXTRA_DEPTHS)}")
            bad = [e for e in es if e not in RESNET_EXPAND_RATIOS]
            if bad:
                raise EncodingError(f"{where}: bottleneck ratio {bad[0]} in stage {s + 1} is not one of "
                                    f"{RESNET_EXPAND_RATIOS}")
        return a

    def _from_str(self, s: str, text: Any) -> ResNetArch:
        parts = s.split("|")
        m = _RES_RE.match(parts[0])
        stem = _RN_STEM_RE.match(parts[1].strip()) if len(parts) > 1 else None
        if not m or not stem or stem.group(1) not in ("0", "2"):
            raise EncodingError(f"{self.name} arch string {text!r:.200} must start 'r<res>|stem:d2,w<w>,w<w>|' "
                                f"(d2 keeps, d0 skips the stem block); {self._FORM}")
        stages = []
        for i, part in enumerate(parts[2:], 1):
            sm = _RN_STAGE_RE.match(part.strip())
            tokens = sm.group(2).split(",") if sm else []
            if not sm or not all(t.strip().startswith("e") for t in tokens):
                raise EncodingError(f"{self.name} arch string {text!r:.200}: stage {i} {part!r} must read "
                                    f"'w<width>:e<ratio>,e<ratio>,...'; {self._FORM}")
            stages.append((_float(sm.group(1), text, self.name),
                           tuple(_float(t.strip()[1:], text, self.name) for t in tokens)))
        stem_widths = (_float(stem.group(2), text, self.name), _float(stem.group(3), text, self.name))
        return ResNetArch(int(m.group(1)), stem.group(1) == "2", stem_widths, tuple(stages))

    def _from_ofa(self, d: Mapping, text: Any) -> ResNetArch:
        self._check_keys(d)
        res = _resolution(d, self.name)
        ds, ws = _int_list(d["d"], "d", self.name), _int_list(d["w"], "w", self.name)
        es = _float_list(d["e"], "e", self.name)
        if len(ds) != 5 or ds[0] not in (0, 2) or any(x not in RESNET_EXTRA_DEPTHS for x in ds[1:]):
            raise EncodingError(f"{self.name} OFA dict: 'd' = {ds} must be 5 entries: 2 (keep) or 0 (skip) for the "
                                f"stem block, then the extra depth {RESNET_EXTRA_DEPTHS} of each of the 4 stages")
        if len(ws) != 6 or any(not 0 <= x < len(RESNET_WIDTHS) for x in ws):
            raise EncodingError(f"{self.name} OFA dict: 'w' = {ws} must be 6 indices into the width multipliers "
                                f"{RESNET_WIDTHS} (two stem convs, then the 4 stages)")
        depths = [b + x for b, x in zip(RESNET_BASE_DEPTHS, ds[1:])]
        if len(es) not in (sum(self.max_blocks), sum(depths)):
            raise EncodingError(f"{self.name} OFA dict: 'e' has {len(es)} entries; expected {sum(self.max_blocks)} "
                                f"(one per block slot) or {sum(depths)} (the active blocks)")
        stages, pos = [], 0
        for s, depth in enumerate(depths):
            stages.append((RESNET_WIDTHS[ws[s + 2]], tuple(es[pos:pos + depth])))
            pos += self.max_blocks[s] if len(es) == sum(self.max_blocks) else depth
        return ResNetArch(res, ds[0] == 2, (RESNET_WIDTHS[ws[0]], RESNET_WIDTHS[ws[1]]), tuple(stages))

    def encode(self, arch: Any, fmt: str = "str") -> Any:
        a = self.arch(arch)
        if fmt == "str":
            return str(a)
        if fmt == "ofa":
            es: list[float] = []
            for (_, ratios), slots in zip(a.stages, self.max_blocks):
                es += list(ratios) + [0] * (slots - len(ratios))
            return {"d": [2 if a.stem_block else 0] + [len(r) - b for (_, r), b in zip(a.stages, RESNET_BASE_DEPTHS)],
                    "e": es, "w": [RESNET_WIDTHS.index(w) for w in (*a.stem_widths, *(w for w, _ in a.stages))],
                    "r": [a.resolution]}
        raise EncodingError(f"{self.name} has no encoding {fmt!r}; formats: {', '.join(self.formats)}")

    # ---------------------------------------------------------------------------------------------- models
    def _blocks(self, a: ResNetArch) -> Iterator[tuple[int, int, int, bool]]:
        """(c_out, mid, stride, downsample) of every bottleneck block."""
        for s, (w, ratios) in enumerate(a.stages):
            c_out = make_divisible(RESNET_STAGE_WIDTHS[s] * w)
            for i, e in enumerate(ratios):
                yield c_out, make_divisible(round(c_out * e)), (1 if s == 0 else 2) if i == 0 else 1, i == 0

    def build(self, arch: Any) -> nn.Module:
        """The subnet's reference module (its input resolution is ``input_shape_for(arch)``)."""
        a = self.arch(arch)
        mid, _ = self.stem_channels(a.stem_widths[0])
        _, c_in = self.stem_channels(a.stem_widths[1])
        stem: list[nn.Module] = [conv_bn_act(3, mid, 3, 2, "relu")]
        if a.stem_block:
            stem.append(ResidualConv(mid))
        stem.append(conv_bn_act(mid, c_in, 3, 1, "relu"))
        blocks = []
        for c_out, c_mid, stride, down in self._blocks(a):
            blocks.append(Bottleneck(c_in, c_out, c_mid, stride, down))
            c_in = c_out
        return ResNetSubnet(stem, blocks, nn.Linear(c_in, self.num_classes))

    def to_graph(self, arch: Any) -> CompGraph:
        a = self.arch(arch)
        b = GraphBuilder(self.input_shape_for(a))
        mid, _ = self.stem_channels(a.stem_widths[0])
        _, c_in = self.stem_channels(a.stem_widths[1])
        x = _g_conv_bn_act(b, b.input, mid, 3, 2, "relu")
        if a.stem_block:
            x = b.add([_g_conv_bn_act(b, x, mid, 3, 1, "relu"), x])
        x = b.pool("max", _g_conv_bn_act(b, x, c_in, 3, 1, "relu"), 3, 2, 1)
        for c_out, c_mid, stride, down in self._blocks(a):
            y = _g_conv_bn_act(b, x, c_mid, 1, act="relu")
            y = _g_conv_bn_act(b, _g_conv_bn_act(b, y, c_mid, 3, stride, "relu"), c_out, 1)
            short = _g_conv_bn_act(b, b.pool("avg", x, stride, stride, 0, ceil_mode=True), c_out, 1) if down else x
            x = b.relu(b.add([y, short]))
        x = b.linear(b.global_pool(x, "avg", keepdim=False), self.num_classes)
        return b.build(x, meta={"source": self.name, "arch": str(a), "input_shape": [3, a.resolution, a.resolution]})

    # ---------------------------------------------------------------------------------------------- moves
    def sample(self, rng: random.Random | int | None = None) -> str:
        r = as_rng(rng)
        res = r.choice(RESOLUTIONS)
        stem_block = r.choice((True, False))
        stem_widths = (r.choice(RESNET_WIDTHS), r.choice(RESNET_WIDTHS))
        stages = []
        for base in RESNET_BASE_DEPTHS:
            w = r.choice(RESNET_WIDTHS)
            depth = base + r.choice(RESNET_EXTRA_DEPTHS)
            stages.append((w, tuple(r.choice(RESNET_EXPAND_RATIOS) for _ in range(depth))))
        return str(ResNetArch(res, stem_block, stem_widths, tuple(stages)))

    def neighbours(self, arch: Any) -> list[str]:
        """Every architecture one change away: another resolution, the stem block toggled, one width multiplier or
        bottleneck ratio changed, or a stage one block shorter (last block dropped) or longer (a block appended)."""
        a = self.arch(arch)
        out = [ResNetArch(r, a.stem_block, a.stem_widths, a.stages) for r in RESOLUTIONS if r != a.resolution]
        out.append(ResNetArch(a.resolution, not a.stem_block, a.stem_widths, a.stages))
        for i in range(2):
            out += [ResNetArch(a.resolution, a.stem_block, a.stem_widths[:i] + (w,) + a.stem_widths[i + 1:], a.stages)
                    for w in RESNET_WIDTHS if w != a.stem_widths[i]]
        for s, (w, ratios) in enumerate(a.stages):
            def with_stage(new: tuple) -> ResNetArch:
                return ResNetArch(a.resolution, a.stem_block, a.stem_widths, a.stages[:s] + (new,) + a.stages[s + 1:])
            out += [with_stage((w2, ratios)) for w2 in RESNET_WIDTHS if w2 != w]
            for i, e in enumerate(ratios):
                out += [with_stage((w, ratios[:i] + (e2,) + ratios[i + 1:])) for e2 in RESNET_EXPAND_RATIOS if e2 != e]
            extra = len(ratios) - RESNET_BASE_DEPTHS[s]
            if extra - 1 in RESNET_EXTRA_DEPTHS:
                out.append(with_stage((w, ratios[:-1])))
            if extra + 1 in RESNET_EXTRA_DEPTHS:
                out += [with_stage((w, ratios + (e2,))) for e2 in RESNET_EXPAND_RATIOS]
        return [str(n) for n in out]


# ---------------------------------------------------------------------------------------------- dict helpers
def _load_dict(text: str, space: str) -> Mapping:
    d = literal(text, f"{space} OFA dict")
    if not isinstance(d, Mapping):
        raise EncodingError(f"{space} cannot read {text!r:.200}: expected a dict")
    return d


def _seq(v: Any, key: str, space: str) -> list:
    if hasattr(v, "tolist"):
        v = v.tolist()
    if not isinstance(v, (list, tuple)):
        raise EncodingError(f"{space} OFA dict: {key!r} must be a list, got {v!r:.80}")
    return list(v)


def _int_list(v: Any, key: str, space: str) -> list[int]:
    out = []
    for x in _seq(v, key, space):
        f = _num(x)
        if f is None or f != int(f):
            raise EncodingError(f"{space} OFA dict: {key!r:.80} holds {x!r:.80}, which is not an integer")
        out.append(int(f))
    return out


def _float_list(v: Any, key: str, space: str) -> list[float]:
    out = []
    for x in _seq(v, key, space):
        f = _num(x)
        if f is None:
            raise EncodingError(f"{space} OFA dict: {key!r:.80} holds {x!r:.80}, which is not a number")
        out.append(f)
    return out


def _float(text: str, whole: Any, space: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise EncodingError(f"{space} arch string {whole!r:.200}: {text!r} is not a number") from None


def _resolution(d: Mapping, space: str) -> int:
    if "r" in d and "image_size" in d:
        raise EncodingError(f"{space} OFA dict gives both 'r' and 'image_size'; give the resolution once")
    r = d.get("r", d.get("image_size", DEFAULT_RESOLUTION))
    if hasattr(r, "tolist"):
        r = r.tolist()
    if isinstance(r, (list, tuple)):
        if len(r) != 1:
            raise EncodingError(f"{space} OFA dict: resolution {r!r:.80} must be one value, e.g. [224]")
        r = r[0]
    f = _num(r)
    if f is None or f != int(f):
        raise EncodingError(f"{space} OFA dict: resolution {r!r:.80} is not an integer")
    return int(f)

