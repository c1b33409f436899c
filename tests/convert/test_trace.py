"""The tracer on six differently shaped networks (tests/nets.py), checked against independent counts.

FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` counts 2 * multiply-accumulates of the matrix ops torch runs
(``aten.convolution``, ``aten.addmm``/``mm`` for linear layers, ``aten.bmm`` for attention products; SDPA is forced onto
its math kernel so it also runs as bmm). It counts nothing for pooling, norms or elementwise ops. So we compare:

* ``aten.convolution``                       == 2 * sum of our ``conv`` + ``depthwise_conv`` + ``conv_transpose`` FLOPs
* ``aten.addmm + mm + bmm + baddbmm``       == 2 * sum of our ``linear`` + ``matmul`` + ``attention`` FLOPs

(``nn.MultiheadAttention`` is one ``attention`` node for us, projections included, but addmm + bmm for torch, which is
why the matrix ops are compared as one sum.)
"""
from __future__ import annotations

import json
import operator
import random
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import nape_plugin as nape
from nape_plugin import CompGraph
from tests.convert.nets import NETS, NB201Like

CONV_OPS = ("conv", "depthwise_conv", "conv_transpose")
MATRIX_OPS = ("linear", "matmul", "attention")

#: Op counts worked out by hand from the definitions in tests/nets.py.
EXPECTED_COUNTS = {
    "resnet": {"conv": 17, "batchnorm": 17, "add": 5, "relu": 14, "maxpool": 1, "global_avgpool": 1, "linear": 1,
               "reshape": 1, "depthwise_conv": 0},
    "mobilenet": {"depthwise_conv": 5, "conv": 15, "batchnorm": 16, "mul": 2, "hardsigmoid": 2, "hardswish": 7,
                  "relu6": 5, "relu": 2, "add": 3, "global_avgpool": 3, "linear": 2},
    "inception": {"conv": 16, "maxpool": 3, "concat": 3, "global_avgpool": 1, "linear": 1, "add": 0},
    "densenet": {"conv": 14, "batchnorm": 14, "concat": 6, "avgpool": 1, "global_avgpool": 1, "linear": 1},
    "vit": {"conv": 1, "linear": 13, "matmul": 2, "attention": 3, "softmax": 1, "layernorm": 9, "gelu": 4,
            "concat": 1, "add": 9},
    "darts": {"depthwise_conv": 28, "slice": 6, "zero": 5, "concat": 9, "add": 20, "maxpool": 5, "avgpool": 2,
              "linear": 1},
}


def _module(name: str, device: str = "cpu") -> tuple[nn.Module, tuple[int, ...]]:
    cls, shape = NETS[name]
    torch.manual_seed(0)
    with torch.device(device):
        return cls(), shape


@pytest.fixture(scope="module")
def traced() -> dict[str, tuple[nn.Module, tuple[int, ...], CompGraph]]:
    out = {}
    for name in NETS:
        module, shape = _module(name)
        out[name] = (module, shape, nape.to_graph(module, input_shape=shape))
    return out


def _flop_counts(name: str) -> tuple[int, int]:
    """(convolution, matrix-product) FLOPs torch counts for one forward pass (on meta tensors: FlopCounterMode counts
    from shapes, so real data would only cost time)."""
    module, shape = _module(name, "meta")
    module.eval()
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):
        module(torch.empty(1, *shape, device="meta"))
    counts = {str(k).split(".")[-1]: v for k, v in counter.get_flop_counts()["Global"].items()}
    conv = counts.pop("convolution", 0)
    matrix = sum(counts.pop(k, 0) for k in ("addmm", "mm", "bmm", "baddbmm"))
    assert not counts, f"FlopCounterMode counted ops this test does not compare: {counts}"
    return conv, matrix


@pytest.mark.parametrize("name", list(NETS))
def test_params_equal_module_parameters(traced, name):
    module, _, g = traced[name]
    assert g.params == sum(p.numel() for p in module.parameters())
    assert "unused_params" not in g.meta


@pytest.mark.parametrize("name", list(NETS))
def test_flops_match_flop_counter(traced, name):
    conv, matrix = _flop_counts(name)
    g = traced[name][2]
    assert 2 * sum(n.flops for n in g.nodes if n.op in CONV_OPS) == conv
    assert 2 * sum(n.flops for n in g.nodes if n.op in MATRIX_OPS) == matrix
    assert conv + matrix > 0


@pytest.mark.parametrize("name", list(NETS))
def test_op_counts(traced, name):
    g = traced[name][2]
    counts = Counter(g.ops)
    assert {op: counts.get(op, 0) for op in EXPECTED_COUNTS[name]} == EXPECTED_COUNTS[name]
    assert counts["input"] == counts["output"] == 1
    assert "oov" not in counts and "oov" not in g.meta
    assert "identity" not in counts              # dropout / nn.Identity / getitem of tuples are removed


