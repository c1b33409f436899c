"""Node features of computation graphs for the GNN, and the PyG ``Data`` conversion.

Features per node (GENNAPE's, extended): one-hot op; log-scaled input/output channels, height and width; kernel size
bucket; stride, dilation, grouped and bias flags; log FLOPs and params; resolution relative to the network input; and
a multi-hot op category (so an op a model never saw in training still tells it "a pooling", "a weighted spatial op").
The layout is versioned with :data:`FEATURE_VERSION`; shipped models record the version they were trained with.

The estimator reads the *effective* graph (:func:`live_nodes`): ops whose result is multiplied by zero (the NAS
"none" op), and everything that only feeds them, change nothing the network computes, so the encoder does not see
them. The computation graph itself stays faithful to the module (its FLOPs and params still count them).
"""
from __future__ import annotations

from math import log2, log10, prod
from typing import TYPE_CHECKING

import numpy as np
import torch

from .ops import OP_INDEX, VOCAB

if TYPE_CHECKING:
    from .core import CompGraph, Node, Shape

FEATURE_VERSION = 2
_KERNELS = (1, 3, 5, 7)
#: Coarse op categories (one op may belong to several).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "weighted_spatial": ("conv", "depthwise_conv", "conv_transpose"),
    "weighted_dense": ("linear", "matmul", "attention", "embedding"),
    "norm": ("batchnorm", "layernorm", "groupnorm"),
    "activation": ("relu", "relu6", "leaky_relu", "prelu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish",
                   "hardsigmoid", "softmax"),
    "pool": ("maxpool", "avgpool", "global_avgpool", "global_maxpool"),
    "global": ("global_avgpool", "global_maxpool", "reduce"),
    "merge": ("add", "sub", "mul", "div", "concat"),
    "layout": ("pad", "upsample", "reshape", "transpose", "slice"),
    "zero": ("zero",),
    "io": ("input", "output"),
    "unknown": ("oov",),
}
_CATEGORY_OF: dict[str, list[int]] = {op: [i for i, ops in enumerate(CATEGORIES.values()) if op in ops]
                                      for op in VOCAB}
NUM_NODE_FEATURES = len(VOCAB) + 6 + len(_KERNELS) + 4 + 2 + 1 + len(CATEGORIES)
#: Column positions of the size features (augmentations in contrastive pretraining shift them).
COL_CHANNELS = (len(VOCAB), len(VOCAB) + 1)
COL_SPATIAL = (len(VOCAB) + 2, len(VOCAB) + 3, len(VOCAB) + 4, len(VOCAB) + 5)
COL_FLOPS = len(VOCAB) + 6 + len(_KERNELS) + 4
COL_PARAMS = COL_FLOPS + 1


def chw(shape: Shape) -> tuple[int, int, int]:
    """(C, H, W) view of any shape: images as they are, token sequences (N, D) as (D, N, 1), vectors as (F, 1, 1)."""
    if len(shape) == 0:
        return 1, 1, 1
    if len(shape) == 1:
        return shape[0], 1, 1
    if len(shape) == 2:
        return shape[1], shape[0], 1
    return shape[0], prod(shape[1:-1]), shape[-1]          # exact: numpy's int64 product would overflow


def _log(v: int) -> float:
    return log2(v + 1) / 10.0


def node_features(node: Node, input_hw: int) -> list[float]:
    """The feature vector of one node (``input_hw`` = height of the network input, for relative resolution)."""
    f = [0.0] * NUM_NODE_FEATURES
    f[OP_INDEX.get(node.op, OP_INDEX["oov"])] = 1.0
    ci, hi, wi = chw(node.in_shape)
    co, ho, wo = chw(node.out_shape)
    o = len(VOCAB)
    f[o:o + 6] = [_log(ci), _log(co), _log(hi), _log(ho), _log(wi), _log(wo)]
    o += 6
    if node.kernel:
        k = max(node.kernel)
        f[o + min(range(len(_KERNELS)), key=lambda i: abs(_KERNELS[i] - k))] = 1.0
    o += len(_KERNELS)
    stride = max(node.stride) if node.stride else 1
    dilation = max(node.dilation) if node.dilation else 1
    f[o:o + 4] = [log2(stride), float(dilation > 1), float(node.groups > 1), float(node.bias)]
    o += 4
    f[o:o + 2] = [log10(node.flops + 1) / 10.0, log10(node.params + 1) / 8.0]
    f[o + 2] = ho / max(input_hw, 1)
    o += 3
    for c in _CATEGORY_OF.get(node.op, _CATEGORY_OF["oov"]):
        f[o + c] = 1.0
    return f


def live_nodes(g: CompGraph) -> np.ndarray:
    """Mask of the effective graph: nodes that depend on the input and reach the output, both other than through
    a ``zero`` op. A node fed only by zeros computes a constant; a node feeding only zeros changes nothing."""
    n = g.num_nodes
    alive = [node.op != "zero" for node in g.nodes]
    edges = sorted(g.edges, key=lambda e: e[1])     # topological order: a node's inputs are settled before it
    forward = [False] * n
    forward[0] = True
    for s, d in edges:
        forward[d] = forward[d] or (forward[s] and alive[d])
    backward = [False] * n
    backward[-1] = True
    for s, d in reversed(sorted(g.edges)):          # and its consumers before it, walking back
        backward[s] = backward[s] or (backward[d] and alive[s])
    live = np.array(forward) & np.array(backward)
    live[0] = live[-1] = True
    return live


def graph_features(g: CompGraph, live: np.ndarray | None = None) -> list[float]:
    """Whole-graph descriptors of the (effective, given ``live``) graph: log FLOPs, log params, log node count."""
    nodes = g.nodes if live is None else [n for n, keep in zip(g.nodes, live) if keep]
    return [log10(sum(n.flops for n in nodes) + 1) / 10.0, log10(sum(n.params for n in nodes) + 1) / 8.0,
            log10(max(len(nodes), 1)) / 4.0]


def to_pyg(g: CompGraph, featurizer=None):
    """``torch_geometric.data.Data(x, edge_index, u)`` for ``g`` (``u``: graph features, shape (1, 3))."""
    from torch_geometric.data import Data
    input_hw = chw(g.nodes[0].out_shape)[1]
    feats = featurizer(g) if featurizer is not None else [node_features(n, input_hw) for n in g.nodes]
    x = torch.tensor(np.asarray(feats, dtype=np.float32))
    edge_index = torch.tensor(np.asarray(g.edges, dtype=np.int64).reshape(-1, 2).T.copy())
    u = torch.tensor([graph_features(g)], dtype=torch.float32)
    return Data(x=x, edge_index=edge_index, u=u, num_nodes=g.num_nodes)
