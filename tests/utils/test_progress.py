"""nape_plugin.utils.progress: one helper for every bar; NAPE_PROGRESS and the terminal rule hold everywhere, and
every loop over many graphs (building, loading, packing, predicting, searching) reports through it."""
from __future__ import annotations

import sys

import pytest

import nape_plugin as nape
from nape_plugin.data import datasets
from nape_plugin.graph.packed import PackedGraphs
from nape_plugin.utils import progress


class Terminal:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("env, tty, enabled, shown", [
    ("", True, None, True), ("", False, None, False),              # the terminal rule
    ("1", False, None, True), ("0", True, None, False),            # NAPE_PROGRESS overrides it
    ("1", True, False, False), ("0", False, True, True),           # an explicit choice overrides both
])
def test_who_decides_whether_a_bar_shows(monkeypatch, env, tty, enabled, shown):
    monkeypatch.setenv(progress.ENV, env)
    monkeypatch.setattr(sys, "stderr", Terminal(tty))
    assert progress.shown(enabled) is shown


@pytest.fixture
def bars(monkeypatch, capsys):
    """Bars on (as NAPE_PROGRESS=1 in a pipe) and immediate; returns a function giving the descriptions printed."""
    monkeypatch.setenv(progress.ENV, "1")
    monkeypatch.setattr(progress, "DELAY_S", 0.0)

    def printed() -> str:
        return capsys.readouterr().err
    return printed


def test_quick_work_prints_no_bar(monkeypatch, capsys):
    monkeypatch.setenv(progress.ENV, "1")
    for _ in progress.track(range(10), "quick"):
        pass
    assert "quick" not in capsys.readouterr().err                 # under a second: nothing to report


def test_loading_a_benchmark_shows_building_and_loading_bars(bars, shared_data, tmp_path):
    datasets.load("nb201", root=shared_data, limit=30, cache=tmp_path)
    assert "build nb201 graphs" in bars()
    ds = datasets.load("nb201", root=shared_data, limit=30, cache=tmp_path)
    assert "load cached graphs" in bars()
    PackedGraphs(ds.graphs)
    assert "pack graphs" in bars()


def test_predicting_and_searching_show_bars(bars):
    space = nape.spaces.get("nb201")
    nape.load_pretrained().predict([space.sample(i) for i in range(20)], space="nb201")
    err = bars()
    assert "build graphs" in err and "predict" in err
    nape.search("nb201", "flops", budget=20, population=5, sample_size=2)
    assert "search nb201" in bars()                               # it used to ignore NAPE_PROGRESS
