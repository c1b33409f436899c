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
import random
from collections import Counter

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import nape_plugin as nape
from nape_plugin import CompGraph
from nets import NETS, NB201Like

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


def _flop_counts(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    module.eval()
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):
        module(torch.randn(1, *shape))
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
    module, shape, g = traced[name]
    conv, matrix = _flop_counts(module, shape)
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
    from nets import BasicBlock
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
