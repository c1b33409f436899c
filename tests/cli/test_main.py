"""The ``nape`` command line: the subcommand table, ``convert``, ``plugins`` and error handling."""
from __future__ import annotations

import argparse
import json

import pytest
import torch
from torch import nn

import nape_plugin as nape
from nape_plugin import plugins
from nape_plugin.cli.main import _load, build_parser, main
from nape_plugin.convert.opmap import op_mappings
from nape_plugin.plugins import manager
from tests.plugins.test_hookspecs import SpacePlugin  # a small search space registered as a plugin

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"

FACTORY = '''from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn
from helpers import WIDTH

@dataclass
class Config:
    width: int = WIDTH

def configured():
    return nn.Sequential(nn.Conv2d(3, Config().width, 1))

def tiny(width=8, classes=10):
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))

class Wide(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Conv2d(3, 64, 1), nn.ReLU())

def on_meta():
    m = nn.Linear(4, 2)
    assert m.weight.is_meta, f"built on {m.weight.device}"
    return m

def not_a_module():
    return 42

def data_dependent():
    import torch
    return nn.Linear(int(torch.ones(()).item()) * 3, 2)
'''


def tiny(width: int = 8, classes: int = 10) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))


@pytest.fixture
def factory_file(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(FACTORY)
    (tmp_path / "helpers.py").write_text("WIDTH = 6\n")        # a neighbour module the factory file imports
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    assert exit_.value.code == 0
    for name, command in plugins.commands().items():
        assert name in out and command.help in out


def test_every_command_target_has_add_arguments_and_run():
    commands = plugins.commands()
    assert list(commands)[:3] == ["demo", "predict", "evaluate"] and "naslib-eval" in commands
    for name, spec in commands.items():
        command = _load(spec.target)
        assert callable(command.add_arguments) and callable(command.run), name
        parser = build_parser([name])
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        assert set(sub.choices) == set(commands)
        assert sub.choices[name].get_default("handler") == command.run, name
        others = [p for n, p in sub.choices.items() if n != name]
        assert all(p.get_default("handler") is None for p in others), "only the chosen command is loaded"


@pytest.mark.parametrize("command", sorted(plugins.commands()))
def test_every_option_of_every_command_has_help(command):
    parser = build_parser([command])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    assert [a.option_strings or a.dest for a in sub._actions if not a.help] == []
    assert any("--threads" in a.option_strings for a in sub._actions)


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-command"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- convert
def test_convert_factory_file_to_json(capsys, factory_file):
    code, out, err = run(capsys, "convert", f"{factory_file}:tiny", "--input-shape", "3,16,16", "-k", "width=4",
                         "-k", "classes=5")
    assert code == 0 and err == ""
    g = nape.CompGraph.from_json(out)
    module = tiny(4, 5)
    assert g == nape.to_graph(module, input_shape=(3, 16, 16))
    assert g.params == sum(p.numel() for p in module.parameters())


def test_convert_factory_file_with_dataclasses_and_neighbour_imports(capsys, factory_file):
    code, out, _ = run(capsys, "convert", f"{factory_file}:configured", "--input-shape", "3,4,4")
    assert code == 0 and nape.CompGraph.from_json(out).nodes[1].out_shape == (6, 4, 4)


def test_convert_builds_on_meta_by_default_and_accepts_classes(capsys, factory_file):
    code, out, _ = run(capsys, "convert", f"{factory_file}:on_meta", "--input-shape", "4")
    assert code == 0 and nape.CompGraph.from_json(out).params == 10
    with pytest.raises(AssertionError, match="built on cpu"):
        main(["convert", f"{factory_file}:on_meta", "--input-shape", "4", "--device", "cpu"])
    code, out, _ = run(capsys, "convert", f"{factory_file}:Wide", "--input-shape", "3x8x8")
    assert code == 0 and nape.CompGraph.from_json(out).ops == ["input", "conv", "relu", "output"]


def test_convert_summary_and_output_file(capsys, factory_file, tmp_path):
    target = tmp_path / "g.json"
    code, out, err = run(capsys, "convert", f"{factory_file}:tiny", "--input-shape", "3,16,16", "-o", str(target),
                         "--summary")
    g = nape.CompGraph.from_json(target)
    assert code == 0 and f"wrote {target} ({g.num_nodes} nodes" in err
    assert "global_avgpool" in out and f"params {g.params:,}" in out and "{" not in out
    # a graph JSON file converts to itself
    code, out, _ = run(capsys, "convert", str(target), "--indent", "1")
    assert code == 0 and nape.CompGraph.from_json(out) == g and out.startswith("{\n ")


def test_convert_importable_module_factory(capsys):
    code, out, _ = run(capsys, "convert", "tests.cli.test_main:tiny", "--input-shape", "3,8,8")
    assert code == 0 and nape.CompGraph.from_json(out) == nape.to_graph(tiny(), input_shape=(3, 8, 8))


def test_convert_space_encoding_parses_literals(capsys):
    plugins.register(SpacePlugin(), "chain-space")
    try:
        code, out, _ = run(capsys, "convert", "--space", "test_chain", "(8, 16)")
        assert code == 0
        assert nape.CompGraph.from_json(out) == nape.spaces.get("test_chain").to_graph((8, 16))
        code, out2, _ = run(capsys, "convert", "--space", "test_chain", "8-16")       # the space's string format
        assert out2 == out
        code, _, err = run(capsys, "convert", "--space", "test_chain", "(8, 17)")
        assert code == 2 and "is not a chain" in err
    finally:
        plugins.unregister("chain-space")


def test_convert_nb201_encoding(capsys):
    if "nb201" not in nape.spaces.names():
        pytest.skip("the nb201 space is not registered")
    code, out, _ = run(capsys, "convert", "--space", "nb201", NB201_ARCH, "--summary")
    g = nape.spaces.get("nb201").to_graph(NB201_ARCH)
    assert code == 0 and f"nodes {g.num_nodes}  edges {g.num_edges}" in out
    code, out, _ = run(capsys, "convert", NB201_ARCH)        # recognised without --space
    assert code == 0 and nape.CompGraph.from_json(out) == g


@pytest.mark.parametrize("argv, message", [
    (["{f}:tiny"], "needs input_shape=(C, H, W)"),
    (["{f}:nope", "--input-shape", "3,8,8"], "has no 'nope'; its callables: Config, Wide, configured, data_dependent, dataclass, not_a_module, on_meta, tiny"),
    (["{f}:not_a_module", "--input-shape", "3,8,8"], "not_a_module() returned a int, not a torch.nn.Module"),
    (["{f}:data_dependent", "--input-shape", "3,8,8"], "failed on the meta device"),
    (["missing_dir/models.py:tiny", "--input-shape", "3,8,8"], "no file missing_dir/models.py"),
    (["no_such_package_xyz.models:tiny"], "cannot import no_such_package_xyz.models"),
    (["--space", "no-such-space", "(1, 2)"], "no search space named 'no-such-space'"),
    (["(1, 2)", "-k", "a=1"], "-k/--kwarg only applies to MODULE.py:FACTORY targets"),
    (["not an encoding"], "no registered space parses 'not an encoding'; the closest, "),
    (["|nor_conv_3x3~0|+|skip_conect~0|none~1|+|none~0|none~1|none~2|"], "unknown op 'skip_conect'"),
])
def test_convert_errors_are_one_line_with_status_2(capsys, factory_file, argv, message):
    code, out, err = run(capsys, "convert", *(a.replace("{f}", str(factory_file)) for a in argv))
    assert code == 2 and out == ""
    assert err.startswith("nape convert: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err


def test_convert_data_dependent_factory_works_on_cpu(capsys, factory_file):
    code, out, _ = run(capsys, "convert", f"{factory_file}:data_dependent", "--input-shape", "3", "--device", "cpu")
    assert code == 0 and nape.CompGraph.from_json(out).ops == ["input", "linear", "output"]


def test_bad_input_shape_is_a_usage_error(capsys, factory_file):
    with pytest.raises(SystemExit) as exit_:
        main(["convert", f"{factory_file}:tiny", "--input-shape", "3,0,32"])
    assert exit_.value.code == 2 and "write C,H,W without the batch" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- plugins
def test_plugins_lists_sources_hooks_and_registries(capsys):
    plugins.register(SpacePlugin(), "chain-space")
    try:
        code, out, _ = run(capsys, "plugins")
    finally:
        plugins.unregister("chain-space")
    assert code == 0
    assert "nape_plugin.convert.builtin  (built-in)" in out
    assert "chain-space  (run time)\n    hooks:       nape_register_spaces\n    spaces:      test_chain" in out
    modules, functions, methods = op_mappings()
    assert f"op mappings: {len(modules) + len(functions) + len(methods)} ({len(modules)} module classes" in out
    assert f"spaces ({len(nape.spaces.names()) + 1}): " in out
    for row in plugins.describe():
        if row["source"].startswith("entry point"):
            assert f"{row['name']}  ({row['source']})" in out and " of " in row["source"]


def test_plugins_json(capsys):
    code, out, _ = run(capsys, "plugins", "--json")
    data = json.loads(out)
    assert code == 0 and data["plugins"] == plugins.describe()
    assert data["registered"]["spaces"] == nape.spaces.names()
    assert set(data["registered"]) == {"spaces", "predictors", "pretrained", "commands", "op_mappings"}
    assert data["registered"]["commands"] == list(plugins.commands()) and data["blocked"] == []


def test_a_broken_plugin_is_reported_without_traceback(capsys, tmp_path, monkeypatch):
    from tests.plugins.test_manager import fake_distribution
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_distribution(tmp_path, "broken-plugin", "2.0", {"broken": "no_such_module_xyz"})
    monkeypatch.setattr(manager, "_manager", None)
    try:
        code, _, err = run(capsys, "plugins")
    finally:
        monkeypatch.undo()
        manager._refresh()
    assert code == 2 and err.startswith("nape plugins: error: cannot load plugin 'broken'")
