"""Learning-curve extrapolation, the early-stopping rule and its replay."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import r2_score

from nape_plugin import plugins, spaces
from nape_plugin.errors import DataError, LabelError, NotFittedError
from nape_plugin.predictors.learning_curves import (ARCH_FEATURES, EarlyStopping, LearningCurvePredictor, arch_features,
                                         curve_features, simulate_early_stopping)


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Saturating curves a(t) = f * (1 - exp(-t / tau)) observed at t = 1, 2, 4; final value f (+ small noise)."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(0.6, 0.95, n)
    tau = rng.uniform(1.0, 4.0, n)
    t = np.array([1.0, 2.0, 4.0])
    curves = f[:, None] * (1 - np.exp(-t[None] / tau[:, None]))
    return curves, f + rng.normal(0, 0.003, n)


def test_curve_features_by_hand():
    f = curve_features([[0.1, 0.3, 0.4]])[0]
    d1, d2 = [0.2, 0.1], [-0.1]
    expected = [0.1, 0.3, 0.4, np.mean([0.1, 0.3, 0.4]), np.std([0.1, 0.3, 0.4]),
                *d1, np.mean(d1), np.std(d1), *d2, np.mean(d2), 0.0]
    assert f == pytest.approx(expected)
    assert curve_features([[0.5], [0.7]]).shape == (2, 3)          # one point: no differences
    assert curve_features(np.ones((4, 2))).shape == (4, 7)


def test_predictor_extrapolates_synthetic_curves():
    curves, y = synthetic(300)
    for k, floor in ((2, 0.6), (3, 0.9)):
        model = LearningCurvePredictor(use_arch=False, n_hypers=10, n_ensemble=4).fit(curves[:150, :k], y[:150])
        mean, spread = model.predict(curves[150:, :k], return_std=True)
        assert r2_score(y[150:], mean) > floor
        assert spread.shape == (150,) and (spread >= 0).all() and model.residual_std_ > 0
    assert model.best_params_.keys() == {"nusvr__C", "nusvr__nu", "nusvr__gamma"}


def test_other_models_and_determinism():
    curves, y = synthetic(60)
    a = LearningCurvePredictor(model="bayesian_ridge", use_arch=False, n_hypers=3, n_ensemble=2).fit(curves, y)
    b = LearningCurvePredictor(model="bayesian_ridge", use_arch=False, n_hypers=3, n_ensemble=2).fit(curves, y)
    assert np.array_equal(a.predict(curves), b.predict(curves))
    rf = LearningCurvePredictor(model="random_forest", use_arch=False, n_hypers=1, n_ensemble=1).fit(curves, y)
    assert spearmanr(rf.predict(curves), y).statistic > 0.9


def test_architecture_features_from_graphs_or_an_array():
    space = spaces.get("nb201")
    graphs = [space.to_graph(space.sample(i)) for i in range(40)]
    A = arch_features(graphs)
    assert A.shape == (40, len(ARCH_FEATURES))
    curves, y = synthetic(40)
    y = y + 0.05 * (A[:, 0] - A[:, 0].mean())       # final accuracy also depends on FLOPs
    model = LearningCurvePredictor(n_hypers=5, n_ensemble=2).fit(curves[:, :1], y, graphs=graphs)
    assert np.allclose(model.predict(curves[:5, :1], graphs=graphs[:5]), model.predict(curves[:5, :1], graphs=A[:5]))
    with pytest.raises(DataError, match="needs graphs"):
        model.predict(curves[:, :1])


def test_prob_exceeds_and_the_stopping_rule():
    curves, y = synthetic(120)
    model = LearningCurvePredictor(use_arch=False, n_hypers=8, n_ensemble=4).fit(curves[:, :2], y)
    mean = model.predict(curves[:1, :2])[0]
    p = [model.prob_exceeds(curves[:1, :2], t)[0] for t in (mean - 0.1, mean, mean + 0.1)]
    assert p[0] > 0.95 and p[1] == pytest.approx(0.5) and p[2] < 0.05
    rule = EarlyStopping(model, delta=0.05)
    assert rule.should_stop(curves[0, :2], best=mean + 0.1)
    assert not rule.should_stop(curves[0, :2], best=mean - 0.1)
    assert not rule.should_stop(curves[0, :2], best=-np.inf)
    assert not rule.should_stop(curves[0, :3], best=mean + 0.1)        # no predictor for 3 points


def test_replay_saves_epochs_without_losing_the_best_run():
    curves, y = synthetic(160, seed=1)
    res = simulate_early_stopping(curves, y, checkpoints=[1, 2, 4], final_epoch=20, n_warmup=40, delta=0.01,
                                  predictor_factory=lambda: LearningCurvePredictor(use_arch=False, n_hypers=6,
                                                                                   n_ensemble=3))
    assert res["stopped"] > 60 and res["speedup"] > 2.0
    assert res["regret"] <= 0.01 and res["epochs_full"] == 160 * 20
    costly = simulate_early_stopping(curves, y, checkpoints=[1, 3, 7], final_epoch=20, n_warmup=40, delta=0.01,
                                     run_cost=27, refit_every=60,
                                     predictor_factory=lambda: LearningCurvePredictor(use_arch=False, n_hypers=6,
                                                                                      n_ensemble=3))
    assert costly["epochs"] > res["epochs"]
    with pytest.raises(DataError, match="checkpoints"):
        simulate_early_stopping(curves, y, checkpoints=[1, 2], final_epoch=20)


def test_errors_and_registry():
    curves, y = synthetic(30)
    with pytest.raises(NotFittedError, match="fit"):
        LearningCurvePredictor(use_arch=False).predict(curves)
    with pytest.raises(LabelError, match="NaN"):
        LearningCurvePredictor(use_arch=False).fit(np.where(np.eye(30, 3) > 0, np.nan, curves), y)
    with pytest.raises(DataError, match="at least 6 complete runs"):
        LearningCurvePredictor(use_arch=False).fit(curves[:4], y[:4])
    model = LearningCurvePredictor(use_arch=False, n_hypers=3, n_ensemble=1).fit(curves[:, :2], y)
    with pytest.raises(DataError, match="fitted on curves of 2 epochs but got 3"):
        model.predict(curves)
    assert isinstance(plugins.get_predictor("lcsvr", n_hypers=5), LearningCurvePredictor)


def test_real_nb101_curves(shared_data):
    with open(shared_data / "nb101" / "nb101_subset.csv", newline="") as fh:
        rows = [r for _, r in zip(range(400), csv.DictReader(fh))]
    curves = np.array([[float(r[f"{e}_final_validation_accuracy"]) for e in (4, 12, 36)] for r in rows])
    y = np.array([float(r["108_final_validation_accuracy"]) for r in rows])
    model = LearningCurvePredictor(use_arch=False, n_hypers=10, n_ensemble=3).fit(curves[:200], y[:200])
    assert spearmanr(model.predict(curves[200:]), y[200:]).statistic > 0.7
    specs = [{"matrix": json.loads(r["adjacency"]), "ops": json.loads(r["ops"])} for r in rows[:60]]
    with_arch = LearningCurvePredictor(n_hypers=5, n_ensemble=2).fit(curves[:60, :1], y[:60], graphs=specs,
                                                                     space="nb101")
    assert with_arch.predict(curves[:3, :1], graphs=specs[:3], space="nb101").shape == (3,)
