"""One test per hook, each with a real plugin implementing it, and a test that fails when a hook has none."""
from __future__ import annotations

import ast
import inspect
import random
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import nape_plugin as nape
from nape_plugin import plugins
from nape_plugin.plugins import hookspecs
from nape_plugin.convert.opmap import op_mappings
from nape_plugin.graph.builder import GraphBuilder
from nape_plugin.errors import ConversionError, EncodingError, PluginError, UnknownNameError
from nape_plugin.plugins.hookspecs import Command, hookimpl
from nape_plugin.spaces import SearchSpace, as_rng

#: hook name -> the tests exercising it; filled by @exercises at import, so it is complete whatever is selected.
HOOK_TESTS: dict[str, list[str]] = {}


def exercises(hook_name: str):
    def mark(test):
        HOOK_TESTS.setdefault(hook_name, []).append(test.__name__)
        return test
    return mark


@pytest.fixture
def register():
    """Register plugin objects for one test; they are unregistered afterwards."""
    names: list[str] = []

    def _register(plugin: object, name: str) -> object:
        names.append(plugins.register(plugin, name=name))
        return plugin

    yield _register
    for name in dict.fromkeys(names):
        if plugins.get_plugin_manager().has_plugin(name):
            plugins.unregister(name)


def test_every_hook_has_a_test():
    specs = {name for name, obj in vars(hookspecs).items()
             if callable(obj) and hasattr(obj, f"{hookspecs.PROJECT}_spec")}
    assert specs == set(plugins.HOOKS)
    untested = sorted(specs - set(HOOK_TESTS))
    assert not untested, f"hooks without a test: {untested}; add a test marked @exercises(<hook>)"
    assert not set(HOOK_TESTS) - specs, "a test claims a hook that does not exist"


def test_hookspecs_are_bodiless_typed_and_documented():
    for name in plugins.HOOKS:
        spec = getattr(hookspecs, name)
        assert spec.__doc__ and len(spec.__doc__.split()) > 10, name
        body = ast.parse(textwrap.dedent(inspect.getsource(spec))).body[0].body
        assert len(body) == 1 and isinstance(body[0].value, ast.Constant), f"{name} has a body besides its docstring"
        sig = inspect.signature(spec)
        assert sig.return_annotation is not inspect.Signature.empty, name
        assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()), name


# ------------------------------------------------------------------------------------------------- nape_to_graph
@dataclass(frozen=True)
class ChainSpec:
    """A foreign description of a network: conv widths in a chain, then a classifier."""

    widths: tuple[int, ...]
    classes: int = 10


def chain_graph(spec: ChainSpec, input_shape: tuple[int, int, int]) -> nape.CompGraph:
    b = GraphBuilder(input_shape)
    x = b.input
    for w in spec.widths:
        x = b.relu(b.conv(x, w, 3))
    return b.build(b.linear(b.flatten(b.global_pool(x)), spec.classes))


def chain_module(spec: ChainSpec, in_channels: int) -> nn.Module:
    layers: list[nn.Module] = []
    for w in spec.widths:
        layers += [nn.Conv2d(in_channels, w, 3, padding=1, bias=False), nn.ReLU()]
        in_channels = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, spec.classes))


class ChainConverter:
    """Converts ChainSpec objects; records the contexts it was called with."""

    def __init__(self) -> None:
        self.contexts: list[dict] = []

    @hookimpl
    def nape_to_graph(self, obj, context):
        self.contexts.append(dict(context))
        if isinstance(obj, ChainSpec):
            return chain_graph(obj, tuple(context.get("input_shape", (3, 32, 32))))
        return None


@exercises("nape_to_graph")
def test_nape_to_graph_plugin_converts_its_objects(register):
    spec = ChainSpec((8, 16))
    with pytest.raises(ConversionError, match="no converter accepts"):
        nape.to_graph(spec)
    converter = register(ChainConverter(), "chain")
    g = nape.to_graph(spec, input_shape=(3, 16, 16))
    assert g == nape.to_graph(chain_module(spec, 3), input_shape=(3, 16, 16))
    assert converter.contexts[-1] == {"input_shape": (3, 16, 16)}
    # returning None hands other objects on to the built-in converter
    module = chain_module(ChainSpec((4,)), 3)
    assert nape.to_graph(module, input_shape=(3, 8, 8)).params == sum(p.numel() for p in module.parameters())


