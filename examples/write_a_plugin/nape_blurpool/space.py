"""``blurnet``: a small search space of CNNs that downsample with BlurPool2d, for nape-plugin's search and estimator."""
from __future__ import annotations

from typing import Any

from torch import nn

from nape_plugin.errors import EncodingError
from nape_plugin.graph import CompGraph, GraphBuilder
from nape_plugin.spaces import SearchSpace, as_rng

from . import BlurPool2d


class BlurNetSpace(SearchSpace):
    """One to three stages of 3x3 conv, ReLU and BlurPool2d (stride 2), then a linear classifier; an architecture is
    the tuple of stage widths, e.g. ``(16, 64)``, or its string ``"16-64"``."""

    name = "blurnet"
    input_shape = (3, 32, 32)
    formats = ("tuple", "str")
    WIDTHS = (16, 32, 64)

    def parse(self, arch: Any) -> tuple[int, ...]:
        if isinstance(arch, str):
            arch = tuple(int(w) for w in arch.split("-") if w.strip().isdigit())
        if not isinstance(arch, (tuple, list)) or not 1 <= len(arch) <= 3 or any(w not in self.WIDTHS for w in arch):
            raise EncodingError(f"{arch!r} is not 1 to 3 stage widths from {self.WIDTHS} (e.g. '16-64')")
        return tuple(int(w) for w in arch)

    def encode(self, arch: Any, fmt: str) -> Any:
        arch = self.parse(arch)
        if fmt not in self.formats:
            raise EncodingError(f"blurnet has no format {fmt!r}; formats: {', '.join(self.formats)}")
        return "-".join(map(str, arch)) if fmt == "str" else arch

    def build(self, arch: Any) -> nn.Module:
        layers: list[nn.Module] = []
        channels = self.input_shape[0]
        for width in self.parse(arch):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.ReLU(), BlurPool2d(width)]
            channels = width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, self.num_classes))

    def to_graph(self, arch: Any) -> CompGraph:
        """Built directly: what tracing ``build(arch)`` gives once BlurPool2d is mapped to ``avgpool`` (plugin.py)."""
        b = GraphBuilder(self.input_shape)
        x = b.input
        for width in self.parse(arch):
            x = b.pool("avg", b.relu(b.conv(x, width, 3)), 3, 2, padding=1)
        return b.build(b.linear(b.flatten(b.global_pool(x)), self.num_classes))

    def sample(self, rng: Any = None) -> tuple[int, ...]:
        rng = as_rng(rng)
        return tuple(rng.choice(self.WIDTHS) for _ in range(rng.randint(1, 3)))

    def neighbours(self, arch: Any) -> list[tuple[int, ...]]:
        arch = self.parse(arch)
        wider = [arch[:i] + (w,) + arch[i + 1:] for i in range(len(arch)) for w in self.WIDTHS if w != arch[i]]
        deeper = [arch + (w,) for w in self.WIDTHS] if len(arch) < 3 else []
        return wider + deeper + ([arch[:-1]] if len(arch) > 1 else [])
