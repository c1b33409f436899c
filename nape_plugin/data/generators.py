"""Unlabelled computation graphs for contrastive pretraining: random networks of many shapes, and space samples.

:func:`random_graphs` returns ``n`` graphs cycling through families, each a real network traced on the ``meta``
device (or, for search spaces, the space's direct builder). Families:

* ``resnet``: basic or bottleneck (optionally grouped) blocks, post- or pre-activation, optional squeeze-excite,
  a random depth per stage, widths, strides, conv or avg-pool shortcuts and one of four stems;
* ``mobilenet``: inverted residuals with a random expansion, kernel, squeeze-excite (sigmoid or hard-sigmoid gate)
  and activation (ReLU, ReLU6, hard-swish, SiLU) per stage, MobileNetV2/V3-style heads;
* ``inception``: multi-branch blocks concatenated along channels (1x1, 1x1-3x3, 1x1-3x3-3x3 or 5x5, factorised
  1x7/7x1 branches, max/avg pooling + 1x1 branches) and strided reduction blocks with a pooling branch;
* ``densenet``: dense blocks (optional 1x1 bottlenecks) and compressing transitions;
* ``vit``: small vision transformers on patch embeddings (optionally behind a conv stem), ``nn.MultiheadAttention``
  or explicit q/k/v projections with scaled dot-product attention, class-token or mean-token pooling;
* ``segmentation``: encoder-decoders with a per-pixel head, a task beyond classification: U-Net (concatenated skips),
  FPN-style (added lateral 1x1 skips) or DeepLab-style (dilated ASPP with an image-pooling branch) decoders,
  upsampling by transposed convolutions or interpolation;
* every registered search space (``nape.spaces.names()``): ``space.sample(rng)`` built with ``space.to_graph``.

Generated networks take a random input resolution (32 to 224) and a random number of classes. Everything is
deterministic under ``seed``: graph ``i`` depends only on ``(seed, i)`` and the family list.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UnknownNameError
from ..graph.core import CompGraph
from ..utils.progress import progress_bar

__all__ = ["FAMILIES", "RandomNetwork", "family_names", "random_network", "network_graph", "random_graphs"]

#: Generated (not search-space) families.
FAMILIES: tuple[str, ...] = ("resnet", "mobilenet", "inception", "densenet", "vit", "segmentation")


class RandomNetwork(NamedTuple):
    """A generated network: ``make()`` builds it (on the current default device), for inputs of ``input_shape``.

    ``space``/``arch`` are set for samples of a search space, whose graph ``space.to_graph(arch)`` builds directly.
    """

    make: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    description: str
    space: Any = None
    arch: Any = None


# ------------------------------------------------------------------------------------------------ building blocks
_ACTS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "silu": nn.SiLU, "hardswish": nn.Hardswish, "gelu": nn.GELU,
    "leaky_relu": partial(nn.LeakyReLU, 0.1), "sigmoid": nn.Sigmoid, "hardsigmoid": nn.Hardsigmoid,
}


def _act(name: str | None) -> nn.Module:
    return nn.Identity() if name is None else _ACTS[name]()


def conv_bn(c_in: int, c_out: int, kernel: int | tuple[int, int], stride: int = 1, act: str | None = "relu",
            groups: int = 1, dilation: int = 1, bn: bool = True) -> nn.Sequential:
    """Convolution with 'same' padding, batch norm (optional) and an activation (``None``: none)."""
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    pad = tuple(dilation * (ki - 1) // 2 for ki in k)
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, pad, dilation, groups, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    if act is not None:
        layers.append(_act(act))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel gating: global mean, 1x1 reduce, activation, 1x1 expand, gate, scale."""

    def __init__(self, channels: int, mid: int, act: str = "relu", gate: str = "sigmoid"):
        super().__init__()
        self.fc = nn.Sequential(nn.Conv2d(channels, mid, 1), _act(act), nn.Conv2d(mid, channels, 1), _act(gate))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean((2, 3), keepdim=True))


class ClassifierHead(nn.Module):
    """Global average pooling, optional dropout, linear classifier."""

    def __init__(self, channels: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))


def _round8(v: float) -> int:
    return max(8, int(round(v / 8)) * 8)


