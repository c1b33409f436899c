"""The plugin manager: built-ins first, entry-point discovery, the autoload and block switches, one merge rule, hook
wrappers on every registry, broken plugins, the example."""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pluggy
import pytest
from torch import nn

import nape_plugin as nape
from nape_plugin import plugins
from nape_plugin.errors import PluginError, UnknownNameError
from nape_plugin.plugins.hookspecs import hookimpl

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "write_a_plugin"


def fake_distribution(site: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    """An installed distribution as importlib.metadata sees it: a dist-info folder with METADATA and entry points."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = [f"[{plugins.ENTRY_POINT_GROUP}]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def example_installed(tmp_path, monkeypatch):
    """The example package importable, with a distribution declaring exactly the entry points its pyproject does."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_distribution(tmp_path, project["name"], project["version"],
                      project["entry-points"][plugins.ENTRY_POINT_GROUP])
    yield project
    for mod in [m for m in sys.modules if m == "nape_blurpool" or m.startswith("nape_blurpool.")]:
        del sys.modules[mod]


@pytest.fixture
def global_manager(monkeypatch):
    """Lets a test install its own manager as the process-wide one; the original is restored afterwards."""
    def install(pm: plugins.PluginManager) -> None:
        monkeypatch.setattr(plugins.manager, "_manager", pm)
        plugins.manager._refresh()

    yield install
    monkeypatch.undo()
    plugins.manager._refresh()


def test_builtins_come_first_and_run_last():
    pm = plugins.build_manager(autoload=False)
    assert list(pm.sources.items()) == [(name, "built-in") for name in plugins.manager.BUILTIN_PLUGINS]
    impls = [i for name in plugins.manager.BUILTIN_PLUGINS for h in pm.get_hookcallers(pm.get_plugin(name))
             for i in h.get_hookimpls() if i.plugin_name == name]
    assert impls and all(i.trylast for i in impls)


def test_entry_points_are_discovered_with_their_distribution(example_installed):
    pm = plugins.build_manager()
    assert pm.has_plugin("blurpool")
    assert pm.sources["blurpool"] == "entry point blurpool = nape_blurpool.plugin of nape-blurpool 0.1.0"
    assert list(pm.sources)[0] == "nape_plugin.convert.builtin"


@pytest.mark.parametrize("value, loaded", [("1", False), ("true", False), ("0", True), ("", True)])
def test_autoload_env_var(example_installed, monkeypatch, value, loaded):
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, value)
    pm = plugins.build_manager()
    assert pm.has_plugin("blurpool") is loaded
    assert pm.has_plugin("nape_plugin.convert.builtin")


def test_plugins_are_blocked_by_name(example_installed, monkeypatch, global_manager, capsys):
    monkeypatch.setenv(plugins.BLOCK_ENV, " blurpool, nape_plugin.predictors.builtin ")
    pm = plugins.build_manager()
    assert not pm.has_plugin("blurpool") and not pm.has_plugin("nape_plugin.predictors.builtin")
    assert pm.blocked == ["blurpool", "nape_plugin.predictors.builtin"] and pm.has_plugin("nni")
    global_manager(pm)
    assert "gbdt" not in plugins.predictors()
    with pytest.raises(PluginError, match=f"plugin 'blurpool' is blocked \\({plugins.BLOCK_ENV}\\)"):
        plugins.register(object(), "blurpool")
    from nape_plugin.cli import main
    assert main(["plugins"]) == 0
    assert f"blocked ({plugins.BLOCK_ENV}): blurpool, nape_plugin.predictors.builtin" in capsys.readouterr().out
    monkeypatch.delenv(plugins.BLOCK_ENV)
    assert plugins.build_manager().has_plugin("blurpool")


