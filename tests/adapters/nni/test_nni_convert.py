"""NNI samples, frozen models and executable model spaces to computation graphs, against real NNI 3.0 objects.

The fast paths (a graph from a sample, no model built) are held equal to tracing the frozen NNI model, and the NNI
tracing itself is checked against plain-torch modules computing the same network.
"""
from __future__ import annotations

import logging
import operator
from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn

nni = pytest.importorskip("nni")

import nape_plugin as nape  # noqa: E402
from nape_plugin.errors import ConversionError, EncodingError, TraceError  # noqa: E402
from nape_nni import hub  # noqa: E402
from nape_nni.trace import NB101CellTwin, merge_stacked_reductions, trace_model  # noqa: E402

logging.getLogger("nni").setLevel(logging.WARNING)

#: The NB101 cell of benchmark hash 00005c142e6f48ac74fdcf73e3439874 (pruned adjacency and ops from the benchmark).
NB101_00005C14 = {
    "cell/num_nodes": 7, "cell/op1": "conv3x3-bn-relu", "cell/op2": "maxpool3x3", "cell/op3": "conv3x3-bn-relu",
    "cell/op4": "conv3x3-bn-relu", "cell/op5": "conv1x1-bn-relu", "cell/input1": [0], "cell/input2": [1],
    "cell/input3": [2], "cell/input4": [0], "cell/input5": [0, 3, 4], "cell/input6": [2, 5]}


def random_models(space, n: int, seed: int):
    """``n`` (sample, frozen model on the meta device) pairs; invalid samples are redrawn as NNI's strategies do."""
    rs, out = np.random.RandomState(seed), []
    while len(out) < n:
        sample: dict = {}
        try:
            with torch.device("meta"):
                model = space.random(memo=sample, random_state=rs)
        except nni.mutable.SampleValidationError:
            continue
        out.append((sample, model))
    return out


def needs_space(name: str):
    return pytest.mark.skipif(name not in nape.spaces.names(), reason=f"space {name} is not registered")


# --------------------------------------------------------------------------------------------- the fx rewrite
class _Stacked(nn.Module):
    def __init__(self, reduce):
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1), nn.ReLU()
        self.reduce = reduce

    def forward(self, x):
        return self.reduce(torch.stack([self.a(x), self.b(x), self.c(x)]), 0)


class _Summed(nn.Module):
    def __init__(self, mean: bool):
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1), nn.ReLU()
        self.mean = mean

    def forward(self, x):
        s = self.a(x) + self.b(x) + self.c(x)
        return s / 3 if self.mean else s


@pytest.mark.parametrize("reduce,mean", [(torch.sum, False), (torch.mean, True)])
def test_sum_of_a_stack_traces_as_an_add(reduce, mean):
    g = trace_model(_Stacked(reduce), (4, 8, 8))
    assert g == nape.to_graph(_Summed(mean), input_shape=(4, 8, 8))
    assert "reduce" not in g.ops and "concat" not in g.ops and g.ops.count("add") == 1


def test_the_rewrite_leaves_other_stacks_alone():
    class Keep(nn.Module):
        def forward(self, x):
            return torch.stack([x, x * 2], 0).sum(1)       # reduced along another dim: not an add
    gm = torch.fx.symbolic_trace(Keep())
    assert merge_stacked_reductions(gm.graph) == 0
    gm = torch.fx.symbolic_trace(_Stacked(torch.sum))
    assert merge_stacked_reductions(gm.graph) == 1
    assert [n.target for n in gm.graph.nodes if n.op == "call_function"] == [operator.add, operator.add]


# ------------------------------------------------------------------------------------------------ NasBench201
@needs_space("nb201")
def test_nasbench201_fast_path_equals_the_traced_nni_model_and_our_space():
    from nni.nas.hub.pytorch import NasBench201
    space = NasBench201()
    nb201 = nape.spaces.get("nb201")
    for sample, model in random_models(space, 2, seed=0):
        fast = nape.to_graph(sample, model_space=space)
        assert fast == trace_model(model, (3, 32, 32))
        assert fast == nb201.to_graph(nb201.encode(sample, "arch_str"))
        assert fast == nape.to_graph(sample)                       # a bare NasBench201 sample is recognised
        assert fast.params == sum(p.numel() for p in model.parameters())


def test_nasbench201_with_other_arguments_is_traced():
    from nni.nas.hub.pytorch import NasBench201
    space = NasBench201(stem_out_channels=8, num_modules_per_stack=1, num_labels=3)
    (sample, model), = random_models(space, 1, seed=1)
    assert hub.identify(space).graph(sample) is None               # no fast path: freeze and trace
    g = nape.to_graph(sample, model_space=space)
    assert g == trace_model(model, (3, 32, 32))
    assert g.nodes[-2].out_shape == (3,)


# ------------------------------------------------------------------------------------------------ NasBench101
def test_nasbench101_fast_path_equals_the_traced_nni_model():
    from nni.nas.hub.pytorch import NasBench101
    with torch.device("meta"):
        space = NasBench101()
    for sample, model in random_models(space, 3, seed=2):
        fast = nape.to_graph(sample, model_space=space)
        traced = trace_model(model, (3, 32, 32))
        assert fast == traced
        assert fast.params == traced.params
        assert fast.meta.get("unused_params", 0) == traced.meta.get("unused_params", 0)
        assert fast.params + fast.meta.get("unused_params", 0) == sum(p.numel() for p in model.parameters())


