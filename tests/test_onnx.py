"""ONNX models become the same computation graphs as tracing the torch modules they were exported from.

Exports use torch's TorchScript exporter (``dynamo=False``) in training mode, which keeps batch norm as an op (eval
mode folds it into the conv: see ``test_eval_mode_export_folds_batchnorm``). Known, documented differences:
the exporter merges identical parameter-free ops on the same input (two ``ReLU(x)`` become one), and transformer
attention is exported as matmul/softmax arithmetic (GELU too, before opset 20).
"""
from __future__ import annotations

import io
import warnings
from collections import Counter

import pytest
import torch
from torch import nn

import nape_plugin as nape
from nape_plugin.errors import ConversionError, ShapeError
from nets import NETS

onnx = pytest.importorskip("onnx")

CONV_OPS = ("conv", "depthwise_conv", "conv_transpose")
MATRIX_OPS = ("linear", "matmul", "attention")


def export(module: nn.Module, shape, training: bool = True, opset: int = 17, fold: bool = False, **kwargs):
    buf = io.BytesIO()
    mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(1, *shape),), buf, dynamo=False, training=mode, opset_version=opset,
                          do_constant_folding=fold, **kwargs)
    return onnx.load_from_string(buf.getvalue())


def net(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    cls, shape = NETS[name]
    torch.manual_seed(0)
    return cls(), shape


def flops(g, ops) -> int:
    return sum(n.flops for n in g.nodes if n.op in ops)


@pytest.mark.parametrize("name, fold", [("resnet", False), ("mobilenet", False), ("mobilenet", True),
                                        ("inception", False), ("densenet", True)])
def test_cnn_export_equals_trace(name, fold):
    """``fold``: the exporter's constant folding (Clip bounds and shape arithmetic become initializers)."""
    module, shape = net(name)
    traced = nape.to_graph(module, input_shape=shape)
    g = nape.to_graph(export(module, shape, fold=fold))
    assert g == traced and g.nodes == traced.nodes                # ops, shapes, kernels, FLOPs, params per node
    assert Counter(g.ops) == Counter(traced.ops)
    assert g.params == traced.params == sum(p.numel() for p in module.parameters())
    assert flops(g, CONV_OPS) == flops(traced, CONV_OPS)
    assert g.meta["source"] == "onnx" and g.meta["opset"] == 17 and g.meta["input_shape"] == list(shape)


def test_darts_export_differs_only_by_merged_relus():
    module, shape = net("darts")
    traced = nape.to_graph(module, input_shape=shape)
    g = nape.to_graph(export(module, shape))
    ours, theirs = Counter(g.ops), Counter(traced.ops)
    assert ours["relu"] < theirs["relu"]                          # ReLU(s0) shared by two cell ops is exported once
    assert {k: v for k, v in ours.items() if k != "relu"} == {k: v for k, v in theirs.items() if k != "relu"}
    assert g.params == traced.params and g.flops == traced.flops
    assert ours["slice"] == 6                                     # x[:, :, 1:, 1:] is two Slice ops: joined back


def test_vit_export_keeps_params_and_flops():
    module, shape = net("vit")
    traced = nape.to_graph(module, input_shape=shape)
    g = nape.to_graph(export(module, shape, opset=20))
    assert g.params == traced.params
    assert flops(g, CONV_OPS) == flops(traced, CONV_OPS) and flops(g, MATRIX_OPS) == flops(traced, MATRIX_OPS)
    ops = Counter(g.ops)
    assert ops["gelu"] == 4 and ops["layernorm"] == 9 and ops["attention"] == 0 and ops["softmax"] == 4
    assert ops["linear"] == 17                                    # MatMul + Add of a bias is one linear


def test_eval_mode_export_folds_batchnorm():
    module, shape = net("resnet")
    for m in module.modules():                # random statistics, so that no two folded biases are equal (the
        if isinstance(m, nn.BatchNorm2d):     # exporter stores equal initializers once)
            for t in (m.weight, m.bias, m.running_mean):
                t.data.uniform_(0.5, 1.5)
    traced = nape.to_graph(module, input_shape=shape)
    g = nape.to_graph(export(module.eval(), shape, training=False, fold=True))
    assert "batchnorm" not in g.ops and g.ops.count("conv") == traced.ops.count("conv")
    assert all(n.bias for n in g.nodes if n.op == "conv")        # BN's shift became the conv bias
    assert flops(g, CONV_OPS) == flops(traced, CONV_OPS)
    bn = sum(p.numel() for m in module.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())
    assert g.params == traced.params - bn // 2                    # scale folded into the weights, shift kept as bias


def test_paths_and_silu(tmp_path):
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SiLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    model = export(module, (3, 8, 8))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    traced = nape.to_graph(module, input_shape=(3, 8, 8))
    for obj in (model, path, str(path)):
        g = nape.to_graph(obj)
        assert g == traced and g.ops == ["input", "conv", "silu", "reshape", "linear", "output"]
    assert nape.to_graph(model, name="tiny").meta["model"] == "tiny"


def test_symbolic_dimensions_and_input_shape():
    module = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                           nn.Linear(4, 2))
    model = export(module, (3, 8, 8), dynamic_axes={"input": {0: "batch", 2: "h", 3: "w"}}, input_names=["input"])
    with pytest.raises(ShapeError, match=r"input 'input' has symbolic dimensions \['batch', 3, 'h', 'w'\]; pass"):
        nape.to_graph(model)
    g = nape.to_graph(model, input_shape=(3, 16, 16))
    assert g == nape.to_graph(module, input_shape=(3, 16, 16))
    batch_only = export(module, (3, 8, 8), dynamic_axes={"input": {0: "batch"}}, input_names=["input"])
    assert nape.to_graph(batch_only) == nape.to_graph(module, input_shape=(3, 8, 8))
    with pytest.raises(ShapeError, match=r"input_shape=\(3, 8\) does not fit the model's input 'input' of rank 4"):
        nape.to_graph(model, input_shape=(3, 8))
    with pytest.raises(ShapeError, match=r"Conv '/0/Conv' expects 3 input channels, got a tensor of shape \(5, 8, 8\)"):
        nape.to_graph(model, input_shape=(5, 8, 8))
    with pytest.raises(ShapeError, match="ONNX shape inference failed"):
        nape.to_graph(export(nn.Linear(4, 2), (4,), dynamic_axes={"input": {1: "f"}}, input_names=["input"]),
                      input_shape=(5,))


def test_out_of_vocabulary_onnx_ops():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.erf(nn.functional.softplus(self.fc(x)))
    with pytest.warns(UserWarning, match=r"2 op\(s\) out of vocabulary \(Erf, Softplus\)"):
        g = nape.to_graph(export(Odd(), (4,)))
    assert g.ops == ["input", "linear", "oov", "oov", "output"] and g.meta["oov"] == ["Erf", "Softplus"]
    assert g.oov == ["Softplus", "Erf"] and g.params == 20


def test_bad_onnx_inputs(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07this is not a model" * 3)
    with pytest.raises(ConversionError, match="broken.onnx is not a readable ONNX model .*export it again"):
        nape.to_graph(bad)

    class Two(nn.Module):
        def forward(self, x, y):
            return x + y
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Two(), (torch.randn(1, 4), torch.randn(1, 4)), buf, dynamo=False)
    with pytest.raises(ConversionError, match="the ONNX model has 2 inputs"):
        nape.to_graph(onnx.load_from_string(buf.getvalue()))
