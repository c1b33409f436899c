"""Small but differently shaped networks the tracer is tested on (plain torch, no data-dependent control flow).

Each factory returns ``(module, input_shape)``. Channel counts are kept tiny so the real forward passes that the tests
use as an independent reference stay fast; the structure (branches, shortcuts, concatenations, attention) is what
matters.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: type | None = nn.ReLU,
            dilation: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation=dilation,
                                         groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------------------------------------- ResNet
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.conv1 = conv_bn(cin, width, 3, stride)
        self.conv2 = conv_bn(width, cout, 3, act=None)
        self.down = conv_bn(cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.down(x))


class Bottleneck(BasicBlock):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__(cin, width, stride)
        self.conv1 = nn.Sequential(conv_bn(cin, width, 1), conv_bn(width, width, 3, stride))
        self.conv2 = conv_bn(width, width * self.expansion, 1, act=None)


class ResNet(nn.Module):
    """Two basic-block stages, then two bottleneck stages; strided stages use a 1x1 conv + BN shortcut."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 8, 3), nn.MaxPool2d(3, 2, 1))
        self.layers = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 16, 2), Bottleneck(16, 8), Bottleneck(32, 8),
                                    Bottleneck(32, 16, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


# ------------------------------------------------------------------------------------------------- MobileNetV2 / V3
class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.fc2(F.relu(self.fc1(self.pool(x)))))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, expand: int, k: int = 3, stride: int = 1, se: bool = False,
                 act: type = nn.ReLU6):
        super().__init__()
        mid = cin * expand
        self.expand = conv_bn(cin, mid, 1, act=act) if expand != 1 else nn.Identity()
        self.dw = conv_bn(mid, mid, k, stride, groups=mid, act=act)
        self.se = SqueezeExcite(mid, max(mid // 4, 8)) if se else nn.Identity()
        self.project = conv_bn(mid, cout, 1, act=None)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.residual else y


class MobileNet(nn.Module):
    """A MobileNetV2 block with ReLU6 then MobileNetV3 blocks with hardswish, squeeze-excite and a hardswish head."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 2, act=nn.Hardswish)
        self.blocks = nn.Sequential(
            InvertedResidual(16, 16, 1),                                           # V2, no expansion, residual
            InvertedResidual(16, 24, 4, 3, 2),                                     # V2, strided
            InvertedResidual(24, 24, 3, 3, 1),                                     # V2, residual
            InvertedResidual(24, 40, 3, 5, 2, se=True, act=nn.Hardswish),          # V3, SE
            InvertedResidual(40, 40, 3, 5, 1, se=True, act=nn.Hardswish),          # V3, SE, residual
        )
        self.head = nn.Sequential(conv_bn(40, 96, 1, act=nn.Hardswish), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(96, 128), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(128, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


# -------------------------------------------------------------------------------------------------------- Inception
class InceptionBlock(nn.Module):
    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int):
        super().__init__()
        self.b1 = conv_bn(cin, c1, 1)
        self.b3 = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, c3, 3))
        self.b5 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5, 3), conv_bn(c5, c5, 3))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(cin, cp, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


class InceptionReduce(nn.Module):
    def __init__(self, cin: int, c3: int):
        super().__init__()
        self.b3 = conv_bn(cin, c3, 3, 2)
        self.bp = nn.MaxPool2d(3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.b3(x), self.bp(x)), dim=1)


class Inception(nn.Module):
    """GoogLeNet-style blocks with four branches (one a pooling branch), and a strided two-branch reduction."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = conv_bn(3, 16, 3)
        self.a = InceptionBlock(16, 8, 8, 12, 4, 6, 6)          # -> 32
        self.red = InceptionReduce(32, 16)                       # -> 48
        self.b = InceptionBlock(48, 16, 12, 16, 4, 8, 8)         # -> 48
        self.fc = nn.Linear(48, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.b(self.red(self.a(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


# --------------------------------------------------------------------------------------------------------- DenseNet
class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.net = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1, bias=False),
                                 nn.BatchNorm2d(4 * growth), nn.ReLU(), nn.Conv2d(4 * growth, growth, 3, 1, 1,
                                                                                    bias=False))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.net(torch.cat(features, 1))


class DenseBlock(nn.Module):
    def __init__(self, layers: int, cin: int, growth: int):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(cin + i * growth, growth) for i in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseNet(nn.Module):
    """Two dense blocks (every layer consumes the concatenation of all earlier features) and a transition."""

    def __init__(self, num_classes: int = 10, growth: int = 6):
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 3, padding=1, bias=False)
        self.block1 = DenseBlock(3, 12, growth)                                        # -> 30
        self.trans = nn.Sequential(nn.BatchNorm2d(30), nn.ReLU(), nn.Conv2d(30, 15, 1, bias=False), nn.AvgPool2d(2))
        self.block2 = DenseBlock(3, 15, growth)                                        # -> 33
        self.norm = nn.BatchNorm2d(33)
        self.fc = nn.Linear(33, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(self.block2(self.trans(self.block1(self.stem(x))))))
        return self.fc(x.mean((2, 3)))


# ------------------------------------------------------------------------------------------------------- ViT blocks
class Attention(nn.Module):
    """Multi-head self-attention written out with matmuls and softmax (as in timm)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(x)


class SDPAttention(Attention):
    """The same attention through ``F.scaled_dot_product_attention``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d))


class TorchAttention(nn.Module):
    """Self-attention through ``nn.MultiheadAttention``."""

    def __init__(self, dim: int, heads: int, batch_first: bool = True):
        super().__init__()
        self.batch_first = batch_first
        self.mha = nn.MultiheadAttention(dim, heads, batch_first=batch_first)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.batch_first:
            return self.mha(x, x, x)[0]
        x = x.transpose(0, 1)
        return self.mha(x, x, x, need_weights=False)[0].transpose(0, 1)


class Block(nn.Module):
    def __init__(self, dim: int, attn: nn.Module, mlp_ratio: int = 2):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), attn
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Dropout(0.1),
                                 nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Patch embedding conv, cls token and position embedding parameters, then four transformer blocks using
    hand-written attention, SDPA, and ``nn.MultiheadAttention`` (batch first and sequence first)."""

    def __init__(self, num_classes: int = 10, dim: int = 32, heads: int = 4, patch: int = 4, image: int = 16):
        super().__init__()
        tokens = (image // patch) ** 2
        self.patch = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens + 1, dim))
        self.drop = nn.Dropout(0.1)
        self.blocks = nn.Sequential(Block(dim, Attention(dim, heads)), Block(dim, SDPAttention(dim, heads)),
                                    Block(dim, TorchAttention(dim, heads)),
                                    Block(dim, TorchAttention(dim, heads, batch_first=False)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.blocks(self.drop(x + self.pos_embed))
        return self.head(self.norm(x)[:, 0])


# ------------------------------------------------------------------------------------------------------------ DARTS
class Zero(nn.Module):
    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.) if self.stride == 1 else x[:, :, ::self.stride, ::self.stride].mul(0.)


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1):
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


class DilConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int, dilation: int):
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cin, k, stride, dilation * (k - 1) // 2, dilation, cin, bias=False),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))


class SepConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int):
        super().__init__(DilConv(cin, cin, k, stride, 1), DilConv(cin, cout, k, 1, 1))


class FactorizedReduce(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.conv2 = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv1(x), self.conv2(x[:, :, 1:, 1:])], dim=1))


def darts_op(name: str, c: int, stride: int) -> nn.Module:
    return {
        "none": lambda: Zero(stride),
        "skip_connect": lambda: nn.Identity() if stride == 1 else FactorizedReduce(c, c),
        "max_pool_3x3": lambda: nn.MaxPool2d(3, stride, 1),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride, 1, count_include_pad=False),
        "sep_conv_3x3": lambda: SepConv(c, c, 3, stride),
        "sep_conv_5x5": lambda: SepConv(c, c, 5, stride),
        "dil_conv_3x3": lambda: DilConv(c, c, 3, stride, 2),
        "dil_conv_5x5": lambda: DilConv(c, c, 5, stride, 2),
    }[name]()


#: (op, input) pairs, two per intermediate node; inputs 0 and 1 are the two previous cells.
NORMAL = [("sep_conv_3x3", 0), ("skip_connect", 1), ("dil_conv_3x3", 0), ("sep_conv_5x5", 2),
          ("max_pool_3x3", 1), ("skip_connect", 3), ("none", 2), ("dil_conv_5x5", 4)]
REDUCE = [("max_pool_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("avg_pool_3x3", 2),
          ("none", 1), ("dil_conv_3x3", 3), ("skip_connect", 2), ("sep_conv_5x5", 0)]


class Cell(nn.Module):
    def __init__(self, genotype: list[tuple[str, int]], c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c)
        self.pre1 = ReLUConvBN(c_p, c)
        self.inputs = [i for _, i in genotype]
        self.ops = nn.ModuleList(darts_op(op, c, 2 if reduction and i < 2 else 1) for op, i in genotype)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for j in range(0, len(self.ops), 2):
            states.append(self.ops[j](states[self.inputs[j]]) + self.ops[j + 1](states[self.inputs[j + 1]]))
        return torch.cat(states[2:], dim=1)


class DARTSNet(nn.Module):
    """A DARTS evaluation network: stem, normal and reduction cells wired to their two predecessors."""

    def __init__(self, num_classes: int = 10, c: int = 4, layers: int = 5):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 3 * c, 3, padding=1, bias=False), nn.BatchNorm2d(3 * c))
        c_pp, c_p, cur = 3 * c, 3 * c, c
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            cur = cur * 2 if reduction else cur
            self.cells.append(Cell(REDUCE if reduction else NORMAL, c_pp, c_p, cur, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * cur
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.pool(s1).view(s1.size(0), -1))


# ------------------------------------------------------------------------------------------------- NB201-size cells
class NB201Cell(nn.Module):
    """A NAS-Bench-201-shaped cell: node j sums one op applied to every earlier node."""

    OPS = ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect", "none", "nor_conv_3x3")

    def __init__(self, c: int):
        super().__init__()
        def make(name: str) -> nn.Module:
            if name.startswith("nor_conv"):
                k = int(name[-1])
                return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, 1, k // 2, bias=False), nn.BatchNorm2d(c))
            return {"avg_pool_3x3": lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
                    "skip_connect": nn.Identity, "none": lambda: Zero(1)}[name]()
        self.edges = nn.ModuleList(make(op) for op in self.OPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n1 = self.edges[0](x)
        n2 = self.edges[1](x) + self.edges[2](n1)
        return self.edges[3](x) + self.edges[4](n1) + self.edges[5](n2)


class NB201Like(nn.Module):
    """Stem, three stages of ``cells`` cells joined by strided residual blocks, global pool and classifier: the size
    of a NAS-Bench-201 network (used to profile the tracer)."""

    def __init__(self, c: int = 16, cells: int = 5, num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = [conv_bn(3, c, 3, act=None)]
        for stage in range(3):
            if stage:
                layers.append(BasicBlock(c, 2 * c, 2))
                c *= 2
            layers += [NB201Cell(c) for _ in range(cells)]
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.cells(x))


NETS = {
    "resnet": (ResNet, (3, 32, 32)),
    "mobilenet": (MobileNet, (3, 32, 32)),
    "inception": (Inception, (3, 16, 16)),
    "densenet": (DenseNet, (3, 16, 16)),
    "vit": (ViT, (3, 16, 16)),
    "darts": (DARTSNet, (3, 16, 16)),
}
