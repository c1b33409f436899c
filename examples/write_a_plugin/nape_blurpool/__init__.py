"""BlurPool2d: anti-aliased downsampling (Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019)."""
from __future__ import annotations

from math import comb

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BlurPool2d"]


class BlurPool2d(nn.Module):
    """Low-pass filter each channel with a fixed binomial kernel, then subsample by ``stride``."""

    def __init__(self, channels: int, kernel_size: int = 3, stride: int = 2):
        super().__init__()
        if kernel_size not in (2, 3, 4, 5):
            raise ValueError(f"kernel_size must be 2..5, got {kernel_size}")
        self.channels, self.kernel_size, self.stride = channels, kernel_size, stride
        row = torch.tensor([float(comb(kernel_size - 1, k)) for k in range(kernel_size)])  # binomial weights
        kernel = row[:, None] * row[None, :]
        self.register_buffer("kernel", (kernel / kernel.sum()).expand(channels, 1, -1, -1).clone())
        left = (kernel_size - 1) // 2
        self.padding = (left, kernel_size - 1 - left, left, kernel_size - 1 - left)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, self.padding, mode="reflect"), self.kernel, stride=self.stride, groups=self.channels)