def test_an_entry_point_that_fails_to_import_is_named(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_distribution(tmp_path, "broken-plugin", "2.0", {"broken": "no_such_module_xyz.plugin"})
    with pytest.raises(PluginError, match=r"cannot load plugin 'broken' \(no_such_module_xyz.plugin\) of "
                                          r"broken-plugin 2.0: ModuleNotFoundError.*NAPE_DISABLE_PLUGIN_AUTOLOAD=1"):
        plugins.build_manager()


def test_an_entry_point_that_exits_at_import_is_a_plugin_error(tmp_path, monkeypatch):
    (tmp_path / "exiting_plugin.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_distribution(tmp_path, "exiting-plugin", "1.0", {"exiting": "exiting_plugin"})
    with pytest.raises(PluginError, match=r"cannot load plugin 'exiting' .*SystemExit: 3"):
        plugins.build_manager()


def test_an_entry_point_with_a_misspelt_hook_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "typo_plugin.py").write_text("def nape_op_mapping():\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_distribution(tmp_path, "typo-plugin", "1.0", {"typo": "typo_plugin"})
    with pytest.raises(PluginError, match=r"plugin 'typo' implements nape_op_mapping, which is not a nape-plugin "
                                          r"hook \(did you mean nape_op_mappings\?\)"):
        plugins.build_manager()


class Misspelt:
    @hookimpl
    def nape_to_grpah(self, obj, context):
        return None


class Unmarked:
    def nape_register_spaces(self):            # no @hookimpl: still an implementation, as the name says
        return []


class WrongSignature:
    @hookimpl
    def nape_to_graph(self, obj, ctx):
        return None


def test_a_misspelt_hook_is_a_plugin_error():
    with pytest.raises(PluginError, match=r"'misspelt' implements nape_to_grpah.*did you mean nape_to_graph\?"):
        plugins.register(Misspelt(), "misspelt")
    assert not plugins.get_plugin_manager().has_plugin("misspelt")


def test_unmarked_nape_functions_are_implementations():
    name = plugins.register(Unmarked(), "unmarked")
    try:
        assert "nape_register_spaces" in plugins.describe()[-1]["hooks"]
    finally:
        plugins.unregister(name)


def test_a_wrong_signature_is_a_plugin_error():
    with pytest.raises(PluginError, match=r"nape_to_graph\(obj, ctx\) takes ctx, which the hook does not pass; its "
                                          r"signature is nape_to_graph\(obj, context\)"):
        plugins.register(WrongSignature(), "wrong-signature")
    assert "wrong-signature" not in plugins.get_plugin_manager().sources


def test_registering_twice_is_a_plugin_error():
    plugin = Unmarked()
    plugins.register(plugin, "once")
    try:
        with pytest.raises(PluginError, match="cannot register plugin 'again'"):
            plugins.register(plugin, "again")
    finally:
        plugins.unregister(plugin)
    with pytest.raises(UnknownNameError, match="no plugin 'once' is registered"):
        plugins.unregister("once")


class Override:
    """Replaces the built-in gbdt predictor and the nb201 space, and adds a predictor of its own."""

    def __init__(self, tag: str):
        self.tag = tag

    @hookimpl
    def nape_register_predictors(self):
        return {"gbdt": lambda: self.tag, f"only-{self.tag}": lambda: self.tag}

    @hookimpl
    def nape_register_spaces(self):
        from nape_plugin.spaces.nb201 import NB201Space
        space = NB201Space()
        space.tag = self.tag
        return [space]


def test_one_merge_rule_the_later_plugin_wins_over_earlier_ones_and_built_ins():
    builtin = plugins.predictors()["gbdt"]
    plugins.register(Override("first"), "first")
    plugins.register(Override("second"), "second")
    try:
        registry = plugins.predictors()
        assert registry["gbdt"]() == "second" and registry["only-first"]() == "first"
        assert nape.spaces.get("nb201").tag == "second"
        assert list(registry)[-2:] == ["only-first", "only-second"]     # built-ins first, then registration order
    finally:
        plugins.unregister("second")
        plugins.unregister("first")
    assert plugins.predictors()["gbdt"] is builtin and not hasattr(nape.spaces.get("nb201"), "tag")


class Tracing:
    """A hook wrapper on every registry hook: records each call and adds one entry to the predictors."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _record(self, name: str):
        result = yield
        self.calls.append(name)
        return result

    @hookimpl(wrapper=True)
    def nape_register_spaces(self):
        return (yield from self._record("nape_register_spaces"))

    @hookimpl(wrapper=True)
    def nape_op_mappings(self):
        return (yield from self._record("nape_op_mappings"))

    @hookimpl(wrapper=True)
    def nape_register_pretrained(self):
        return (yield from self._record("nape_register_pretrained"))

    @hookimpl(wrapper=True)
    def nape_register_commands(self):
        return (yield from self._record("nape_register_commands"))

    @hookimpl(wrapper=True)
    def nape_register_predictors(self):
        result = yield
        self.calls.append("nape_register_predictors")
        return [*result, {"wrapped": dict}]


def test_hook_wrappers_run_on_every_registry():
    from nape_plugin.convert.opmap import op_mappings
    tracing = Tracing()
    plugins.register(tracing, "tracing")
    try:
        nape.spaces.names(), op_mappings(), plugins.pretrained(), plugins.commands()
        assert plugins.predictors()["wrapped"] is dict
    finally:
        plugins.unregister("tracing")
    assert sorted(tracing.calls) == sorted(h for h in plugins.HOOKS if h != "nape_to_graph")
    assert "wrapped" not in plugins.predictors()


def test_pluggy_tracing_sees_registry_calls():
    pm = plugins.get_plugin_manager()
    seen: list[str] = []
    undo = pm.add_hookcall_monitoring(lambda name, impls, kwargs: seen.append(name), lambda *a: None)
    try:
        plugins.manager._refresh()
        plugins.predictors(), plugins.pretrained()
    finally:
        undo()
    assert seen == ["nape_register_predictors", "nape_register_pretrained"]


def test_check_pending_reports_unknown_hooks_as_plugin_errors():
    pm = plugins.build_manager(autoload=False)
    pluggy.PluginManager.register(pm, Misspelt(), name="raw")       # bypasses the manager's own validation
    with pytest.raises(PluginError, match="unknown hook 'nape_to_grpah'"):
        pm.check()


def test_describe_lists_sources_hooks_and_contributions():
    class Demo:
        @hookimpl
        def nape_register_predictors(self):
            return {"demo-a": dict, "demo-b": list}

        @hookimpl
        def nape_op_mappings(self):
            return {nn.Tanh: "tanh"}

    plugins.register(Demo(), "demo")
    try:
        rows = {r["name"]: r for r in plugins.describe()}
    finally:
        plugins.unregister("demo")
    assert rows["demo"] == {"name": "demo", "source": "run time",
                            "hooks": ["nape_op_mappings", "nape_register_predictors"],
                            "provides": {"predictors": ["demo-a", "demo-b"], "op_mappings": 1}}
    assert rows["nape_plugin.convert.builtin"]["source"] == "built-in"
    assert rows["nape_plugin.convert.builtin"]["provides"]["op_mappings"] > 100
    assert rows["nape_plugin.spaces.builtin"]["provides"]["spaces"] == nape.spaces.names()
    assert "gbdt" in rows["nape_plugin.predictors.builtin"]["provides"]["predictors"]
    assert rows["nape_plugin.gennape.builtin"]["provides"]["pretrained"] == ["default", "gennape-nb101"]


# ------------------------------------------------------------------------------------------- the example plugin
def test_example_declares_its_entry_point_and_ships_the_module():
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][plugins.ENTRY_POINT_GROUP] == {"blurpool": "nape_blurpool.plugin"}
    packages = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert "nape_blurpool" in packages and (EXAMPLE / "nape_blurpool" / "plugin.py").is_file()


def test_example_plugin_maps_blurpool_when_installed(example_installed, global_manager):
    from nape_blurpool import BlurPool2d
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), BlurPool2d(8), nn.Conv2d(8, 8, 3))
    global_manager(plugins.build_manager(autoload=False))
    plain = nape.to_graph(net, input_shape=(3, 16, 16))
    assert plain.ops == ["input", "conv", "relu", "pad", "depthwise_conv", "conv", "output"]

    global_manager(plugins.build_manager())                # discovers the example through its entry point
    g = nape.to_graph(net, input_shape=(3, 16, 16))
    assert g.ops == ["input", "conv", "relu", "avgpool", "conv", "output"]
    pool = g.nodes[3]
    assert (pool.in_shape, pool.out_shape, pool.kernel, pool.stride) == ((8, 16, 16), (8, 8, 8), (3, 3), (2, 2))
    assert pool.params == 0 and g.params == plain.params == sum(p.numel() for p in net.parameters())