def _down(size: int) -> int:
    """Spatial size after a 3x3 stride-2 conv with padding 1."""
    return (size - 1) // 2 + 1


def _resolution(rng: random.Random, multiple: int = 8, low: int = 32, high: int = 224) -> int:
    return rng.randrange(-(-low // multiple) * multiple, high + 1, multiple)


def _classes(rng: random.Random, low: int = 2, high: int = 1000) -> int:
    """Log-uniform number of classes."""
    return int(round(math.exp(rng.uniform(math.log(low), math.log(high)))))


# ------------------------------------------------------------------------------------------------------- resnet
@dataclass(frozen=True)
class ResNetConfig:
    stem: str                      # "imagenet" (7x7/2 + maxpool), "cifar" (3x3), "deep" (3 x 3x3 + maxpool), "patch"
    stem_width: int
    block: str                     # "basic" or "bottleneck"
    order: str                     # "post" or "pre" activation
    stages: tuple[tuple[int, int, int], ...]   # (depth, width, stride)
    groups: int
    shortcut: str                  # "conv" or "avgpool"
    se: bool
    act: str
    dropout: float
    num_classes: int


class ResBlock(nn.Module):
    def __init__(self, c_in: int, width: int, stride: int, cfg: ResNetConfig):
        super().__init__()
        bottleneck = cfg.block == "bottleneck"
        c_out = width * 4 if bottleneck else width
        act, pre = cfg.act, cfg.order == "pre"
        self.pre = nn.Sequential(nn.BatchNorm2d(c_in), _act(act)) if pre else nn.Identity()
        layer_act = None if pre else act

        def unit(ci: int, co: int, k: int, s: int = 1, g: int = 1, first: bool = False,
                 last: bool = False) -> nn.Sequential:
            if pre:                       # BN-act-conv; the block's first BN-act is self.pre
                head = [] if first else [nn.BatchNorm2d(ci), _act(act)]
                return nn.Sequential(*head, nn.Conv2d(ci, co, k, s, k // 2, groups=g, bias=False))
            return conv_bn(ci, co, k, s, None if last else layer_act, g)

        if bottleneck:
            self.body = nn.Sequential(unit(c_in, width, 1, first=True), unit(width, width, 3, stride, cfg.groups),
                                      unit(width, c_out, 1, last=True))
        else:
            self.body = nn.Sequential(unit(c_in, width, 3, stride, first=True), unit(width, c_out, 3, last=True))
        self.se = SqueezeExcite(c_out, max(8, c_out // 4)) if cfg.se else nn.Identity()
        if stride == 1 and c_in == c_out:
            self.shortcut: nn.Module = nn.Identity()
        elif cfg.shortcut == "avgpool" and stride > 1:
            self.shortcut = nn.Sequential(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
                                          conv_bn(c_in, c_out, 1, act=None))
        else:
            self.shortcut = conv_bn(c_in, c_out, 1, stride, act=None)
        self.out_act = nn.Identity() if pre else _act(act)
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pre(x)
        return self.out_act(self.se(self.body(y)) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, cfg: ResNetConfig):
        super().__init__()
        w, act = cfg.stem_width, cfg.act
        if cfg.stem == "imagenet":
            self.stem = nn.Sequential(conv_bn(3, w, 7, 2, act), nn.MaxPool2d(3, 2, 1))
        elif cfg.stem == "deep":
            self.stem = nn.Sequential(conv_bn(3, w // 2, 3, 2, act), conv_bn(w // 2, w // 2, 3, 1, act),
                                      conv_bn(w // 2, w, 3, 1, act), nn.MaxPool2d(3, 2, 1))
        elif cfg.stem == "patch":
            self.stem = nn.Sequential(nn.Conv2d(3, w, 4, 4), nn.BatchNorm2d(w))
        else:
            self.stem = conv_bn(3, w, 3, 1, act)
        blocks: list[nn.Module] = []
        c = w
        for depth, width, stride in cfg.stages:
            for i in range(depth):
                blocks.append(ResBlock(c, width, stride if i == 0 else 1, cfg))
                c = blocks[-1].c_out
        self.blocks = nn.Sequential(*blocks)
        self.final = nn.Sequential(nn.BatchNorm2d(c), _act(act)) if cfg.order == "pre" else nn.Identity()
        self.head = ClassifierHead(c, cfg.num_classes, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.final(self.blocks(self.stem(x))))


def _resnet(rng: random.Random) -> RandomNetwork:
    r = _resolution(rng)
    block = rng.choice(("basic", "bottleneck"))
    stem = rng.choice(("imagenet", "cifar", "deep", "patch") if r >= 64 else ("cifar", "cifar", "patch"))
    n_stages = rng.randint(2, 4)
    base = rng.choice((16, 24, 32, 48, 64))
    growth = rng.choice((1.5, 2.0))
    stages = tuple((rng.randint(1, 3 if block == "bottleneck" else 4), _round8(base * growth ** s),
                    1 if s == 0 else 2) for s in range(n_stages))
    groups = rng.choice((1, 1, 2, 4, 8)) if block == "bottleneck" else 1
    groups = math.gcd(groups, *(w for _, w, _ in stages))
    cfg = ResNetConfig(stem, rng.choice((16, 32, 64)), block, rng.choice(("post", "post", "pre")), stages, groups,
                       rng.choice(("conv", "avgpool")), rng.random() < 0.3,
                       rng.choice(("relu", "relu", "relu", "silu", "leaky_relu")), rng.choice((0.0, 0.0, 0.2)),
                       _classes(rng))
    desc = (f"resnet {cfg.block} {cfg.order}-act stem={cfg.stem} depths={[d for d, _, _ in stages]} "
            f"widths={[w for _, w, _ in stages]} groups={groups} se={cfg.se} act={cfg.act} r={r} "
            f"classes={cfg.num_classes}")
    return RandomNetwork(partial(ResNet, cfg), (3, r, r), desc)


# ---------------------------------------------------------------------------------------------------- mobilenet
@dataclass(frozen=True)
class MobileNetConfig:
    stem_width: int
    stem_act: str
    blocks: tuple[tuple[int, int, int, int, str, bool], ...]   # (c_out, kernel, stride, expansion, act, se)
    se_gate: str
    head_width: int
    head_hidden: int              # 0: no hidden linear layer (V2 style); else V3-style hidden width
    head_act: str
    num_classes: int


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expansion: int, act: str, se: bool,
                 gate: str):
        super().__init__()
        mid = _round8(c_in * expansion) if expansion > 1 else c_in
        layers: list[nn.Module] = [conv_bn(c_in, mid, 1, act=act)] if expansion > 1 else []
        layers.append(conv_bn(mid, mid, kernel, stride, act, groups=mid))
        if se:
            layers.append(SqueezeExcite(mid, _round8(mid / 4), "relu", gate))
        layers.append(conv_bn(mid, c_out, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


class MobileNet(nn.Module):
    def __init__(self, cfg: MobileNetConfig):
        super().__init__()
        self.stem = conv_bn(3, cfg.stem_width, 3, 2, cfg.stem_act)
        blocks: list[nn.Module] = []
        c = cfg.stem_width
        for c_out, k, s, e, act, se in cfg.blocks:
            blocks.append(InvertedResidual(c, c_out, k, s, e, act, se, cfg.se_gate))
            c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head_conv = conv_bn(c, cfg.head_width, 1, act=cfg.head_act)
        if cfg.head_hidden:
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cfg.head_width, cfg.head_hidden),
                                      _act(cfg.head_act), nn.Dropout(0.2), nn.Linear(cfg.head_hidden, cfg.num_classes))
        else:
            self.head = ClassifierHead(cfg.head_width, cfg.num_classes, 0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_conv(self.blocks(self.stem(x))))


def _mobilenet(rng: random.Random) -> RandomNetwork:
    r = _resolution(rng)
    n_stages = rng.randint(4, 7)
    size = _down(r)
    width = rng.choice((16, 24, 32))
    blocks = []
    if rng.random() < 0.7:      # a depthwise-separable first block, as in MobileNetV2/V3
        blocks.append((rng.choice((16, 24)), 3, 1, 1, rng.choice(("relu", "relu6")), False))
    for s in range(n_stages):
        width = _round8(width * rng.choice((1.0, 1.5, 2.0)) if s else width * rng.choice((1.0, 1.5)))
        stride = 2 if size > 2 and (rng.random() < 0.7 or s == 0) else 1
        size = _down(size) if stride == 2 else size
        act = rng.choice(("relu", "relu6", "hardswish", "silu"))
        se = rng.random() < 0.4
        for i in range(rng.randint(1, 4)):
            blocks.append((width, rng.choice((3, 5, 7)), stride if i == 0 else 1, rng.choice((1, 2, 3, 4, 6)), act,
                           se and rng.random() < 0.8))
    head_act = rng.choice(("relu6", "hardswish", "silu"))
    cfg = MobileNetConfig(rng.choice((16, 24, 32)), rng.choice(("relu", "relu6", "hardswish")), tuple(blocks),
                          rng.choice(("sigmoid", "hardsigmoid")), _round8(width * rng.choice((4, 6))),
                          rng.choice((0, 0, 1024, 1280)), head_act, _classes(rng))
    desc = (f"mobilenet blocks={len(blocks)} k={[b[1] for b in blocks]} e={[b[3] for b in blocks]} "
            f"se={sum(b[5] for b in blocks)} acts={sorted({b[4] for b in blocks})} r={r} classes={cfg.num_classes}")
    return RandomNetwork(partial(MobileNet, cfg), (3, r, r), desc)


# ---------------------------------------------------------------------------------------------------- inception
#: Branch kinds of an inception block.
_BRANCHES = ("1x1", "3x3", "double3x3", "5x5", "7x7fact", "maxpool", "avgpool")


class InceptionBlock(nn.Module):
    """Parallel branches concatenated along channels; ``stride`` 2 makes it a reduction block."""

    def __init__(self, c_in: int, branches: Sequence[tuple[str, int, int]], stride: int):
        super().__init__()
        self.branches = nn.ModuleList()
        self.c_out = 0
        for kind, width, red in branches:
            if kind == "1x1":
                b: nn.Module = conv_bn(c_in, width, 1, stride)
            elif kind == "3x3":
                b = nn.Sequential(conv_bn(c_in, red, 1), conv_bn(red, width, 3, stride))
            elif kind == "double3x3":
                b = nn.Sequential(conv_bn(c_in, red, 1), conv_bn(red, width, 3), conv_bn(width, width, 3, stride))
            elif kind == "5x5":
                b = nn.Sequential(conv_bn(c_in, red, 1), conv_bn(red, width, 5, stride))
            elif kind == "7x7fact":
                b = nn.Sequential(conv_bn(c_in, red, 1), conv_bn(red, red, (1, 7)), conv_bn(red, width, (7, 1)),
                                  conv_bn(width, width, 3, stride) if stride > 1 else nn.Identity())
            elif kind == "maxpool" and stride > 1:
                b, width = nn.MaxPool2d(3, stride, 1), c_in     # the reduction block's pooling branch
            else:
                pool = nn.MaxPool2d(3, stride, 1) if kind == "maxpool" else \
                    nn.AvgPool2d(3, stride, 1, count_include_pad=False)
                b = nn.Sequential(pool, conv_bn(c_in, width, 1))
            self.branches.append(b)
            self.c_out += width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], 1)


@dataclass(frozen=True)
class InceptionConfig:
    stem: str                   # "v1" (7x7/2 + maxpool + 1x1 + 3x3 + maxpool) or "v3" (3x3/2, 3x3, 3x3, maxpool)
    stem_width: int
    stages: tuple[tuple[tuple[tuple[str, int, int], ...], ...], ...]   # per stage: blocks of (kind, width, reduce)
    reductions: tuple[tuple[tuple[str, int, int], ...], ...]           # reduction block before stages 2..
    dropout: float
    num_classes: int


class Inception(nn.Module):
    def __init__(self, cfg: InceptionConfig):
        super().__init__()
        w = cfg.stem_width
        if cfg.stem == "v1":
            self.stem = nn.Sequential(conv_bn(3, w, 7, 2), nn.MaxPool2d(3, 2, 1), conv_bn(w, w, 1),
                                      conv_bn(w, 2 * w, 3), nn.MaxPool2d(3, 2, 1))
            c = 2 * w
        else:
            self.stem = nn.Sequential(conv_bn(3, w, 3, 2), conv_bn(w, w, 3), conv_bn(w, 2 * w, 3),
                                      nn.MaxPool2d(3, 2, 1))
            c = 2 * w
        layers: list[nn.Module] = []
        for s, blocks in enumerate(cfg.stages):
            if s:
                layers.append(InceptionBlock(c, cfg.reductions[s - 1], 2))
                c = layers[-1].c_out
            for branches in blocks:
                layers.append(InceptionBlock(c, branches, 1))
                c = layers[-1].c_out
        self.blocks = nn.Sequential(*layers)
        self.head = ClassifierHead(c, cfg.num_classes, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def _inception(rng: random.Random) -> RandomNetwork:
    r = _resolution(rng, low=64)
    width = rng.choice((16, 24, 32))
    stages, reductions = [], []
    base = rng.choice((16, 24, 32))
    for s in range(rng.randint(2, 3)):
        scale = 2 ** s
        if s:
            reductions.append(tuple(
                (kind, _round8(base * scale * rng.choice((1, 1.5, 2))), _round8(base * scale * 0.75))
                for kind in ("3x3", rng.choice(("double3x3", "7x7fact")), "maxpool")))
        blocks = []
        for _ in range(rng.randint(1, 3)):
            kinds = ["1x1"] + rng.sample(_BRANCHES[1:], rng.randint(1, 3))
            blocks.append(tuple((k, _round8(base * scale * rng.choice((0.5, 1, 1.5, 2))),
                                 _round8(base * scale * rng.choice((0.5, 0.75)))) for k in kinds))
        stages.append(tuple(blocks))
    cfg = InceptionConfig(rng.choice(("v1", "v3")), width, tuple(stages), tuple(reductions),
                          rng.choice((0.0, 0.2, 0.4)), _classes(rng))
    desc = (f"inception stem={cfg.stem} blocks per stage={[len(b) for b in stages]} "
            f"branches={[[k for k, _, _ in br] for st in stages for br in st]} r={r} classes={cfg.num_classes}")
    return RandomNetwork(partial(Inception, cfg), (3, r, r), desc)


# ----------------------------------------------------------------------------------------------------- densenet
@dataclass(frozen=True)
class DenseNetConfig:
    stem: str                   # "imagenet" (7x7/2 + maxpool) or "cifar" (3x3)
    stem_width: int
    growth: int
    layers: tuple[int, ...]     # dense layers per block
    bottleneck: bool
    compression: float
    num_classes: int


class DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int, bottleneck: bool):
        super().__init__()
        mid = 4 * growth
        if bottleneck:
            self.body = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, mid, 1, bias=False),
                                      nn.BatchNorm2d(mid), nn.ReLU(), nn.Conv2d(mid, growth, 3, 1, 1, bias=False))
        else:
            self.body = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, growth, 3, 1, 1, bias=False))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.body(torch.cat(features, 1))


class DenseBlock(nn.Module):
    def __init__(self, c_in: int, n_layers: int, growth: int, bottleneck: bool):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(c_in + i * growth, growth, bottleneck) for i in range(n_layers))
        self.c_out = c_in + n_layers * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseNet(nn.Module):
    def __init__(self, cfg: DenseNetConfig):
        super().__init__()
        c = cfg.stem_width
        self.stem = nn.Sequential(conv_bn(3, c, 7, 2), nn.MaxPool2d(3, 2, 1)) if cfg.stem == "imagenet" else \
            nn.Conv2d(3, c, 3, 1, 1, bias=False)
        layers: list[nn.Module] = []
        for i, n in enumerate(cfg.layers):
            layers.append(DenseBlock(c, n, cfg.growth, cfg.bottleneck))
            c = layers[-1].c_out
            if i < len(cfg.layers) - 1:
                c_next = max(8, int(c * cfg.compression))
                layers.append(nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c_next, 1, bias=False),
                                            nn.AvgPool2d(2, 2)))
                c = c_next
        self.features = nn.Sequential(*layers, nn.BatchNorm2d(c), nn.ReLU())
        self.head = ClassifierHead(c, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.stem(x)))


