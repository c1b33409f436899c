"""nape_naslib.compat: what NASLib's imports lack, supplied without shadowing what works (no NASLib needed)."""
from __future__ import annotations

import collections
import importlib
import sys

import pytest

from nape_plugin import cli
from nape_naslib import compat


def _torchvision_modules() -> list[str]:
    return [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]


@pytest.fixture
def fake_torchvision(tmp_path, monkeypatch):
    """Write an importable ``torchvision`` package whose ``__init__`` is the given text; whatever torchvision the
    process had is back afterwards."""
    saved = {n: sys.modules.pop(n) for n in _torchvision_modules()}

    def make(body: str) -> None:
        (tmp_path / "torchvision").mkdir()
        (tmp_path / "torchvision" / "__init__.py").write_text(body)
        monkeypatch.syspath_prepend(str(tmp_path))

    yield make
    for name in _torchvision_modules():
        del sys.modules[name]
    sys.modules.update(saved)


def test_a_torchvision_that_imports_is_never_shadowed(fake_torchvision):
    fake_torchvision("REAL = True\n")
    with compat.torchvision_stand_in() as why:
        import torchvision
        assert why is None and torchvision.REAL and not isinstance(torchvision, compat.TorchvisionStandIn)
    assert sys.modules["torchvision"] is torchvision


def test_a_broken_torchvision_is_replaced_while_naslib_imports_and_left_alone_afterwards(fake_torchvision):
    fake_torchvision("raise RuntimeError('operator torchvision::nms does not exist')\n")
    with compat.torchvision_stand_in() as why:
        import torchvision
        assert isinstance(torchvision, compat.TorchvisionStandIn)
        assert why.startswith("broken (RuntimeError: operator torchvision::nms does not exist")
    assert "torchvision" not in sys.modules
    with pytest.raises(RuntimeError, match="nms"):      # the rest of the process sees the real state
        importlib.import_module("torchvision")


def test_the_stand_in_provides_the_names_naslib_imports(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)          # as if torchvision were not installed
    with compat.torchvision_stand_in() as why:
        assert why == "not installed"
        import torchvision.datasets as dset
        import torchvision.models as models
        import torchvision.transforms as T
        from torchvision.transforms import Compose
        from torchvision.transforms import functional as F
        assert {dset.__name__, models.__name__, F.__name__} == {"torchvision.datasets", "torchvision.models",
                                                                   "torchvision.transforms.functional"}
        assert Compose is T.Compose
        for name in compat.TRANSFORMS:                               # NASLib subclasses these at import
            subclass = type(name, (getattr(T, name),), {})
            with pytest.raises(RuntimeError, match=f"torchvision.transforms.{name} is not available: torchvision "
                                                   "is not installed"):
                subclass()
        with pytest.raises(AttributeError, match="torchvision.datasets.CIFAR10 is not available"):
            dset.CIFAR10
    assert sys.modules["torchvision"] is None


def test_collections_gets_only_the_aliases_python_removed(monkeypatch):
    monkeypatch.delattr(collections, "Iterable", raising=False)
    added = compat.alias_collections()
    try:
        assert added == ["Iterable"] and collections.Iterable is collections.abc.Iterable
        from collections import Iterable        # noqa: F401  (NASLib's import)
        assert compat.alias_collections() == []
    finally:
        if added:
            del collections.Iterable


def test_without_naslib_load_naslib_says_what_to_do_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "naslib", None)
    with pytest.raises(compat.NaslibUnavailable, match=r"NASLib is not importable .*sys\.path.*docs/naslib\.md"):
        compat.load_naslib()
    assert not compat.naslib_importable()


def test_a_missing_naslib_dependency_is_named(monkeypatch):
    monkeypatch.setattr(compat, "PACKAGES", ("nape_naslib_missing_dependency_probe",))
    with pytest.raises(compat.NaslibUnavailable, match="imports 'nape_naslib_missing_dependency_probe', which is "
                                                       "not installed: install NASLib's dependencies"):
        compat.load_naslib()


def test_naslib_eval_without_naslib_prints_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "naslib", None)
    assert cli.main(["naslib-eval", "--labels", str(tmp_path / "nb201.csv")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nape naslib-eval: error: NASLib is not importable")
    assert "Traceback" not in captured.err + captured.out