def test_nasbench101_cell_of_hash_00005c14_has_the_benchmarks_parameters_plus_unused_projections():
    from nni.nas.hub.pytorch import NasBench101
    with torch.device("meta"):
        space = NasBench101()
        model = space.freeze(dict(NB101_00005C14))
    g = nape.to_graph(dict(NB101_00005C14), model_space=space)
    assert sum(p.numel() for p in model.parameters()) == 10_302_986     # what PyTorch counts for NNI's model
    assert g.params == 8_555_530                                        # the benchmark's trainable_parameters
    assert g.meta["unused_params"] == 10_302_986 - 8_555_530
    assert g == trace_model(model, (3, 32, 32))


@needs_space("nb101")
def test_nasbench101_graph_is_the_benchmarks_network_but_for_the_flatten():
    from nni.nas.hub.pytorch import NasBench101
    from nape_nni.nb101 import cell_spec
    with torch.device("meta"):
        space = NasBench101()
    nb101 = nape.spaces.get("nb101")
    for sample, _ in random_models(space, 3, seed=3):
        matrix, ops = cell_spec(hub.strip_scope(sample))
        ours, theirs = nape.to_graph(sample, model_space=space), nb101.to_graph((matrix, ops))
        # NNI pools with AdaptiveAvgPool2d(1) and flattens with view; the benchmark takes a mean over H and W
        assert Counter(ours.ops) - Counter(theirs.ops) == Counter({"reshape": 1})
        assert not Counter(theirs.ops) - Counter(ours.ops)
        assert (ours.params, ours.flops, ours.num_edges) == (theirs.params, theirs.flops, theirs.num_edges + 1)


def test_nasbench101_stand_in_cell_computes_the_same_function():
    from nni.nas.hub.pytorch import NasBench101
    from nni.nas.hub.pytorch.modules.nasbench101 import _NasBench101CellFixed
    torch.manual_seed(0)
    space = NasBench101(stem_out_channels=4, num_stacks=2, num_modules_per_stack=1)
    for sample, _ in random_models(space, 3, seed=4):
        model = space.freeze(sample).eval()
        for cell in (m for m in model.modules() if isinstance(m, _NasBench101CellFixed)):
            x = torch.randn(2, cell.in_features, 8, 8)
            with torch.no_grad():
                assert torch.allclose(NB101CellTwin(cell)(x), cell(x))


def test_invalid_nasbench101_sample_is_an_encoding_error():
    from nni.nas.hub.pytorch import NasBench101
    bad = {**NB101_00005C14, "cell/input6": [], "cell/input5": [3, 4]}       # nothing reaches the output
    with pytest.raises(EncodingError, match="invalid"):
        nape.to_graph(bad, model_space=NasBench101)
    with pytest.raises(EncodingError, match="unknown op"):
        nape.to_graph({**NB101_00005C14, "cell/op1": "conv7x7"}, model_space=NasBench101)


# ------------------------------------------------------------------------------------------------------ NDS
@pytest.mark.parametrize("name,kwargs", [
    ("DARTS", {"width": 16, "num_cells": (4, 5)}),
    ("DARTS", {}),
    ("PNAS", {"width": 16, "num_cells": 4}),
    ("NASNet", {"width": 16, "num_cells": 5}),
    ("AmoebaNet", {"width": 16, "num_cells": 4, "dataset": "imagenet"}),
])
def test_nds_fast_path_equals_the_traced_nni_model(name, kwargs):
    import nni.nas.hub.pytorch as nni_hub
    with torch.device("meta"):
        space = getattr(nni_hub, name)(**kwargs)
    shape = hub.identify(space).input_shape
    for sample, model in random_models(space, 1 if not kwargs else 2, seed=5):
        fast = nape.to_graph(sample, model_space=space)
        traced = trace_model(model, shape)
        assert fast == traced
        assert fast.meta.get("unused_params", 0) == traced.meta.get("unused_params", 0)


def test_a_bare_darts_sample_is_recognised():
    from nni.nas.hub.pytorch import DARTS
    (sample, _), = random_models(DARTS(), 1, seed=6)
    assert hub.recognise_sample(sample).name == "DARTS"
    assert nape.to_graph(sample) == nape.to_graph(sample, model_space=DARTS)
    with pytest.raises(EncodingError, match="width"):
        nape.to_graph({k: v for k, v in sample.items() if k != "width"})


# --------------------------------------------------------------------------------------- executable model spaces
def test_models_of_executable_model_spaces_convert_without_being_built():
    from nni.nas.hub.pytorch import NasBench101
    from nni.nas.space import RawFormatModelSpace, SimplifiedModelSpace
    with torch.device("meta"):
        space = NasBench101()
    for fmt in (RawFormatModelSpace, SimplifiedModelSpace):
        exe = fmt.from_model(space)
        with pytest.raises(ConversionError, match="not frozen"):
            nape.to_graph(exe)
        frozen = exe.freeze(dict(NB101_00005C14))
        assert nape.to_graph(frozen).params == 8_555_530
        assert nape.to_graph(exe, sample=dict(NB101_00005C14)) == nape.to_graph(frozen)


