"""Random network generators: determinism, valid graphs of real networks, family traits, space samples, errors."""
from __future__ import annotations

import random
from functools import lru_cache

import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import UnknownNameError
from nape_plugin.data.generators import FAMILIES, family_names, network_graph, random_graphs, random_network

#: Ops every network of a family must contain (beyond input/output).
TRAITS = {
    "resnet": {"conv", "batchnorm", "add", "global_avgpool", "linear"},
    "mobilenet": {"conv", "depthwise_conv", "batchnorm", "global_avgpool", "linear"},
    "inception": {"conv", "concat", "global_avgpool", "linear"},
    "densenet": {"conv", "concat", "batchnorm", "relu", "avgpool", "global_avgpool", "linear"},
    "vit": {"conv", "layernorm", "attention", "linear", "add"},
    "segmentation": {"conv", "batchnorm"},
}


def small_networks(family: str, count: int, max_resolution: int = 64):
    """The first ``count`` networks of ``family`` (seeds 0, 1, ...) whose input is at most ``max_resolution``."""
    out, seed = [], 0
    while len(out) < count:
        net = random_network(family, random.Random(seed))
        if net.input_shape[1] <= max_resolution:
            out.append(net)
        seed += 1
    return out


@lru_cache(maxsize=None)
def sample(family: str, seeds: int = 5) -> tuple:
    """(network, graph) for seeds 0 .. seeds - 1 of ``family``."""
    nets = [random_network(family, random.Random(s)) for s in range(seeds)]
    return tuple((n, network_graph(n)) for n in nets)


@pytest.fixture
def one_thread():
    """Run real forward passes on one thread: tiny convolutions gain nothing from more, and lose much on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_graphs_are_real_networks(family, one_thread):
    """Valid graph, every op in the vocabulary, and the graph's parameters and output shape are those of the real
    module (built on the CPU and run on an input of the generated shape)."""
    torch.manual_seed(0)
    for net in small_networks(family, 2):
        g = network_graph(net)
        g.validate()
        assert not g.oov, net.description
        assert g.nodes[0].out_shape == net.input_shape
        model = net.make().eval()
        assert g.params == sum(p.numel() for p in model.parameters()), net.description
        with torch.no_grad():
            out = model(torch.randn(1, *net.input_shape))
        assert tuple(out.shape[1:]) == g.nodes[-1].out_shape, net.description
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_family_traits(family):
    for net, g in sample(family):
        assert TRAITS[family] <= set(g.ops), (net.description, sorted(set(g.ops)))
        if family == "segmentation":      # per-pixel logits at the input resolution
            assert g.nodes[-1].out_shape[1:] == net.input_shape[1:]
            assert {"upsample", "conv_transpose"} & set(g.ops)
        else:
            assert len(g.nodes[-1].out_shape) == 1


def test_resolutions_and_classes_vary():
    sizes = {random_network(f, random.Random(s)).input_shape[1] for f in FAMILIES for s in range(15)}
    assert min(sizes) >= 32 and max(sizes) <= 224 and len(sizes) > 10
    classes = {g.nodes[-1].out_shape[0] for f in FAMILIES for _, g in sample(f)}
    assert len(classes) > 20


def test_families_are_diverse():
    for family in FAMILIES:
        assert len({g for _, g in sample(family)}) == len(sample(family)), family


def test_space_samples():
    for name in nape.spaces.names():
        net = random_network(name, random.Random(5))
        space = nape.spaces.get(name)
        assert net.space is space and space.parse(net.arch) == net.arch
        g = network_graph(net)
        assert g == space.to_graph(net.arch) and g.nodes[0].out_shape == net.input_shape
    ofa = random_network("ofa_mbv3", random.Random(0))
    assert ofa.input_shape == nape.spaces.get("ofa_mbv3").input_shape_for(ofa.arch)
    nb201 = random_network("nb201", random.Random(0))
    with torch.device("meta"):
        model = nb201.make()
    assert nape.to_graph(model, input_shape=nb201.input_shape) == network_graph(nb201)


def test_random_graphs_deterministic_under_seed():
    names = family_names()
    a = random_graphs(len(names), seed=3)
    b = random_graphs(len(names), seed=3)
    assert a == b and [g.meta for g in a] == [g.meta for g in b]
    assert [g.meta["family"] for g in a] == names              # one of each family, in order
    assert [g.meta["index"] for g in a] == list(range(len(names)))
    assert all(g.meta["seed"] == 3 and g.meta["description"] for g in a)
    c = random_graphs(len(FAMILIES), families=FAMILIES, seed=4)
    assert all(x != y for x, y in zip(a, c))
    # graph i depends only on (seed, i, family): a longer run starts with the shorter one
    assert random_graphs(4, families=["vit", "densenet"], seed=1)[:2] == random_graphs(2, families=["vit", "densenet"],
                                                                                        seed=1)


def test_random_graphs_arguments():
    assert random_graphs(0) == []
    gs = random_graphs(3, families="densenet", seed=0)
    assert [g.meta["family"] for g in gs] == ["densenet"] * 3
    with pytest.raises(UnknownNameError, match="no network family 'transformer'"):
        random_graphs(2, families=["resnet", "transformer"])
    with pytest.raises(UnknownNameError, match="families: resnet, mobilenet"):
        random_network("alexnet", 0)
    with pytest.raises(ValueError, match="non-negative int"):
        random_graphs(-1)
    with pytest.raises(ValueError, match="families is empty"):
        random_graphs(2, families=[])