@pytest.mark.parametrize("name", list(NETS))
def test_meta_device_gives_the_same_graph(traced, name):
    g = traced[name][2]
    meta_module, shape = _module(name, "meta")
    assert next(meta_module.parameters()).is_meta
    gm = nape.to_graph(meta_module, input_shape=shape)
    assert gm == g and hash(gm) == hash(g)
    assert gm.nodes == g.nodes and [n.name for n in gm.nodes] == [n.name for n in g.nodes]
    assert gm.edges == g.edges


@pytest.mark.parametrize("name", list(NETS))
def test_renumbering_keeps_equality_and_hash(traced, name):
    g = traced[name][2]
    rng = random.Random(0)
    perm = list(range(g.num_nodes))
    rng.shuffle(perm)                        # perm[new] = old
    where = {old: new for new, old in enumerate(perm)}
    edges = [(where[s], where[d]) for s, d in g.edges]
    rng.shuffle(edges)
    g2 = CompGraph.from_edges([g.nodes[i] for i in perm], edges, g.meta)
    assert g2 == g and hash(g2) == hash(g) and g2.fingerprint == g.fingerprint
    assert g2.ops[0] == "input" and g2.ops[-1] == "output"
    assert sorted(g2.ops) == sorted(g.ops)


@pytest.mark.parametrize("name", list(NETS))
def test_json_round_trip(traced, name, tmp_path):
    g = traced[name][2]
    g2 = CompGraph.from_json(g.to_json())
    assert g2 == g and g2.to_dict() == g.to_dict()
    path = tmp_path / f"{name}.json"
    g.to_json(path, indent=1)
    g3 = nape.to_graph(path)
    assert g3.to_dict() == json.loads(path.read_text()) and g3 == g


@pytest.mark.parametrize("name", list(NETS))
def test_summary_is_readable(traced, name):
    g = traced[name][2]
    text = g.summary(max_rows=None)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["#", "op", "in"]
    assert len(lines) == g.num_nodes + 5
    assert f"params {g.params:,}" in text and f"nodes {g.num_nodes}" in text
    counts = Counter(g.ops)
    assert f"conv x{counts['conv']}" in text
    short = g.summary(max_rows=10)
    assert f"... {g.num_nodes - 10} more nodes" in short


def test_traced_flops_and_shapes_of_a_resnet_block():
    """Hand-checked values for one block: conv MACs = H*W*Cout*Cin*k*k."""
    from tests.convert.nets import BasicBlock
    g = nape.to_graph(BasicBlock(8, 16, 2), input_shape=(8, 16, 16))
    convs = [n for n in g.nodes if n.op == "conv"]
    assert [(n.in_shape, n.out_shape, n.kernel, n.stride) for n in convs] == [
        ((8, 16, 16), (16, 8, 8), (3, 3), (2, 2)), ((16, 8, 8), (16, 8, 8), (3, 3), (1, 1)),
        ((8, 16, 16), (16, 8, 8), (1, 1), (2, 2))]
    assert [n.flops for n in convs] == [8 * 8 * 16 * 8 * 9, 8 * 8 * 16 * 16 * 9, 8 * 8 * 16 * 8]
    assert [n.params for n in convs] == [16 * 8 * 9, 16 * 16 * 9, 16 * 8]
    add = g.nodes[next(i for i, op in enumerate(g.ops) if op == "add")]
    assert add.in_shape == add.out_shape == (16, 8, 8)


def test_trace_restores_training_flags_and_leaves_weights_alone():
    module, shape = _module("resnet")
    module.train()
    module.layers[1].eval()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    nape.to_graph(module, input_shape=shape)
    assert module.training and not module.layers[1].training and module.layers[2].training
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_nb201_sized_network_on_meta():
    with torch.device("meta"):
        module = NB201Like()
    g = nape.to_graph(module, input_shape=(3, 32, 32))
    assert g.params == sum(p.numel() for p in module.parameters())
    assert 200 < g.num_nodes < 300


# --------------------------------------------------------------------------------------- every op mapping, exercised
class Fn(nn.Module):
    """``forward(x) = fn(self, x)``; keyword tensors become parameters (``buf_*``: buffers)."""

    def __init__(self, fn, **tensors: torch.Tensor):
        super().__init__()
        self.fn = fn
        for k, v in tensors.items():
            if k.startswith("buf_"):
                self.register_buffer(k, v)
            else:
                setattr(self, k, nn.Parameter(v))

    def forward(self, x):
        return self.fn(self, x)


class MHA(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x)[0]


def _r(t):
    return t.relu()


