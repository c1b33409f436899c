"""Predictor-guided search: Pareto fronts, regularised evolution, GENNAPE mode, scorers, and the CLI."""
from __future__ import annotations

import csv

import numpy as np
import pytest

import nape_plugin as nape
from nape_plugin import spaces
from nape_plugin.cli import main
from nape_plugin.errors import DataError, UnknownNameError
from nape_plugin.search import hypervolume_2d, make_scorer, pareto_front
from nape_plugin.predictors.gbdt import GBDTPredictor

SPACE = spaces.get("nb201")
START = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def conv_score(archs):
    """A known landscape: +2 per 3x3 conv, +1 per 1x1 conv, -1 per 'none' (best: all 3x3 convs, score 12)."""
    value = {"nor_conv_3x3": 2, "nor_conv_1x1": 1, "none": -1}
    return [sum(value.get(op, 0) for op in SPACE.ops(a)) for a in archs]


def test_pareto_front_by_hand():
    pts = np.array([[1, 5], [2, 4], [2, 3], [0, 6], [1, 4], [2, 4]])
    assert pareto_front(pts).tolist() == [0, 1, 3, 5]       # ties both stay
    assert pareto_front([3, 1, 3]).tolist() == [0, 2]


def test_hypervolume_by_hand():
    # score up, cost down, reference (0, 10): rectangles 2x(10-1) area for the first, +1x(10-4) for the step up
    assert hypervolume_2d([2, 3], [1, 4], 0, 10) == pytest.approx(2 * 3 + 3 * 6)
    assert hypervolume_2d([-1], [1], 0, 10) == 0.0


def test_evolution_finds_the_optimum_of_a_known_landscape_and_is_reproducible():
    res = nape.search("nb201", conv_score, budget=150, population=20, sample_size=5, seed=0)
    assert len(res.history) == 150
    assert len({r["arch"] for r in res.history}) == 150               # each architecture is scored once
    again = nape.search("nb201", conv_score, budget=150, population=20, sample_size=5, seed=0)
    assert [r["arch"] for r in again.history] == [r["arch"] for r in res.history]
    assert res.best_after(1) == res.history[0]
    evo = [nape.search("nb201", conv_score, budget=150, population=20, sample_size=5, seed=s).best["score"]
           for s in range(5)]
    rand = [nape.search("nb201", conv_score, budget=150, strategy="random", seed=s).best["score"] for s in range(5)]
    assert max(evo) == 12 and np.mean(evo) >= np.mean(rand) + 1.5