def _densenet(rng: random.Random) -> RandomNetwork:
    r = _resolution(rng)
    stem = rng.choice(("imagenet", "cifar")) if r >= 64 else "cifar"
    size = (r + 3) // 4 if stem == "imagenet" else r
    n_blocks = max(1, min(rng.randint(2, 4), int(math.log2(size)) + 1))
    growth = rng.choice((8, 12, 16, 24, 32))
    cfg = DenseNetConfig(stem, 2 * growth, growth, tuple(rng.randint(2, 6) for _ in range(n_blocks)),
                         rng.random() < 0.6, rng.choice((0.5, 0.5, 1.0)), _classes(rng))
    desc = (f"densenet stem={stem} growth={growth} layers={list(cfg.layers)} bottleneck={cfg.bottleneck} "
            f"compression={cfg.compression} r={r} classes={cfg.num_classes}")
    return RandomNetwork(partial(DenseNet, cfg), (3, r, r), desc)


# ---------------------------------------------------------------------------------------------------------- vit
@dataclass(frozen=True)
class ViTConfig:
    conv_stem: bool
    patch: int
    dim: int
    depth: int
    heads: int
    mlp_ratio: int
    attention: str              # "mha" (nn.MultiheadAttention) or "sdpa" (q/k/v projections + attention)
    pool: str                   # "cls" or "mean"
    act: str
    tokens: int                 # patches (without the class token)
    num_classes: int