w = torch.randn
I = "identity"           # removed by simplify: the graph is input -> relu -> output
C, CHW, CDHW, NC, V = (4, 10), (4, 6, 6), (2, 4, 4, 4), (5, 8), (8,)
#: (mapping key, module, input shape, expected op[, input dtype])
CASES = [
    (nn.Conv1d, nn.Conv1d(4, 6, 3), C, "conv"), (nn.Conv2d, nn.Conv2d(4, 6, 3), CHW, "conv"),
    (nn.Conv3d, nn.Conv3d(2, 4, 3), CDHW, "conv"),
    (nn.ConvTranspose1d, nn.ConvTranspose1d(4, 6, 2, 2), C, "conv_transpose"),
    (nn.ConvTranspose2d, nn.ConvTranspose2d(4, 6, 2, 2), CHW, "conv_transpose"),
    (nn.ConvTranspose3d, nn.ConvTranspose3d(2, 4, 2, 2), CDHW, "conv_transpose"),
    (nn.Linear, nn.Linear(8, 4), V, "linear"),
    (nn.BatchNorm1d, nn.BatchNorm1d(8), V, "batchnorm"), (nn.BatchNorm2d, nn.BatchNorm2d(4), CHW, "batchnorm"),
    (nn.BatchNorm3d, nn.BatchNorm3d(2), CDHW, "batchnorm"), (nn.SyncBatchNorm, nn.SyncBatchNorm(4), CHW, "batchnorm"),
    (nn.LayerNorm, nn.LayerNorm(8), NC, "layernorm"), (nn.GroupNorm, nn.GroupNorm(2, 4), CHW, "groupnorm"),
    (nn.InstanceNorm1d, nn.InstanceNorm1d(4, affine=True), C, "groupnorm"),
    (nn.InstanceNorm2d, nn.InstanceNorm2d(4), CHW, "groupnorm"),
    (nn.ReLU, nn.ReLU(), CHW, "relu"), (nn.ReLU6, nn.ReLU6(), CHW, "relu6"),
    (nn.LeakyReLU, nn.LeakyReLU(), CHW, "leaky_relu"), (nn.PReLU, nn.PReLU(4), CHW, "prelu"),
    (nn.ELU, nn.ELU(), CHW, "elu"), (nn.SELU, nn.SELU(), CHW, "elu"), (nn.CELU, nn.CELU(), CHW, "elu"),
    (nn.GELU, nn.GELU(), CHW, "gelu"), (nn.SiLU, nn.SiLU(), CHW, "silu"), (nn.Sigmoid, nn.Sigmoid(), CHW, "sigmoid"),
    (nn.Tanh, nn.Tanh(), CHW, "tanh"), (nn.Hardswish, nn.Hardswish(), CHW, "hardswish"),
    (nn.Hardsigmoid, nn.Hardsigmoid(), CHW, "hardsigmoid"), (nn.Softmax, nn.Softmax(1), CHW, "softmax"),
    (nn.LogSoftmax, nn.LogSoftmax(1), CHW, "softmax"), (nn.Hardtanh, nn.Hardtanh(0.0, 6.0), CHW, "relu6"),
    (nn.MaxPool1d, nn.MaxPool1d(2), C, "maxpool"), (nn.MaxPool2d, nn.MaxPool2d(2), CHW, "maxpool"),
    (nn.MaxPool3d, nn.MaxPool3d(2), CDHW, "maxpool"), (nn.AvgPool1d, nn.AvgPool1d(2), C, "avgpool"),
    (nn.AvgPool2d, nn.AvgPool2d(2), CHW, "avgpool"), (nn.AvgPool3d, nn.AvgPool3d(2), CDHW, "avgpool"),
    (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool1d(1), C, "global_avgpool"),
    (nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool2d(3), CHW, "avgpool"),
    (nn.AdaptiveAvgPool3d, nn.AdaptiveAvgPool3d(1), CDHW, "global_avgpool"),
    (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool1d(1), C, "global_maxpool"),
    (nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool2d(1), CHW, "global_maxpool"),
    (nn.AdaptiveMaxPool3d, nn.AdaptiveMaxPool3d(2), CDHW, "maxpool"),
    (nn.Flatten, nn.Flatten(), CHW, "reshape"), (nn.Unflatten, nn.Unflatten(1, (2, 4)), V, "reshape"),
    (nn.Identity, nn.Sequential(nn.ReLU(), nn.Identity()), CHW, I),
    (nn.Dropout, nn.Sequential(nn.ReLU(), nn.Dropout()), CHW, I),
    (nn.Dropout1d, nn.Sequential(nn.ReLU(), nn.Dropout1d()), C, I),
    (nn.Dropout2d, nn.Sequential(nn.ReLU(), nn.Dropout2d()), CHW, I),
    (nn.Dropout3d, nn.Sequential(nn.ReLU(), nn.Dropout3d()), CDHW, I),
    (nn.AlphaDropout, nn.Sequential(nn.ReLU(), nn.AlphaDropout()), CHW, I),
    (nn.Upsample, nn.Upsample(scale_factor=2), CHW, "upsample"),
    (nn.UpsamplingNearest2d, nn.UpsamplingNearest2d(scale_factor=2), CHW, "upsample"),
    (nn.UpsamplingBilinear2d, nn.UpsamplingBilinear2d(scale_factor=2), CHW, "upsample"),
    (nn.PixelShuffle, nn.PixelShuffle(2), (8, 3, 3), "reshape"), (nn.ZeroPad2d, nn.ZeroPad2d(1), CHW, "pad"),
    (nn.ConstantPad1d, nn.ConstantPad1d(1, 0.0), C, "pad"), (nn.ConstantPad2d, nn.ConstantPad2d(1, 0.0), CHW, "pad"),
    (nn.ConstantPad3d, nn.ConstantPad3d(1, 0.0), CDHW, "pad"), (nn.ReflectionPad1d, nn.ReflectionPad1d(1), C, "pad"),
    (nn.ReflectionPad2d, nn.ReflectionPad2d(1), CHW, "pad"), (nn.ReplicationPad1d, nn.ReplicationPad1d(1), C, "pad"),
    (nn.ReplicationPad2d, nn.ReplicationPad2d(1), CHW, "pad"),
    (nn.MultiheadAttention, MHA(), NC, "attention"),
    (nn.Embedding, nn.Embedding(10, 4), (6,), "embedding", torch.long),
    # functions
    (operator.add, Fn(lambda m, x: x + _r(x)), CHW, "add"),
    (torch.add, Fn(lambda m, x: torch.add(x, _r(x))), CHW, "add"),
    (operator.sub, Fn(lambda m, x: x - _r(x)), CHW, "sub"),
    (torch.sub, Fn(lambda m, x: torch.sub(x, _r(x))), CHW, "sub"),
    (operator.mul, Fn(lambda m, x: x * _r(x)), CHW, "mul"),
    (torch.mul, Fn(lambda m, x: torch.mul(x, _r(x))), CHW, "mul"),
    (operator.truediv, Fn(lambda m, x: x / _r(x)), CHW, "div"),
    (torch.div, Fn(lambda m, x: torch.div(x, _r(x))), CHW, "div"),
    (operator.matmul, Fn(lambda m, x: x @ x.transpose(1, 2)), NC, "matmul"),
    (torch.matmul, Fn(lambda m, x: torch.matmul(x, m.w), w=w(8, 3)), NC, "matmul"),
    (torch.bmm, Fn(lambda m, x: torch.bmm(x, x.transpose(1, 2))), NC, "matmul"),
    (torch.mm, Fn(lambda m, x: torch.mm(x, m.w), w=w(8, 3)), V, "matmul"),
    (torch.cat, Fn(lambda m, x: torch.cat([x, _r(x)], 1)), CHW, "concat"),
    (torch.concat, Fn(lambda m, x: torch.concat([x, _r(x)], 1)), CHW, "concat"),
    (torch.stack, Fn(lambda m, x: torch.stack([x, _r(x)], 1)), CHW, "concat"),
    (operator.getitem, Fn(lambda m, x: x[:, 1:]), CHW, "slice"),
    (torch.relu, Fn(lambda m, x: torch.relu(x)), CHW, "relu"), (F.relu, Fn(lambda m, x: F.relu(x)), CHW, "relu"),
    (F.relu6, Fn(lambda m, x: F.relu6(x)), CHW, "relu6"),
    (F.hardtanh, Fn(lambda m, x: F.hardtanh(x, 0.0, 6.0)), CHW, "relu6"),
    (torch.clamp, Fn(lambda m, x: torch.clamp(x, 0, 6)), CHW, "relu6"),
    (torch.clip, Fn(lambda m, x: torch.clip(x, 0)), CHW, "relu"),
    (torch.sigmoid, Fn(lambda m, x: torch.sigmoid(x)), CHW, "sigmoid"),
    (torch.tanh, Fn(lambda m, x: torch.tanh(x)), CHW, "tanh"), (F.gelu, Fn(lambda m, x: F.gelu(x)), CHW, "gelu"),
    (F.silu, Fn(lambda m, x: F.silu(x)), CHW, "silu"), (F.hardswish, Fn(lambda m, x: F.hardswish(x)), CHW, "hardswish"),
    (F.hardsigmoid, Fn(lambda m, x: F.hardsigmoid(x)), CHW, "hardsigmoid"),
    (F.leaky_relu, Fn(lambda m, x: F.leaky_relu(x)), CHW, "leaky_relu"), (F.elu, Fn(lambda m, x: F.elu(x)), CHW, "elu"),
    (F.softmax, Fn(lambda m, x: F.softmax(x, 1)), CHW, "softmax"),
    (torch.softmax, Fn(lambda m, x: torch.softmax(x, 1)), CHW, "softmax"),
    (F.log_softmax, Fn(lambda m, x: F.log_softmax(x, 1)), CHW, "softmax"),
    (F.max_pool1d, Fn(lambda m, x: F.max_pool1d(x, 2)), C, "maxpool"),
    (F.max_pool2d, Fn(lambda m, x: F.max_pool2d(x, 3, 1, 1)), CHW, "maxpool"),
    (F.max_pool3d, Fn(lambda m, x: F.max_pool3d(x, 2)), CDHW, "maxpool"),
    (F.avg_pool1d, Fn(lambda m, x: F.avg_pool1d(x, 2)), C, "avgpool"),
    (F.avg_pool2d, Fn(lambda m, x: F.avg_pool2d(x, 2)), CHW, "avgpool"),
    (F.avg_pool3d, Fn(lambda m, x: F.avg_pool3d(x, 2)), CDHW, "avgpool"),
    (F.adaptive_avg_pool1d, Fn(lambda m, x: F.adaptive_avg_pool1d(x, 1)), C, "global_avgpool"),
    (F.adaptive_avg_pool2d, Fn(lambda m, x: F.adaptive_avg_pool2d(x, 1)), CHW, "global_avgpool"),
    (F.adaptive_avg_pool3d, Fn(lambda m, x: F.adaptive_avg_pool3d(x, 2)), CDHW, "avgpool"),
    (F.adaptive_max_pool1d, Fn(lambda m, x: F.adaptive_max_pool1d(x, 1)), C, "global_maxpool"),
    (F.adaptive_max_pool2d, Fn(lambda m, x: F.adaptive_max_pool2d(x, 1)), CHW, "global_maxpool"),
    (F.adaptive_max_pool3d, Fn(lambda m, x: F.adaptive_max_pool3d(x, 1)), CDHW, "global_maxpool"),
    (F.pad, Fn(lambda m, x: F.pad(x, (1, 1))), CHW, "pad"),
    (F.interpolate, Fn(lambda m, x: F.interpolate(x, scale_factor=2)), CHW, "upsample"),
    (torch.flatten, Fn(lambda m, x: torch.flatten(x, 1)), CHW, "reshape"),
    (torch.reshape, Fn(lambda m, x: torch.reshape(x, (1, -1))), CHW, "reshape"),
    (torch.squeeze, Fn(lambda m, x: torch.squeeze(x, 1)), (1, 4), "reshape"),
    (torch.unsqueeze, Fn(lambda m, x: torch.unsqueeze(x, 1)), CHW, "reshape"),
    (torch.transpose, Fn(lambda m, x: torch.transpose(x, 1, 2)), CHW, "transpose"),
    (torch.permute, Fn(lambda m, x: torch.permute(x, (0, 2, 1))), NC, "transpose"),
    (torch.mean, Fn(lambda m, x: torch.mean(x, (2, 3))), CHW, "global_avgpool"),
    (torch.sum, Fn(lambda m, x: torch.sum(x, 1)), CHW, "reduce"),
    (torch.chunk, Fn(lambda m, x: torch.chunk(x, 2, 1)[0]), CHW, "slice"),
    (torch.split, Fn(lambda m, x: torch.split(x, 2, 1)[1]), CHW, "slice"),
    (torch.unbind, Fn(lambda m, x: torch.unbind(x, 1)[0]), CHW, "slice"),
    (F.dropout, Fn(lambda m, x: F.dropout(_r(x), 0.5, m.training)), CHW, I),
    (torch.dropout, Fn(lambda m, x: torch.dropout(_r(x), 0.5, False)), CHW, I),
    (F.dropout1d, Fn(lambda m, x: F.dropout1d(_r(x), 0.5, False)), C, I),
    (F.dropout2d, Fn(lambda m, x: F.dropout2d(_r(x), 0.5, False)), CHW, I),
    (F.dropout3d, Fn(lambda m, x: F.dropout3d(_r(x), 0.5, False)), CDHW, I),
    (F.alpha_dropout, Fn(lambda m, x: F.alpha_dropout(_r(x), 0.5, False)), CHW, I),
    (F.linear, Fn(lambda m, x: F.linear(x, m.w, m.b), w=w(4, 8), b=w(4)), V, "linear"),
    (F.conv1d, Fn(lambda m, x: F.conv1d(x, m.w), w=w(6, 4, 3)), C, "conv"),
    (F.conv2d, Fn(lambda m, x: F.conv2d(x, m.w, None, 1, 1, 1, 4), w=w(4, 1, 3, 3)), CHW, "depthwise_conv"),
    (F.conv3d, Fn(lambda m, x: F.conv3d(x, m.w), w=w(4, 2, 3, 3, 3)), CDHW, "conv"),
    (F.conv_transpose1d, Fn(lambda m, x: F.conv_transpose1d(x, m.w, stride=2), w=w(4, 6, 2)), C, "conv_transpose"),
    (F.conv_transpose2d, Fn(lambda m, x: F.conv_transpose2d(x, m.w, stride=2), w=w(4, 6, 2, 2)), CHW,
     "conv_transpose"),
    (F.conv_transpose3d, Fn(lambda m, x: F.conv_transpose3d(x, m.w), w=w(2, 4, 2, 2, 2)), CDHW, "conv_transpose"),
    (F.batch_norm, Fn(lambda m, x: F.batch_norm(x, m.buf_mean, m.buf_var, m.w, m.b), w=w(4), b=w(4),
                      buf_mean=torch.zeros(4), buf_var=torch.ones(4)), CHW, "batchnorm"),
    (F.layer_norm, Fn(lambda m, x: F.layer_norm(x, (8,), m.w, m.b), w=w(8), b=w(8)), NC, "layernorm"),
    (F.group_norm, Fn(lambda m, x: F.group_norm(x, 2, m.w, m.b), w=w(4), b=w(4)), CHW, "groupnorm"),
    (F.instance_norm, Fn(lambda m, x: F.instance_norm(x, None, None, m.w, m.b), w=w(4), b=w(4)), CHW, "groupnorm"),
    (F.embedding, Fn(lambda m, x: F.embedding(x, m.w), w=w(10, 4)), (6,), "embedding", torch.long),
    (F.scaled_dot_product_attention, Fn(lambda m, x: F.scaled_dot_product_attention(x, _r(x), x)), NC, "attention"),
    (torch.zeros_like, Fn(lambda m, x: _r(x) + torch.zeros_like(x)), CHW, "zero"),
    # tensor methods
    ("add", Fn(lambda m, x: x.add(_r(x))), CHW, "add"), ("sub", Fn(lambda m, x: x.sub(_r(x))), CHW, "sub"),
    ("mul", Fn(lambda m, x: x.mul(_r(x))), CHW, "mul"), ("div", Fn(lambda m, x: x.div(_r(x))), CHW, "div"),
    ("matmul", Fn(lambda m, x: x.matmul(x.transpose(1, 2))), NC, "matmul"),
    ("add_", Fn(lambda m, x: _r(x).add_(x)), CHW, "add"), ("sub_", Fn(lambda m, x: _r(x).sub_(x)), CHW, "sub"),
    ("mul_", Fn(lambda m, x: _r(x).mul_(x)), CHW, "mul"), ("div_", Fn(lambda m, x: _r(x).div_(x)), CHW, "div"),
    ("relu", Fn(lambda m, x: x.relu()), CHW, "relu"), ("relu_", Fn(lambda m, x: x.relu_()), CHW, "relu"),
    ("sigmoid", Fn(lambda m, x: x.sigmoid()), CHW, "sigmoid"),
    ("sigmoid_", Fn(lambda m, x: x.sigmoid_()), CHW, "sigmoid"), ("tanh", Fn(lambda m, x: x.tanh()), CHW, "tanh"),
    ("softmax", Fn(lambda m, x: x.softmax(-1)), CHW, "softmax"),
    ("log_softmax", Fn(lambda m, x: x.log_softmax(-1)), CHW, "softmax"),
    ("clamp", Fn(lambda m, x: x.clamp(0, 6)), CHW, "relu6"), ("clamp_", Fn(lambda m, x: x.clamp_(min=0)), CHW, "relu"),
    ("clip", Fn(lambda m, x: x.clip(0, 6)), CHW, "relu6"),
    ("flatten", Fn(lambda m, x: x.flatten(1)), CHW, "reshape"),
    ("reshape", Fn(lambda m, x: x.reshape(1, -1)), CHW, "reshape"),
    ("view", Fn(lambda m, x: x.view(1, -1)), CHW, "reshape"),
    ("squeeze", Fn(lambda m, x: x.squeeze(1)), (1, 4), "reshape"),
    ("unsqueeze", Fn(lambda m, x: x.unsqueeze(1)), CHW, "reshape"),
    ("view_as", Fn(lambda m, x: x.view(1, 4, 36).view_as(x)), CHW, "reshape"),
    ("reshape_as", Fn(lambda m, x: x.reshape(1, 4, 36).reshape_as(x)), CHW, "reshape"),
    ("expand", Fn(lambda m, x: x.expand(1, 3, 4)), (1, 4), "reshape"),
    ("expand_as", Fn(lambda m, x: x.expand_as(torch.zeros(1, 3, 4))), (1, 4), "reshape"),
    ("repeat", Fn(lambda m, x: x.repeat(1, 2, 1)), NC, "reshape"),
    ("permute", Fn(lambda m, x: x.permute(0, 2, 1)), NC, "transpose"),
    ("transpose", Fn(lambda m, x: x.transpose(1, 2)), NC, "transpose"), ("t", Fn(lambda m, x: x.t()), V, "transpose"),
    ("mean", Fn(lambda m, x: x.mean(1)), NC, "global_avgpool"), ("sum", Fn(lambda m, x: x.sum(-1)), CHW, "reduce"),
    ("amax", Fn(lambda m, x: x.amax(1)), CHW, "reduce"), ("max", Fn(lambda m, x: x.max(1)[0]), CHW, "reduce"),
    ("chunk", Fn(lambda m, x: x.chunk(2, 1)[1]), CHW, "slice"),
    ("split", Fn(lambda m, x: x.split(1, 1)[0]), CHW, "slice"),
    ("unbind", Fn(lambda m, x: x.unbind(1)[0]), CHW, "slice"),
    ("narrow", Fn(lambda m, x: x.narrow(1, 0, 2)), CHW, "slice"),
    ("contiguous", Fn(lambda m, x: _r(x).contiguous()), CHW, I), ("clone", Fn(lambda m, x: _r(x).clone()), CHW, I),
    ("detach", Fn(lambda m, x: _r(x).detach()), CHW, I), ("to", Fn(lambda m, x: _r(x).to(torch.float32)), CHW, I),
    ("type", Fn(lambda m, x: _r(x).type(torch.float32)), CHW, I), ("float", Fn(lambda m, x: _r(x).float()), CHW, I),
    ("type_as", Fn(lambda m, x: _r(x).type_as(x)), CHW, I),
    ("new_zeros", Fn(lambda m, x: _r(x) + x.new_zeros((1, 4, 6, 6))), CHW, "zero"),
]


