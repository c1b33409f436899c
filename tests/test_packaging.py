"""The distribution: every package is listed, entry points resolve, CI runs the README's test command."""
from __future__ import annotations

import importlib
import importlib.metadata as md
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def source_packages() -> dict[str, Path]:
    """Every folder holding Python files under nape_plugin/ and adapters/*, as a dotted package name."""
    found: dict[str, Path] = {}
    tops = [ROOT / "nape_plugin"] + sorted(p for p in (ROOT / "adapters").iterdir() if p.is_dir())
    for top in tops:
        for folder in [top, *sorted(p for p in top.rglob("*") if p.is_dir())]:
            if folder.name == "__pycache__" or not any(folder.glob("*.py")):
                continue
            found[".".join((top.name, *folder.relative_to(top).parts))] = folder
    return found


def test_every_package_is_listed_and_complete():
    packages = source_packages()
    assert "nape_plugin.spaces" in packages and "nape_nni" in packages
    missing = sorted(set(packages) - set(SETUPTOOLS["packages"]))
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    stale = sorted(set(SETUPTOOLS["packages"]) - set(packages))
    assert not stale, f"pyproject.toml lists packages that do not exist: {stale}"
    no_init = sorted(name for name, folder in packages.items() if not (folder / "__init__.py").is_file())
    assert not no_init, f"these folders hold Python files but no __init__.py: {no_init}"


def test_adapters_are_mapped_to_their_folders():
    package_dir = SETUPTOOLS["package-dir"]
    for name, folder in source_packages().items():
        top, *sub = name.split(".")
        if top != "nape_plugin":
            assert (ROOT / package_dir[top]).joinpath(*sub) == folder, name


def test_extras():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"nni", "naslib", "onnx", "test", "docs"} <= set(extras)
    assert any(r.startswith("pytest") for r in extras["test"])
    assert not any(r.split("[")[0].strip().startswith(("nni", "naslib")) for r in PYPROJECT["project"]["dependencies"])


def test_the_core_never_imports_the_frameworks():
    pattern = re.compile(r"^\s*(import|from)\s+(nni|naslib)\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "nape_plugin").rglob("*.py") if pattern.search(p.read_text())]
    assert not offenders, f"nape_plugin must not import nni or naslib (adapters do): {offenders}"


def test_declared_entry_points_resolve():
    project = PYPROJECT["project"]
    for name, target in project["scripts"].items():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), name
    for group, eps in project["entry-points"].items():
        for name, target in eps.items():
            module, _, attr = target.partition(":")
            obj = importlib.import_module(module)
            assert obj is not None and (not attr or hasattr(obj, attr)), f"{group}:{name}"


def test_installed_metadata_matches_pyproject():
    """The environment runs what pyproject declares (reinstall with `pip install -e .` when this fails)."""
    dist = md.distribution(PYPROJECT["project"]["name"])
    installed = {(ep.group, ep.name, ep.value) for ep in dist.entry_points}
    declared = {("console_scripts", k, v) for k, v in PYPROJECT["project"]["scripts"].items()}
    declared |= {(g, k, v) for g, eps in PYPROJECT["project"]["entry-points"].items() for k, v in eps.items()}
    assert declared <= installed
    assert dist.version == PYPROJECT["project"]["version"] == importlib.import_module("nape_plugin").__version__


def test_console_script_runs():
    script = Path(sys.executable).with_name("nape")
    if not script.exists():
        pytest.skip(f"no nape script beside {sys.executable}")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"nape-plugin {PYPROJECT['project']['version']}"


def readme_commands() -> list[str]:
    """The README's set-up commands: the lines of its first fenced shell block."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```(?:bash|sh|shell)\n(.*?)```", text, re.S)
    assert block, "README.md must open with a fenced bash block of set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_readme_opens_with_two_commands_and_ci_runs_them_as_written():
    commands = readme_commands()
    assert len(commands) == 2, commands
    demo, tests = commands
    assert "nape demo" in demo and "pytest" in tests
    torch_reqs = [t.strip("'\"") for t in demo.split() if re.split(r"[=<>~!\[]", t.strip("'\""))[0] == "torch"]
    assert torch_reqs == ["torch==2.13.0"], "the install command pins the CPU torch"
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in ci and "git clone" in ci
    program = re.search(r"awk '([^']+)' README\.md", ci)
    assert program, ".ci/run reads the commands from README.md"
    extracted = subprocess.run(["awk", program.group(1), str(ROOT / "README.md")], capture_output=True, text=True,
                               check=True).stdout.splitlines()
    assert extracted == commands, "CI runs exactly the README's two commands"