class SelfAttention(nn.Module):
    """Multi-head self-attention with one q/k/v projection and ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int, heads: int, tokens: int):
        super().__init__()
        self.heads, self.tokens, self.dim = heads, tokens, dim
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv(x).reshape(x.shape[0], self.tokens, 3, self.heads, self.dim // self.heads)
        qkv = qkv.unbind(2)
        out = F.scaled_dot_product_attention(qkv[0].transpose(1, 2), qkv[1].transpose(1, 2), qkv[2].transpose(1, 2))
        return self.proj(out.transpose(1, 2).reshape(x.shape[0], self.tokens, self.dim))


class EncoderBlock(nn.Module):
    def __init__(self, cfg: ViTConfig, tokens: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.dim)
        self.mha = cfg.attention == "mha"
        self.attn = nn.MultiheadAttention(cfg.dim, cfg.heads, batch_first=True) if self.mha else \
            SelfAttention(cfg.dim, cfg.heads, tokens)
        self.norm2 = nn.LayerNorm(cfg.dim)
        hidden = cfg.dim * cfg.mlp_ratio
        self.mlp = nn.Sequential(nn.Linear(cfg.dim, hidden), _act(cfg.act), nn.Linear(hidden, cfg.dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x + (self.attn(y, y, y, need_weights=False)[0] if self.mha else self.attn(y))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        c_in = 3
        if cfg.conv_stem:
            self.stem: nn.Module = nn.Sequential(conv_bn(3, cfg.dim // 2, 3, 2), conv_bn(cfg.dim // 2, cfg.dim // 2, 3))
            c_in = cfg.dim // 2
        else:
            self.stem = nn.Identity()
        self.embed = nn.Conv2d(c_in, cfg.dim, cfg.patch, cfg.patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.dim)) if cfg.pool == "cls" else None
        tokens = cfg.tokens + (cfg.pool == "cls")
        self.pos = nn.Parameter(torch.zeros(1, tokens, cfg.dim))
        self.blocks = nn.Sequential(*(EncoderBlock(cfg, tokens) for _ in range(cfg.depth)))
        self.norm = nn.LayerNorm(cfg.dim)
        self.fc = nn.Linear(cfg.dim, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(self.stem(x)).flatten(2).transpose(1, 2)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)
        x = self.norm(self.blocks(x + self.pos))
        return self.fc(x[:, 0] if self.cls is not None else x.mean(1))


def _vit(rng: random.Random) -> RandomNetwork:
    conv_stem = rng.random() < 0.25
    patch = rng.choice((2, 4, 8) if conv_stem else (4, 8, 16))
    step = patch * (2 if conv_stem else 1)
    grid = rng.randint(max(2, -(-32 // step)), min(14, 224 // step))
    r = grid * step
    heads = rng.choice((2, 3, 4, 6, 8))
    dim = heads * rng.choice((16, 24, 32, 48))
    cfg = ViTConfig(conv_stem, patch, dim, rng.randint(1, 6), heads, rng.choice((2, 3, 4)),
                    rng.choice(("mha", "sdpa")), rng.choice(("cls", "mean")), rng.choice(("gelu", "gelu", "silu")),
                    grid * grid, _classes(rng))
    desc = (f"vit patch={patch} conv_stem={conv_stem} dim={dim} depth={cfg.depth} heads={heads} "
            f"mlp={cfg.mlp_ratio} attention={cfg.attention} pool={cfg.pool} r={r} classes={cfg.num_classes}")
    return RandomNetwork(partial(ViT, cfg), (3, r, r), desc)


# ------------------------------------------------------------------------------------------------- segmentation
@dataclass(frozen=True)
class SegConfig:
    widths: tuple[int, ...]       # encoder widths, level 0 at full resolution
    convs: int                    # convs per encoder/decoder level
    down: str                     # "maxpool" or "conv" (3x3 stride 2)
    decoder: str                  # "unet", "fpn" or "aspp"
    up: str                       # "transpose", "nearest" or "bilinear"
    rates: tuple[int, ...]        # ASPP dilation rates
    act: str
    num_classes: int


class Up(nn.Module):
    """Doubles the resolution: a 2x2 stride-2 transposed conv, or interpolation then a 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, mode: str):
        super().__init__()
        if mode == "transpose":
            self.body: nn.Module = nn.ConvTranspose2d(c_in, c_out, 2, 2)
        else:
            self.body = nn.Sequential(nn.Upsample(scale_factor=2, mode=mode), nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, dilated 3x3 convs and an image-pooling branch, concatenated, 1x1."""

    def __init__(self, c_in: int, c_out: int, rates: Sequence[int], size: int, act: str):
        super().__init__()
        self.branches = nn.ModuleList([conv_bn(c_in, c_out, 1, act=act)] +
                                      [conv_bn(c_in, c_out, 3, act=act, dilation=d) for d in rates])
        self.image = nn.Sequential(nn.AdaptiveAvgPool2d(1), conv_bn(c_in, c_out, 1, act=act, bn=False),
                                   nn.Upsample(size=(size, size), mode="nearest"))
        self.project = conv_bn(c_out * (len(rates) + 2), c_out, 1, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([b(x) for b in self.branches] + [self.image(x)], 1))


class SegNet(nn.Module):
    """An encoder-decoder giving per-pixel class logits of shape (classes, H, W)."""

    def __init__(self, cfg: SegConfig, resolution: int):
        super().__init__()
        act, levels = cfg.act, len(cfg.widths)
        self.decoder = cfg.decoder
        enc: list[nn.Module] = []
        c = 3
        for i, w in enumerate(cfg.widths):
            layers: list[nn.Module] = []
            if i:
                layers.append(nn.MaxPool2d(2) if cfg.down == "maxpool" else conv_bn(c, c, 3, 2, act))
            for j in range(cfg.convs):
                layers.append(conv_bn(c if j == 0 else w, w, 3, act=act))
            enc.append(nn.Sequential(*layers))
            c = w
        self.encoder = nn.ModuleList(enc)
        widths = cfg.widths
        if cfg.decoder == "aspp":
            self.aspp = ASPP(c, widths[0], cfg.rates, resolution >> (levels - 1), act)
            self.head = nn.Sequential(nn.Conv2d(widths[0], cfg.num_classes, 1),
                                      nn.Upsample(scale_factor=2 ** (levels - 1), mode="bilinear"))
            return
        self.ups = nn.ModuleList(Up(widths[i + 1], widths[i], cfg.up) for i in reversed(range(levels - 1)))
        if cfg.decoder == "fpn":
            self.laterals = nn.ModuleList(nn.Conv2d(widths[i], widths[i], 1) for i in reversed(range(levels - 1)))
        self.fuse = nn.ModuleList(
            nn.Sequential(*(conv_bn((2 * widths[i] if cfg.decoder == "unet" else widths[i]) if j == 0 else widths[i],
                                    widths[i], 3, act=act) for j in range(cfg.convs)))
            for i in reversed(range(levels - 1)))
        self.head = nn.Conv2d(widths[0], cfg.num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level in self.encoder:
            x = level(x)
            skips.append(x)
        if self.decoder == "aspp":
            return self.head(self.aspp(x))
        for k, (up, fuse) in enumerate(zip(self.ups, self.fuse)):
            skip = skips[-2 - k]
            x = up(x)
            x = torch.cat([x, skip], 1) if self.decoder == "unet" else x + self.laterals[k](skip)
            x = fuse(x)
        return self.head(x)


def _segmentation(rng: random.Random) -> RandomNetwork:
    levels = rng.randint(2, 5)
    r = _resolution(rng, multiple=2 ** (levels - 1))
    base = rng.choice((8, 16, 24, 32))
    widths = tuple(_round8(base * 2 ** i) for i in range(levels))
    decoder = rng.choice(("unet", "fpn", "aspp"))
    rates = tuple(sorted(rng.sample((1, 2, 3, 4, 6), rng.randint(2, 3))))
    cfg = SegConfig(widths, rng.randint(1, 2), rng.choice(("maxpool", "conv")), decoder,
                    rng.choice(("transpose", "nearest", "bilinear")), rates, rng.choice(("relu", "relu", "silu")),
                    _classes(rng, 2, 150))
    desc = (f"segmentation {decoder} levels={levels} widths={list(widths)} convs={cfg.convs} down={cfg.down} "
            f"up={cfg.up if decoder != 'aspp' else 'bilinear x' + str(2 ** (levels - 1))} r={r} "
            f"classes={cfg.num_classes} (per pixel)")
    return RandomNetwork(partial(SegNet, cfg, r), (3, r, r), desc)


_GENERATORS: dict[str, Callable[[random.Random], RandomNetwork]] = {
    "resnet": _resnet, "mobilenet": _mobilenet, "inception": _inception, "densenet": _densenet, "vit": _vit,
    "segmentation": _segmentation,
}


# -------------------------------------------------------------------------------------------------------- public
def family_names() -> list[str]:
    """Every family name: the generated families, then the registered search spaces."""
    from .. import spaces
    return list(FAMILIES) + spaces.names()


def random_network(family: str, rng: random.Random | int | None = None) -> RandomNetwork:
    """A random network of ``family`` (a generated family or a registered search space) drawn from ``rng``."""
    from .. import spaces
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    if family in _GENERATORS:
        return _GENERATORS[family](rng)
    if family in spaces.names():
        space = spaces.get(family)
        arch = space.sample(rng)
        shape = space.input_shape_for(arch) if hasattr(space, "input_shape_for") else tuple(space.input_shape)
        return RandomNetwork(partial(space.build, arch), tuple(shape), f"{family} {arch}", space, arch)
    raise UnknownNameError(f"no network family {family!r}; families: {', '.join(family_names())}")


def network_graph(net: RandomNetwork) -> CompGraph:
    """The computation graph of a generated network: the space's direct builder, or tracing ``make()`` on meta."""
    from ..convert.trace import trace
    if net.space is not None:
        return net.space.to_graph(net.arch)
    with torch.device("meta"):
        module = net.make()
    return trace(module, net.input_shape, name=type(module).__name__)


def random_graphs(n: int, families: Sequence[str] | None = None, seed: int = 0,
                  progress: bool | None = None) -> list[CompGraph]:
    """``n`` computation graphs cycling through ``families`` (default: every generated family and registered space).

    Graph ``i`` is drawn from ``random.Random(f"{seed}/{i}")`` and has ``meta`` entries ``family``, ``description``,
    ``seed`` and ``index``. ``progress`` shows a bar (``None``: on terminals only).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    names = family_names() if families is None else [families] if isinstance(families, str) else list(families)
    if not names:
        raise ValueError("families is empty; pass None for every family")
    known = set(family_names())
    unknown = [f for f in names if f not in known]
    if unknown:
        raise UnknownNameError(f"no network family {unknown[0]!r}; families: {', '.join(sorted(known))}")
    graphs: list[CompGraph] = []
    with progress_bar(total=n, desc="random graphs", enabled=progress) as bar:
        for i in range(n):
            family = names[i % len(names)]
            net = random_network(family, random.Random(f"{seed}/{i}"))
            g = network_graph(net)
            graphs.append(g.with_meta(family=family, description=net.description, seed=seed, index=i))
            bar.update(1)
    return graphs