@exercises("nape_to_graph")
def test_nape_to_graph_plugin_wins_over_the_builtin_converter(register):
    marker = nape.CompGraph([nape.Node("input", (3, 4, 4), (3, 4, 4)), nape.Node("relu", (3, 4, 4), (3, 4, 4)),
                             nape.Node("output", (3, 4, 4), (3, 4, 4))], [(0, 1), (1, 2)])

    class Override:
        @hookimpl
        def nape_to_graph(self, obj):                     # an implementation may take a subset of the arguments
            return marker if isinstance(obj, nn.ReLU) else None

    register(Override(), "override")
    assert nape.to_graph(nn.ReLU(), input_shape=(3, 4, 4)) is marker
    assert nape.to_graph(nn.Tanh(), input_shape=(3, 4, 4)).ops == ["input", "tanh", "output"]


# ------------------------------------------------------------------------------------------ nape_register_spaces
class ChainSpace(SearchSpace):
    """Chains of 1 to 3 convs of width 8, 16 or 32; the encoding is the tuple of widths."""

    name = "test_chain"
    input_shape = (3, 8, 8)
    formats = ("tuple", "str")
    WIDTHS = (8, 16, 32)

    def parse(self, arch):
        if isinstance(arch, str):
            arch = tuple(int(w) for w in arch.split("-") if w.isdigit())
        if not isinstance(arch, (tuple, list)) or not 1 <= len(arch) <= 3 or \
                any(w not in self.WIDTHS for w in arch):
            raise EncodingError(f"{arch!r} is not a chain of 1-3 widths from {self.WIDTHS}")
        return tuple(arch)

    def encode(self, arch, fmt):
        arch = self.parse(arch)
        if fmt not in self.formats:
            raise EncodingError(f"unknown format {fmt!r}; formats: {', '.join(self.formats)}")
        return "-".join(map(str, arch)) if fmt == "str" else arch

    def to_graph(self, arch):
        return chain_graph(ChainSpec(self.parse(arch)), self.input_shape)

    def build(self, arch):
        return chain_module(ChainSpec(self.parse(arch)), self.input_shape[0])

    def sample(self, rng=None):
        rng = as_rng(rng)
        return tuple(rng.choice(self.WIDTHS) for _ in range(rng.randint(1, 3)))

    def neighbours(self, arch):
        arch = self.parse(arch)
        return [arch[:i] + (w,) + arch[i + 1:] for i in range(len(arch)) for w in self.WIDTHS if w != arch[i]]


class SpacePlugin:
    @hookimpl
    def nape_register_spaces(self):
        return [ChainSpace()]


@exercises("nape_register_spaces")
def test_nape_register_spaces_plugin_adds_a_space(register):
    assert "test_chain" not in nape.spaces.names()
    register(SpacePlugin(), "chain-space")
    space = nape.spaces.get("test_chain")
    assert isinstance(space, ChainSpace) and "test_chain" in nape.spaces.names()
    arch = space.sample(random.Random(0))
    assert space.to_graph(arch) == nape.to_graph(space.build(arch), input_shape=space.input_shape)
    assert nape.to_graph("8-16", space="test_chain") == space.to_graph((8, 16))
    assert space.mutate((8,), 1) in {(16,), (32,)}


@exercises("nape_register_spaces")
def test_nape_register_spaces_is_refreshed_on_unregister(register):
    register(SpacePlugin(), "chain-space")
    assert "test_chain" in nape.spaces.names()
    plugins.unregister("chain-space")
    with pytest.raises(UnknownNameError, match="no search space named 'test_chain'"):
        nape.spaces.get("test_chain")


@exercises("nape_register_spaces")
def test_nape_register_spaces_rejects_non_spaces(register):
    class Bad:
        @hookimpl
        def nape_register_spaces(self):
            return ["nb999"]

    register(Bad(), "bad-spaces")
    with pytest.raises(PluginError, match="expected named SearchSpace instances"):
        nape.spaces.names()


# ---------------------------------------------------------------------------------------------- nape_op_mappings
class Mish(nn.Module):
    """x * tanh(softplus(x)): traced as three nodes (softplus is out of vocabulary) unless mapped."""

    def forward(self, x):
        return x * torch.tanh(nn.functional.softplus(x))


class MishPlugin:
    @hookimpl
    def nape_op_mappings(self):
        return {Mish: "silu", torch.erf: "gelu"}


def mish_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), Mish())


