"""Old import paths of moved modules: each resolves to the new module itself, with a DeprecationWarning naming it."""
import importlib
import sys
import warnings

import pytest

import nape_plugin
from nape_plugin._moved import MOVED


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_path_is_the_new_module_and_warns(old, new, monkeypatch):
    for name in [n for n in sys.modules if n == old or n.startswith(old + ".")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__name__ == new and module.__spec__.name == new


def test_attributes_of_old_paths_are_the_new_objects():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from nape_plugin.estimator import GennapeEstimator
    from nape_plugin.gennape.estimator import GennapeEstimator as New
    assert GennapeEstimator is New


def test_nothing_in_the_repository_relies_on_the_old_paths():
    import re
    from pathlib import Path
    root = Path(nape_plugin.__file__).resolve().parents[1]
    old = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(MOVED, key=len, reverse=True)) + r")(?!\w)")
    offenders = []
    for folder in ("nape_plugin", "adapters", "tests", "benchmarks", "examples", "docs"):
        for p in (root / folder).rglob("*"):
            if p.suffix in (".py", ".md") and p.name not in ("_moved.py", "test_moved.py"):
                offenders += [f"{p.relative_to(root)}: {m}" for m in old.findall(p.read_text())]
    assert not offenders, offenders