# ------------------------------------------------------------------------------------------ user-defined spaces
class _Block(nn.Module):
    def __init__(self, c, label: str):
        from nni.nas.nn.pytorch import LayerChoice, MutableConv2d
        super().__init__()
        self.op = LayerChoice({"conv3": MutableConv2d(c, c, 3, padding=1), "conv5": MutableConv2d(c, c, 5, padding=2),
                               "pool": nn.MaxPool2d(3, 1, 1)}, label=label)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.op(x))


def _user_space():
    from nni.nas.nn.pytorch import (Cell, InputChoice, ModelSpace, MutableBatchNorm2d, MutableConv2d, MutableLinear,
                                    Repeat)

    class Net(ModelSpace):
        def __init__(self):
            super().__init__()
            w = nni.choice("width", [8, 16])
            self.stem = MutableConv2d(3, w, 3, padding=1)
            self.bn = MutableBatchNorm2d(w)
            self.blocks = Repeat(lambda i: _Block(w, f"b{i}"), (1, 3), label="depth")
            self.cell = Cell([nn.Identity(), nn.AvgPool2d(3, 1, 1)], num_nodes=2, num_ops_per_node=2,
                             num_predecessors=1, merge_op="all", label="cell")
            self.skip = InputChoice(2, 1, label="skip")
            self.head = MutableLinear(2 * w, 10)

        def forward(self, x):
            y = self.blocks(self.bn(self.stem(x)))
            z = self.cell(y)
            out = self.skip([torch.cat([y, y], 1), z])
            return self.head(out.mean((2, 3)))
    return Net()


def _plain_equivalent(sample):
    """The frozen user space for ``sample`` written in plain torch (Python sums, no NNI module)."""
    w, k = sample["width"], {"conv3": 3, "conv5": 5}
    blocks = [nn.Sequential(nn.Conv2d(w, w, k[op], padding=k[op] // 2) if op in k else nn.MaxPool2d(3, 1, 1),
                            nn.ReLU()) for op in (sample[f"b{i}"] for i in range(sample["depth"]))]
    cell_ops = {i: [nn.Identity() if sample[f"cell/op_{i}_{j}"] == "0" else nn.AvgPool2d(3, 1, 1) for j in (0, 1)]
                for i in (1, 2)}

    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.bn = nn.Conv2d(3, w, 3, padding=1), nn.BatchNorm2d(w)
            self.blocks = nn.Sequential(*blocks)
            self.ops = nn.ModuleList(nn.ModuleList(cell_ops[i]) for i in (1, 2))
            self.head = nn.Linear(2 * w, 10)

        def forward(self, x):
            y = self.blocks(self.bn(self.stem(x)))
            states = [y]
            for i, ops in zip((1, 2), self.ops):
                states.append(sum(op(states[sample[f"cell/input_{i}_{j}"][0]]) for j, op in enumerate(ops)))
            out = torch.cat([y, y], 1) if sample["skip"] == [0] else torch.cat(states[1:], 1)
            return self.head(out.mean((2, 3)))
    return Plain()


def test_user_model_space_traces_like_the_same_network_in_plain_torch():
    space = _user_space()
    rs = np.random.RandomState(7)
    for _ in range(6):
        sample: dict = {}
        model = space.random(memo=sample, random_state=rs)
        expected = nape.to_graph(_plain_equivalent(sample), input_shape=(3, 16, 16))
        assert nape.to_graph(model, input_shape=(3, 16, 16)) == expected
        assert nape.to_graph(space, sample=sample, input_shape=(3, 16, 16)) == expected


def test_open_model_space_and_missing_input_shape_are_clear_errors():
    space = _user_space()
    with pytest.raises(ConversionError, match="open choice"):
        nape.to_graph(space, input_shape=(3, 16, 16))
    with pytest.raises(ConversionError, match="input_shape"):
        nape.to_graph(space.random())


def test_untraceable_nni_model_names_the_cause():
    from nni.nas.nn.pytorch import LayerChoice, ModelSpace

    class Branchy(ModelSpace):
        def __init__(self):
            super().__init__()
            self.op = LayerChoice([nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 3, padding=1)], label="op")

        def forward(self, x):
            return self.op(x) if x.sum() > 0 else x          # data-dependent control flow
    with pytest.raises(TraceError, match="Branchy.*control flow"):
        nape.to_graph(Branchy().random(), input_shape=(3, 8, 8))


def test_non_nni_objects_are_left_to_other_converters():
    from nape_nni.plugin import nape_to_graph
    assert nape_to_graph(obj=nn.Conv2d(3, 3, 1), context={"input_shape": (3, 8, 8)}) is None
    assert nape_to_graph(obj={"not": "a sample"}, context={}) is None
    assert nape_to_graph(obj="|nor_conv_3x3~0|", context={"space": "nb201"}) is None
