"""The network behind the estimator (encoder, optional adapter encoder, head ensemble) and its passes over graphs."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from ..errors import ParameterError
from ..graph.features import NUM_NODE_FEATURES
from ..graph.packed import PackedGraphs
from ..utils.progress import progress_bar
from .clustering import memberships
from .nn import GraphEncoder, HeadEnsemble


def check_batch_size(batch_size: Any) -> None:
    """ParameterError unless ``batch_size`` is a positive int."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive int, got {batch_size!r:.40}")


class GennapeModel(nn.Module):
    """Encoder (+ optional adapter encoder) -> head ensemble; a projection head for the contrastive stage."""

    def __init__(self, conv: str, width: int, layers: int, embed_dim: int, num_heads: int, adapter_width: int = 0,
                 adapter_layers: int = 2, relative: bool = False):
        super().__init__()
        self.encoder = GraphEncoder(NUM_NODE_FEATURES, 3, width, layers, conv, embed_dim, relative=relative)
        self.project = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.ReLU(), nn.Linear(embed_dim, 32))
        self.adapter = GraphEncoder(NUM_NODE_FEATURES, 3, adapter_width, adapter_layers, conv, adapter_width,
                                    relative=relative) if adapter_width else None
        self.heads = HeadEnsemble(embed_dim + adapter_width, num_heads)
        #: 0 for the feature columns that never varied in the labelled training graphs (the one-hot of an op they
        #: never contained, a dilation flag NB101 never sets): the model reads such nodes through the features it
        #: learned, never through untrained weights.
        self.register_buffer("feature_mask", torch.ones(NUM_NODE_FEATURES))

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GennapeModel:
        """The untrained network an estimator with parameters ``params`` (its ``get_params()``) describes."""
        return cls(params["conv"], params["width"], params["layers"], params["embed_dim"], params["num_heads"],
                   relative=params["relative"])

    def embed(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """``(base embedding, head input)``; they differ only when an adapter is attached."""
        x = batch.x * self.feature_mask
        base = self.encoder(x, batch.edge_index, batch.batch, batch.u)
        if self.adapter is None:
            return base, base
        return base, torch.cat([base, self.adapter(x, batch.edge_index, batch.batch, batch.u)], dim=1)

    def attach_adapter(self, width: int, layers: int = 2) -> None:
        """AIO-P's K-adapter: a new small encoder whose embedding is appended; heads start from their old weights."""
        old = self.heads
        conv = "dag" if type(self.encoder.convs[0]).__name__ == "DAGConv" else \
            "gin" if type(self.encoder.convs[0]).__name__ == "GINConv" else "graphconv"
        self.adapter = GraphEncoder(NUM_NODE_FEATURES, 3, width, layers, conv, width, relative=self.encoder.relative)
        self.heads = HeadEnsemble(old.w1.shape[1] + width, old.num_heads, old.w1.shape[2])
        with torch.no_grad():
            self.heads.w1.zero_()
            self.heads.w1[:, : old.w1.shape[1]] = old.w1
            for name in ("b1", "w2", "b2"):
                getattr(self.heads, name).copy_(getattr(old, name))


def cluster_weights(base: Tensor, centers: Tensor, fuzzifier: float) -> Tensor:
    """Fuzzy memberships of base embeddings in the clusters with ``centers``, ``(batch, K)``."""
    return memberships(base, centers.to(base.device, base.dtype), fuzzifier)


def embeddings(model: GennapeModel, packed: PackedGraphs) -> tuple[Tensor, Tensor]:
    """``(base embeddings, head inputs)`` of every graph, in eval mode, without gradients."""
    with torch.no_grad():
        model.eval()
        device = next(model.parameters()).device
        parts = [model.embed(packed.batch(np.arange(i, min(i + 256, len(packed)))).to(device))
                 for i in range(0, len(packed), 256)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


@torch.no_grad()
def embed_packed(model: GennapeModel, packed: PackedGraphs, indices: np.ndarray, base_only: bool = False,
                 batch_size: int = 256) -> np.ndarray:
    """Base embeddings (``base_only``) or head inputs of the graphs at ``indices``, as an array."""
    check_batch_size(batch_size)
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    out = []
    for i in range(0, len(indices), batch_size):
        base, h = model.embed(packed.batch(indices[i:i + batch_size]).to(device))
        out.append((base if base_only else h).cpu().numpy())
    model.train(was)
    return np.concatenate(out)


@torch.no_grad()
def head_outputs(model: GennapeModel, packed: PackedGraphs, centers: Tensor, fuzzifier: float, batch_size: int = 256,
                 progress: bool | None = False) -> tuple[np.ndarray, np.ndarray]:
    """``(memberships (n, K), head outputs (n, K))`` of ``model`` in standardised units."""
    check_batch_size(batch_size)
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    bar = progress_bar(total=len(packed), desc="predict", enabled=progress)
    us, hs = [], []
    for i in range(0, len(packed), batch_size):
        chunk = np.arange(i, min(i + batch_size, len(packed)))
        base, h = model.embed(packed.batch(chunk).to(device))
        us.append(cluster_weights(base, centers, fuzzifier).cpu().numpy())
        hs.append(model.heads(h).cpu().numpy())
        bar.update(len(chunk))
    bar.close()
    model.train(was)
    return np.concatenate(us), np.concatenate(hs)


def mixture(model: GennapeModel, packed: PackedGraphs, centers: Tensor, fuzzifier: float) -> np.ndarray:
    """The membership-weighted mix of the heads of ``model``, per graph, in standardised units."""
    u, heads = head_outputs(model, packed, centers, fuzzifier)
    return (u * heads).sum(1)
