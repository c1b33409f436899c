"""Node features: layout, one-hot op, scaled sizes, kernel buckets, flags; the PyG conversion."""
from __future__ import annotations

from math import log2, log10

import numpy as np
import pytest

from nape_plugin import GraphBuilder, Node
from nape_plugin.graph import features as F
from nape_plugin.graph.ops import OP_INDEX, VOCAB

O = len(VOCAB)


def test_layout_constants():
    assert F.NUM_NODE_FEATURES == O + 6 + 4 + 4 + 2 + 1 + len(F.CATEGORIES) == 69
    assert F.COL_CHANNELS == (O, O + 1) and F.COL_SPATIAL == (O + 2, O + 3, O + 4, O + 5)
    assert F.COL_FLOPS == O + 14 and F.COL_PARAMS == O + 15


@pytest.mark.parametrize("shape, expected", [((), (1, 1, 1)), ((10,), (10, 1, 1)), ((17, 32), (32, 17, 1)),
                                             ((16, 8, 4), (16, 8, 4)), ((2, 4, 6, 8), (2, 24, 8))])
def test_chw(shape, expected):
    assert F.chw(shape) == expected


def test_conv_node_features():
    node = Node("depthwise_conv", (16, 32, 32), (16, 16, 16), (5, 5), (2, 2), (2, 2), 16, True, 1000, 416)
    f = np.asarray(F.node_features(node, input_hw=32))
    assert f.shape == (F.NUM_NODE_FEATURES,)
    assert f[:O].sum() == 1 and f[OP_INDEX["depthwise_conv"]] == 1
    assert np.allclose(f[O:O + 6], [log2(17) / 10, log2(17) / 10, log2(33) / 10, log2(17) / 10, log2(33) / 10,
                                    log2(17) / 10])
    assert list(f[O + 6:O + 10]) == [0, 0, 1, 0]                     # kernel 5 bucket
    assert list(f[O + 10:O + 14]) == [1.0, 1.0, 1.0, 1.0]            # log2 stride, dilated, grouped, bias
    assert np.isclose(f[F.COL_FLOPS], log10(1001) / 10) and np.isclose(f[F.COL_PARAMS], log10(417) / 8)
    assert f[O + 16] == 0.5                                           # output resolution / input resolution
    categories = list(F.CATEGORIES)
    assert [categories[i] for i in np.flatnonzero(f[O + 17:])] == ["weighted_spatial"]


def test_every_op_has_a_category_and_unknown_ops_share_one():
    for op in VOCAB:
        f = F.node_features(Node(op), 1)
        assert sum(f[O + 17:]) >= 1, op
    assert F.node_features(Node("oov"), 1)[O + 17:] == F.node_features(Node("oov", name="LSTM"), 1)[O + 17:]
    pool = list(F.CATEGORIES).index("pool")
    assert F.node_features(Node("avgpool"), 1)[O + 17 + pool] == F.node_features(Node("maxpool"), 1)[O + 17 + pool] == 1


def test_live_nodes_drop_what_zero_ops_cut_off():
    b = GraphBuilder((4, 8, 8))
    dead_end = b.conv(b.input, 4, 3)                 # feeds only a zero op: changes nothing
    fed_by_zero = b.conv(b.zero(b.input), 4, 1)       # computes on zeros: a constant
    live = b.conv(b.input, 4, 3)
    g = b.build(b.add([b.zero(dead_end), fed_by_zero, live]))
    mask = F.live_nodes(g)
    kept = {g.nodes[i].op for i in np.flatnonzero(mask)}
    assert kept == {"input", "conv", "add", "output"}
    assert int(mask.sum()) == 4 and [g.nodes[i].flops for i in np.flatnonzero(mask)][1] == live_flops(g, mask)
    assert F.graph_features(g, mask)[0] == pytest.approx(log10(g.nodes[int(np.flatnonzero(mask)[1])].flops + 1) / 10)


def live_flops(g, mask):
    return sum(g.nodes[i].flops for i in np.flatnonzero(mask))


def test_plain_node_features():
    f = F.node_features(Node("relu", (8,), (8,)), input_hw=32)
    assert f[OP_INDEX["relu"]] == 1 and sum(f[:O]) == 1
    assert f[O + 6:O + 14] == [0.0] * 8                               # no kernel, stride 1, no flags
    assert f[F.COL_FLOPS] == f[F.COL_PARAMS] == 0
    assert F.node_features(Node("conv", kernel=(4, 4)), 1)[O + 6:O + 10] == [0, 1, 0, 0]   # nearest bucket (3)
    assert F.node_features(Node("conv", kernel=(9,)), 1)[O + 6:O + 10] == [0, 0, 0, 1]


def test_graph_features_and_pyg():
    pytest.importorskip("torch_geometric")
    b = GraphBuilder((3, 16, 16))
    g = b.build(b.linear(b.flatten(b.global_pool(b.relu(b.bn(b.conv(b.input, 8, 3))))), 10))
    assert np.allclose(F.graph_features(g), [log10(g.flops + 1) / 10, log10(g.params + 1) / 8, log10(g.num_nodes) / 4])
    data = F.to_pyg(g)
    assert data.x.shape == (g.num_nodes, F.NUM_NODE_FEATURES)
    assert np.allclose(data.x.numpy(), [F.node_features(n, 16) for n in g.nodes])
    assert data.edge_index.tolist() == [list(s for s, _ in g.edges), list(d for _, d in g.edges)]
    assert data.u.shape == (1, 3)
    custom = F.to_pyg(g, featurizer=lambda g: [[float(i)] for i in range(g.num_nodes)])
    assert custom.x.shape == (g.num_nodes, 1)
    trivial = GraphBuilder((3,)).build(0)                             # input -> output
    assert F.to_pyg(trivial).edge_index.shape == (2, 1)