@exercises("nape_op_mappings")
def test_nape_op_mappings_plugin_maps_a_module_and_a_function(register):
    with pytest.warns(UserWarning, match="out of vocabulary"):
        before = nape.to_graph(mish_net(), input_shape=(3, 8, 8))
    assert before.ops == ["input", "conv", "oov", "tanh", "mul", "output"]
    register(MishPlugin(), "mish")
    assert nape.to_graph(mish_net(), input_shape=(3, 8, 8)).ops == ["input", "conv", "silu", "output"]

    class Erf(nn.Module):
        def forward(self, x):
            return torch.erf(x)

    assert nape.to_graph(Erf(), input_shape=(2, 4)).ops == ["input", "gelu", "output"]


@exercises("nape_op_mappings")
def test_nape_op_mappings_plugin_overrides_a_builtin_mapping_with_a_function(register):
    from nape_plugin.graph import Node

    class ReLUAsSix:
        @hookimpl
        def nape_op_mappings(self):
            return {nn.ReLU: lambda call: Node("relu6", call.in_shape, call.out_shape, name=call.name)}

    register(ReLUAsSix(), "relu-six")
    assert nape.to_graph(nn.Sequential(nn.ReLU()), input_shape=(2, 4)).ops == ["input", "relu6", "output"]
    plugins.unregister("relu-six")
    assert nape.to_graph(nn.Sequential(nn.ReLU()), input_shape=(2, 4)).ops == ["input", "relu", "output"]


@exercises("nape_op_mappings")
def test_nape_op_mappings_by_qualified_name(register):
    """A class named by "module.QualName" (so a plugin need not import its framework) maps as the class would, and
    replaces a built-in mapping of that class."""
    class ByName:
        @hookimpl
        def nape_op_mappings(self):
            return {f"{Mish.__module__}.{Mish.__qualname__}": "silu", "torch.nn.modules.activation.ReLU": "relu6"}

    register(ByName(), "by-name")
    assert nape.to_graph(mish_net(), input_shape=(3, 8, 8)).ops == ["input", "conv", "silu", "output"]
    assert nape.to_graph(nn.Sequential(nn.ReLU()), input_shape=(2, 4)).ops == ["input", "relu6", "output"]


@exercises("nape_op_mappings")
def test_nape_op_mappings_rejects_unknown_ops_naming_the_plugin(register):
    class Typo:
        @hookimpl
        def nape_op_mappings(self):
            return {Mish: "mish"}

    register(Typo(), "typo-ops")
    with pytest.raises(PluginError, match=r"plugin 'typo-ops'.*'mish'.*neither an op"):
        op_mappings()


# --------------------------------------------------------------------------------------- nape_register_predictors
class MeanPredictor:
    """Predicts the training mean (plus an offset): the simplest real predictor."""

    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def fit(self, graphs, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, graphs):
        return np.full(len(graphs), self.mean_ + self.offset)


class PredictorPlugin:
    @hookimpl
    def nape_register_predictors(self):
        return {"test_mean": MeanPredictor}


@exercises("nape_register_predictors")
def test_nape_register_predictors_plugin_adds_a_predictor(register):
    with pytest.raises(UnknownNameError, match="no predictor named 'test_mean'"):
        plugins.get_predictor("test_mean")
    register(PredictorPlugin(), "mean-predictor")
    p = plugins.get_predictor("test_mean", offset=1.0)
    assert p.fit([None] * 3, [1.0, 2.0, 3.0]).predict([None, None]).tolist() == [3.0, 3.0]
    assert "test_mean" in plugins.predictors()


@exercises("nape_register_predictors")
def test_nape_register_predictors_rejects_non_mappings(register):
    class Bad:
        @hookimpl
        def nape_register_predictors(self):
            return MeanPredictor

    register(Bad(), "bad-predictors")
    with pytest.raises(PluginError, match=r"plugin 'bad-predictors'.*expected a mapping"):
        plugins.predictors()


# --------------------------------------------------------------------------------------- nape_register_pretrained
class PretrainedPlugin:
    loads = 0

    @hookimpl
    def nape_register_pretrained(self):
        def load():
            PretrainedPlugin.loads += 1
            return MeanPredictor().fit([], [0.5])
        return {"test-constant": load}