def _fx_targets(module: nn.Module) -> set:
    from nape_plugin.convert.opmap import op_mappings
    from nape_plugin.convert.trace import _Tracer
    graph = _Tracer(op_mappings()[0]).trace(module)
    out = set()
    for n in graph.nodes:
        if n.op == "call_module":
            out.add(type(module.get_submodule(n.target)))
        elif n.op in ("call_function", "call_method"):
            out.add(n.target)
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: getattr(c[0], "__name__", str(c[0])))
def test_op_mapping(case):
    key, module, shape, expected, *dtype = case
    assert key in _fx_targets(nn.Sequential(module)), f"{key} is not what torch.fx records for this case"
    g = nape.to_graph(module, input_shape=shape, input_dtype=dtype[0] if dtype else torch.float32)
    if expected == I:
        assert g.ops == ["input", "relu", "output"]
    else:
        assert expected in g.ops, g.summary()
    assert "oov" not in g.ops
    assert g.params == sum(p.numel() for p in module.parameters())


def test_every_builtin_mapping_has_a_case():
    from nape_plugin.convert.opmap import FUNCTIONS, METHODS, MODULES
    keys = [c[0] for c in CASES]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(MODULES) | set(FUNCTIONS) | set(METHODS)


# ---------------------------------------------------------------------------------------------- out of vocabulary
class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.soft = nn.Softplus()
        self.rms = nn.RMSNorm(8)
        self.tanh = nn.Hardtanh(-1.0, 1.0)

    def forward(self, x):
        return self.tanh(torch.exp(self.rms(self.soft(x)))) + torch.clamp(x, -2, 2)


