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
from tests.convert.nets import NETS

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


# ------------------------------------------------------------------------------------- every ONNX op mapping
def one_op(op: str, x_shape, *extra, opset: int = 18, outputs: int = 1, x_type=None, **attrs):
    """A model ``y = op(x, *extra)``; numpy arrays in ``extra`` become initializers, None an empty input, "x" the
    input again."""
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np
    names, inits = ["x"], []
    for i, arr in enumerate(extra):
        if arr is None or isinstance(arr, str):
            names.append(arr or "")
        else:
            inits.append(numpy_helper.from_array(np.asarray(arr), f"c{i}"))
            names.append(f"c{i}")
    node = helper.make_node(op, names, [f"y{i}" for i in range(outputs)], **attrs)
    x = helper.make_tensor_value_info("x", x_type or TensorProto.FLOAT, x_shape)
    y = helper.make_tensor_value_info("y0", TensorProto.UNDEFINED, None)
    graph = helper.make_graph([node], op, [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _onnx_cases():
    import numpy as np
    f = np.float32
    i64 = np.int64
    r = np.random.default_rng(0)
    w = lambda *s: r.standard_normal(s).astype(f)          # noqa: E731
    img, seq = (1, 4, 6, 6), (1, 5, 8)
    return [
        ("Conv", one_op("Conv", (1, 3, 8, 8), w(4, 3, 3, 3), w(4)), "conv", 112),
        ("ConvTranspose", one_op("ConvTranspose", img, w(4, 3, 2, 2), strides=[2, 2]), "conv_transpose", 48),
        ("Gemm", one_op("Gemm", (1, 8), w(4, 8), w(4), transB=1), "linear", 36),
        ("MatMul", one_op("MatMul", (1, 4, 4), "x"), "matmul", 0),
        ("BatchNormalization", one_op("BatchNormalization", img, w(4), w(4), w(4), np.ones(4, f)), "batchnorm", 8),
        ("LayerNormalization", one_op("LayerNormalization", seq, w(8), w(8), axis=-1), "layernorm", 16),
        ("InstanceNormalization", one_op("InstanceNormalization", img, w(4), w(4)), "groupnorm", 8),
        ("GroupNormalization", one_op("GroupNormalization", img, w(4), w(4), num_groups=2, opset=21), "groupnorm", 8),
        ("Relu", one_op("Relu", img), "relu", 0),
        ("Clip", one_op("Clip", img, np.array(0, f), np.array(6, f)), "relu6", 0),
        ("Clip", one_op("Clip", img, np.array(0, f)), "relu", 0),
        ("Clip", one_op("Clip", img, np.array(-1, f), np.array(1, f)), "oov", 0),
        ("LeakyRelu", one_op("LeakyRelu", img), "leaky_relu", 0),
        ("PRelu", one_op("PRelu", img, w(4, 1, 1)), "prelu", 4),
        ("Elu", one_op("Elu", img), "elu", 0), ("Selu", one_op("Selu", img), "elu", 0),
        ("Celu", one_op("Celu", img), "elu", 0), ("Gelu", one_op("Gelu", img, opset=20), "gelu", 0),
        ("Sigmoid", one_op("Sigmoid", img), "sigmoid", 0), ("Tanh", one_op("Tanh", img), "tanh", 0),
        ("HardSwish", one_op("HardSwish", img), "hardswish", 0),
        ("HardSigmoid", one_op("HardSigmoid", img), "hardsigmoid", 0),
        ("Softmax", one_op("Softmax", seq), "softmax", 0), ("LogSoftmax", one_op("LogSoftmax", seq), "softmax", 0),
        ("Add", one_op("Add", img, w(1, 4, 1, 1)), "add", 4),
        ("Add", one_op("Add", img, np.array(0, f)), None, 0),              # x + 0: removed
        ("Sum", one_op("Sum", img, w(1, 4, 1, 1)), "add", 4), ("Sub", one_op("Sub", img, w(1, 4, 1, 1)), "sub", 4),
        ("Mul", one_op("Mul", img, w(6)), "mul", 6), ("Mul", one_op("Mul", img, np.array(0, f)), "zero", 0),
        ("Div", one_op("Div", img, np.array(2, f)), "div", 0),
        ("Concat", one_op("Concat", img, w(1, 2, 6, 6), axis=1), "concat", 72),
        ("MaxPool", one_op("MaxPool", img, kernel_shape=[2, 2], strides=[2, 2]), "maxpool", 0),
        ("AveragePool", one_op("AveragePool", img, kernel_shape=[3, 3]), "avgpool", 0),
        ("GlobalAveragePool", one_op("GlobalAveragePool", img), "global_avgpool", 0),
        ("GlobalMaxPool", one_op("GlobalMaxPool", img), "global_maxpool", 0),
        ("Flatten", one_op("Flatten", img), "reshape", 0),
        ("Reshape", one_op("Reshape", img, np.array([1, -1], i64)), "reshape", 0),
        ("Squeeze", one_op("Squeeze", (1, 1, 4), np.array([1], i64)), "reshape", 0),
        ("Unsqueeze", one_op("Unsqueeze", seq, np.array([1], i64)), "reshape", 0),
        ("Expand", one_op("Expand", (1, 1, 4), np.array([1, 3, 4], i64)), "reshape", 0),
        ("Tile", one_op("Tile", seq, np.array([1, 2, 1], i64)), "reshape", 0),
        ("DepthToSpace", one_op("DepthToSpace", img, blocksize=2), "reshape", 0),
        ("SpaceToDepth", one_op("SpaceToDepth", img, blocksize=2), "reshape", 0),
        ("Transpose", one_op("Transpose", seq, perm=[0, 2, 1]), "transpose", 0),
        ("Slice", one_op("Slice", img, np.array([1], i64), np.array([3], i64), np.array([1], i64)), "slice", 0),
        ("Split", one_op("Split", img, np.array([2, 2], i64), axis=1, outputs=2), "slice", 0),
        ("Gather", one_op("Gather", img, np.array(0, i64), axis=1), "slice", 0),
        ("ReduceMean", one_op("ReduceMean", img, np.array([2, 3], i64), keepdims=0), "global_avgpool", 0),
        ("ReduceSum", one_op("ReduceSum", img, np.array([1], i64)), "reduce", 0),
        ("ReduceMax", one_op("ReduceMax", img, np.array([1], i64)), "reduce", 0),
        ("ReduceMin", one_op("ReduceMin", img, np.array([1], i64)), "reduce", 0),
        ("Pad", one_op("Pad", img, np.array([0, 0, 1, 1, 0, 0, 1, 1], i64)), "pad", 0),
        ("Resize", one_op("Resize", img, None, np.array([1, 1, 2, 2], f)), "upsample", 0),
        ("Identity", one_op("Identity", img), None, 0), ("Dropout", one_op("Dropout", img), None, 0),
        ("Cast", one_op("Cast", img, to=1), None, 0),
    ]


ONNX_CASES = _onnx_cases()


@pytest.mark.parametrize("op, model, expected, params", ONNX_CASES, ids=[c[0] for c in ONNX_CASES])
def test_onnx_op_mapping(op, model, expected, params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if expected == "oov" else "error")
        g = nape.to_graph(model)
    assert g.ops == (["input", "output"] if expected is None else ["input", expected, "output"]), g.summary()
    assert g.params == params
    assert g.nodes[0].out_shape == tuple(d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim)[1:]


def test_embedding_and_every_onnx_mapping_has_a_case():
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from nape_plugin.convert.onnx import ONNX_OPS
    table = numpy_helper.from_array(np.ones((10, 4), np.float32), "table")
    node = helper.make_node("Gather", ["table", "ids"], ["y"])
    graph = helper.make_graph([node], "emb", [helper.make_tensor_value_info("ids", TensorProto.INT64, (1, 6))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [table])
    g = nape.to_graph(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]))
    assert g.ops == ["input", "embedding", "output"] and g.params == 40 and g.nodes[1].out_shape == (6, 4)
    assert {c[0] for c in ONNX_CASES} == set(ONNX_OPS)
