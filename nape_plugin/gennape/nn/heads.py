"""An ensemble of MLP regression heads over graph embeddings."""
from __future__ import annotations

import torch
from torch import Tensor, nn


class HeadEnsemble(nn.Module):
    """``num_heads`` independent MLPs ``embed_dim -> hidden -> 1``, evaluated in one batched matmul.

    ``forward`` returns ``(batch, num_heads)``.
    """

    def __init__(self, embed_dim: int, num_heads: int = 4, hidden: int = 64):
        super().__init__()
        self.num_heads = num_heads
        self.w1 = nn.Parameter(torch.empty(num_heads, embed_dim, hidden))
        self.b1 = nn.Parameter(torch.empty(num_heads, hidden))
        self.w2 = nn.Parameter(torch.empty(num_heads, hidden, 1))
        self.b2 = nn.Parameter(torch.empty(num_heads, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w, b in ((self.w1, self.b1), (self.w2, self.b2)):
            bound = 1.0 / w.shape[1] ** 0.5
            nn.init.uniform_(w, -bound, bound)
            nn.init.uniform_(b, -bound, bound)

    def forward(self, z: Tensor) -> Tensor:
        h = torch.relu(torch.einsum("bd,kdh->bkh", z, self.w1) + self.b1)
        return (torch.einsum("bkh,kho->bko", h, self.w2) + self.b2).squeeze(-1)