def test_out_of_vocabulary_ops_are_kept_listed_and_warned():
    expected = r"Odd: 5 op\(s\) out of vocabulary \(Hardtanh, RMSNorm, Softplus, clamp\(-2, 2\), exp\)"
    with pytest.warns(UserWarning, match=expected):
        g = nape.to_graph(Odd(), input_shape=(5, 8))
    assert g.ops.count("oov") == 5
    assert g.meta["oov"] == sorted(["Softplus", "RMSNorm", "exp", "Hardtanh", "clamp(-2, 2)"])
    assert g.oov == ["Softplus", "RMSNorm", "exp", "Hardtanh", "clamp(-2, 2)"]
    assert g.params == 8 and g.nodes[g.ops.index("oov") + 1].params == 8     # RMSNorm's weight stays counted
    assert "out of vocabulary: " in g.summary()
    assert CompGraph.from_json(g.to_json()).meta["oov"] == g.meta["oov"]


def test_flops_of_sequence_first_layouts():
    """Linear layers and matmuls on (N, B, D) tensors: the batch is not the first dimension, FLOPs stay right."""
    class SeqFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 16)

        def forward(self, x):
            y = self.fc(x.transpose(0, 1))                                 # (N, 1, 16)
            return (y.transpose(0, 1) @ y.permute(1, 2, 0)).transpose(0, 1)
    g = nape.to_graph(SeqFirst(), input_shape=(5, 8))
    counter = FlopCounterMode(display=False)
    with counter, torch.device("meta"):
        SeqFirst()(torch.empty(1, 5, 8))
    macs = sum(n.flops for n in g.nodes if n.op in MATRIX_OPS)
    assert 2 * macs == counter.get_total_flops() and macs == 5 * 16 * 8 + 5 * 5 * 16