def test_multi_objective_front_is_non_dominated(tmp_path):
    latency = {a: float(i % 7) for i, a in enumerate(SPACE.enumerate())}
    res = nape.search(SPACE, conv_score, budget=80, costs={"flops": "flops", "latency": latency}, seed=1,
                      plot=tmp_path / "front.png")
    assert res.costs == ("flops", "latency")
    front = res.front
    assert front and all(r in res.history for r in front)
    for r in front:
        assert not any(o["score"] >= r["score"] and o["flops"] <= r["flops"] and o["latency"] <= r["latency"]
                       and (o["score"], o["flops"], o["latency"]) != (r["score"], r["flops"], r["latency"])
                       for o in res.history)
    assert res.history[0]["flops"] == pytest.approx(SPACE.to_graph(res.history[0]["arch"]).flops / 1e6)
    assert (tmp_path / "front.png").stat().st_size > 1000 and res.plot == tmp_path / "front.png"
    res.to_csv(tmp_path / "h.csv")
    with open(tmp_path / "h.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 80 and set(rows[0]) == {"query", "arch", "score", "flops", "latency"}


def test_gennape_mode_finds_higher_scores_with_fewer_flops():
    # score: a made-up accuracy that prefers 3x3 convs but punishes FLOPs a little
    def score(archs):
        return [s - 0.05 * SPACE.to_graph(a).flops / 1e6 for a, s in zip(archs, conv_score(archs))]

    res = nape.search("nb201", score, budget=60, start=START, population=10, sample_size=3, seed=0)
    assert res.start["arch"] == SPACE.parse(START) and res.costs == ("flops",)
    assert res.improved, "no better, cheaper architecture found"
    for r in res.improved:
        assert r["score"] > res.start["score"] and r["flops"] < res.start["flops"]
    assert res.start not in res.history       # the start is given, not a query


def test_scorers_predictor_objects_and_names():
    archs = [SPACE.sample(i) for i in range(30)]
    gbdt = GBDTPredictor(n_estimators=30, n_ensemble=1).fit([SPACE.to_graph(a) for a in archs], conv_score(archs))
    res = nape.search("nb201", gbdt, budget=30, seed=0)
    assert res.best["score"] == pytest.approx(max(gbdt.predict([SPACE.to_graph(r["arch"]) for r in res.history])))
    params = make_scorer("params", SPACE)            # a registered zero-cost predictor, space filled in
    assert params([archs[0]], [SPACE.to_graph(archs[0])])[0] == pytest.approx(SPACE.to_graph(archs[0]).params / 1e6)
    with pytest.raises(UnknownNameError, match="no pretrained estimator or predictor named 'nope'"):
        make_scorer("nope", SPACE)
    with pytest.raises(DataError, match="cannot score"):
        make_scorer(42, SPACE)


def test_bad_arguments():
    with pytest.raises(UnknownNameError, match="evolution, random"):
        nape.search("nb201", conv_score, budget=5, strategy="bayes")
    with pytest.raises(DataError, match="sample_size"):
        nape.search("nb201", conv_score, budget=5, population=3, sample_size=5)
    with pytest.raises(UnknownNameError, match="unknown cost 'latency'"):
        nape.search("nb201", conv_score, budget=5, costs=["latency"])
    with pytest.raises(DataError, match="no entry"):
        nape.search("nb201", conv_score, budget=5, costs={"lat": {START: 1.0}})
    with pytest.raises(DataError, match="returned shape"):
        nape.search("nb201", lambda archs: [1.0, 2.0], budget=5, batch_size=1)


def test_cli_search_and_surrogate(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["search", "--space", "nb201", "--scorer", "params", "--cost", "flops", "--budget", "40",
                 "--population", "10", "--sample-size", "3", "--out", str(out), "--no-progress", "--top", "3"]) == 0
    text = capsys.readouterr().out
    assert "40 architectures of nb201" in text and "Pareto front" in text
    assert {p.name for p in out.iterdir()} == {"history.csv", "front.csv", "pareto.png"}
    archs = list(dict.fromkeys(SPACE.sample(i) for i in range(60)))
    table = tmp_path / "labelled.csv"
    with open(table, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["arch", "acc"])
        w.writerows(zip(archs, conv_score(archs)))
    assert main(["search", "--space", "nb201", "--scorer", "gbdt", "-k", "n_ensemble=1", "--train-csv", str(table),
                 "--label-column", "acc", "--budget", "20", "--population", "5", "--sample-size", "2",
                 "--no-progress", "--json"]) == 0
    assert '"queries": 20' in capsys.readouterr().out
    assert main(["surrogate", "gbdt", "--space", "nb201", "--train", str(table), "--test", str(table),
                 "--label-column", "acc", "-k", "n_ensemble=2", "-o", str(tmp_path / "pred.csv")]) == 0
    assert "Spearman" in capsys.readouterr().out
    with open(tmp_path / "pred.csv", newline="") as fh:
        assert next(csv.reader(fh)) == ["arch", "prediction", "std"]
    assert main(["surrogate", "flops", "--space", "nb201", "--test", str(table), "--label-column", "acc"]) == 0
    assert main(["surrogate", "gbdt", "--space", "nb201", "--test", str(table)]) == 2
    assert "must be fitted first" in capsys.readouterr().err