@exercises("nape_register_pretrained")
def test_nape_register_pretrained_plugin_adds_a_loader(register):
    register(PretrainedPlugin(), "pretrained-plugin")
    loaders = plugins.pretrained()
    assert PretrainedPlugin.loads == 0                        # registering does not load weights
    est = loaders["test-constant"]()
    assert PretrainedPlugin.loads == 1 and est.predict([None]).tolist() == [0.5]


@exercises("nape_register_pretrained")
def test_nape_register_pretrained_rejects_non_callables(register):
    class Bad:
        @hookimpl
        def nape_register_pretrained(self):
            return {"weights": "/path/to/weights.pt"}

    register(Bad(), "bad-pretrained")
    with pytest.raises(PluginError, match=r"plugin 'bad-pretrained'.*callable values"):
        plugins.pretrained()


@exercises("nape_register_pretrained")
def test_a_registry_hook_that_raises_is_named(register):
    class Broken:
        @hookimpl
        def nape_register_pretrained(self):
            raise ImportError("No module named 'weights_lib'")

    register(Broken(), "broken-pretrained")
    with pytest.raises(PluginError, match="plugin 'broken-pretrained': nape_register_pretrained raised ImportError: "
                                          "No module named 'weights_lib'"):
        plugins.pretrained()


# ---------------------------------------------------------------------------------------- nape_register_commands
class Hello:
    """A command object: ``nape hello NAME`` greets NAME."""

    @staticmethod
    def add_arguments(parser):
        parser.add_argument("name")

    @staticmethod
    def run(args):
        print(f"hello {args.name}")
        return 0


class CommandPlugin:
    @hookimpl
    def nape_register_commands(self):
        return {"hello": Command(f"{__name__}:Hello", "greet someone")}


@exercises("nape_register_commands")
def test_nape_register_commands_plugin_adds_a_subcommand(register, capsys):
    from nape_plugin.cli import main
    assert "hello" not in plugins.commands()
    register(CommandPlugin(), "hello-command")
    assert main(["hello", "world"]) == 0 and capsys.readouterr().out == "hello world\n"
    assert list(plugins.commands())[-1] == "hello"
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "greet someone" in capsys.readouterr().out


@exercises("nape_register_commands")
def test_nape_register_commands_rejects_other_values(register):
    class Bad:
        @hookimpl
        def nape_register_commands(self):
            return {"hello": f"{__name__}:Hello"}

    register(Bad(), "bad-commands")
    with pytest.raises(PluginError, match=r"plugin 'bad-commands'.*nape_plugin.plugins.Command values"):
        plugins.commands()


@exercises("nape_register_commands")
def test_the_naslib_adapter_registers_its_subcommand():
    assert plugins.commands()["naslib-eval"] == Command("nape_naslib.evaluate", plugins.commands()["naslib-eval"].help)
    rows = {r["name"]: r for r in plugins.describe()}
    assert rows["naslib"]["provides"]["commands"] == ["naslib-eval"]


# ------------------------------------------------------------------------------------ plugins that misbehave
@exercises("nape_to_graph")
def test_a_converter_returning_a_non_graph_is_a_plugin_error(register):
    class Wrong:
        @hookimpl
        def nape_to_graph(self, obj):
            return {"nodes": []} if isinstance(obj, nn.ReLU) else None

    register(Wrong(), "wrong-type")
    with pytest.raises(PluginError, match="returned a builtins.dict instead of a CompGraph"):
        nape.to_graph(nn.ReLU(), input_shape=(3, 4, 4))


@exercises("nape_to_graph")
def test_a_converter_that_raises_is_a_conversion_error(register):
    class Raising:
        @hookimpl
        def nape_to_graph(self, obj):
            if isinstance(obj, nn.ReLU):
                raise KeyError("internal table")
            return None

    register(Raising(), "raising")
    with pytest.raises(ConversionError, match="converter failed on torch.nn.modules.activation.ReLU: KeyError") \
            as err:
        nape.to_graph(nn.ReLU(), input_shape=(3, 4, 4))
    assert isinstance(err.value.__cause__, KeyError)               # kept for whoever debugs the plugin


@exercises("nape_register_spaces")
def test_a_space_hook_that_raises_is_named(register):
    class Broken:
        @hookimpl
        def nape_register_spaces(self):
            raise RuntimeError("no GPU")

    register(Broken(), "broken-spaces")
    with pytest.raises(PluginError, match="plugin 'broken-spaces': nape_register_spaces raised RuntimeError: no GPU"):
        nape.spaces.names()