# ------------------------------------------------------------------------- shape rules agree with running torch
def _fast_rule_cases():
    rng = random.Random(1)
    cases = []
    for _ in range(12):
        k, s, d = rng.choice([1, 2, 3, 5]), rng.choice([1, 2, 3]), rng.choice([1, 2])
        p = rng.randint(0, k // 2)
        size = rng.randint(d * (k - 1) + 1, 12)
        cases += [(nn.Conv2d(4, 6, k, s, p, d, groups=rng.choice([1, 2])), (4, size, size + 1)),
                  (nn.Conv1d(4, 6, k, s, p, d), (4, size)),
                  (nn.MaxPool2d(k, s, p, d, ceil_mode=rng.random() < 0.5), (3, size, size)),
                  (nn.AvgPool2d(k, s, p, ceil_mode=rng.random() < 0.5), (3, size, size + 2)),
                  (nn.AdaptiveAvgPool2d((rng.randint(1, 4), None)), (3, size, size))]
    cases += [(nn.MaxPool2d(2, return_indices=True), (3, 6, 6)), (nn.Linear(6, 3), (5, 6)),
              (nn.LayerNorm((5, 6)), (5, 6)), (nn.BatchNorm1d(4), (4, 7)), (nn.GroupNorm(2, 4), (4, 3, 3))]
    return cases


@pytest.mark.parametrize("module, shape", _fast_rule_cases())
def test_module_shape_rules_match_torch(module, shape):
    from nape_plugin.convert.trace import _run_module
    module.eval()
    want = module(torch.randn(1, *shape))
    got = _run_module(module, (torch.empty(1, *shape, device="meta"),), {}, {})
    want, got = (want, got) if isinstance(want, torch.Tensor) else (want[0], got[0])
    assert got.shape == want.shape and got.is_meta


class T(tuple):
    """A tensor of this shape, in the argument lists below."""


@pytest.mark.parametrize("target, args", [
    (operator.add, (T((2, 1, 4)), T((3, 1)))), (operator.mul, (T((5,)), T(()))), (operator.mul, (T((2, 3)), 0.5)),
    ("sub", (T((1, 3, 4)), T((3, 4)))), (torch.cat, ([T((1, 2, 3)), T((1, 5, 3))], 1)),
    (torch.cat, ([T((1, 2, 3)), T((1, 2, 3))], -1)), (torch.mean, (T((1, 3, 4, 5)), (2, 3))),
    ("mean", (T((1, 3, 4, 5)), -1, True)), (operator.matmul, (T((1, 2, 3, 4)), T((4, 6)))),
    (torch.matmul, (T((2, 1, 3, 4)), T((5, 4, 2)))), (F.adaptive_avg_pool2d, (T((1, 3, 7, 7)), (2, None))),
    (torch.relu, (T((1, 3)),)), (F.scaled_dot_product_attention, (T((1, 2, 5, 4)), T((1, 2, 7, 4)), T((1, 2, 7, 6)))),
])
def test_call_shape_rules_match_torch(target, args):
    from nape_plugin.convert.trace import _run_call

    def make(x, device):
        if isinstance(x, T):
            return torch.randn(x, device=device)
        return [make(i, device) for i in x] if isinstance(x, list) else x
    real = [make(a, "cpu") for a in args]
    want = getattr(real[0], target)(*real[1:]) if isinstance(target, str) else target(*real)
    with torch.device("meta"):
        got = _run_call(target, tuple(make(a, "meta") for a in args), {})
    assert got.shape == want.shape and got.dtype == want.dtype and got.is_meta


def test_call_shape_rules_leave_errors_to_torch():
    from nape_plugin.convert.trace import _run_call
    x, y = torch.empty(1, 3, device="meta"), torch.empty(1, 4, device="meta")
    for target, args in [(operator.add, (x, y)), (torch.cat, ([x, torch.empty(2, 4, device="meta")], 1)),
                         (operator.matmul, (x, y))]:
        with pytest.raises(RuntimeError):
            _run_call(target, args, {})
