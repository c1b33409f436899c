"""Every built-in predictor keeps the fit/predict contract (nape_plugin.testing.check_predictor)."""
from __future__ import annotations

import numpy as np
import pytest

import nape_plugin as nape
from nape_plugin.gennape.bagging import BaggedEstimator
from nape_plugin.gennape.estimator import GennapeEstimator
from nape_plugin.plugins import get_predictor
from nape_plugin.predictors.learning_curves import LearningCurvePredictor
from nape_plugin.testing import check_predictor

TINY = dict(width=8, layers=1, embed_dim=8, num_heads=2, contrastive_epochs=1, epochs=2, finetune_epochs=3,
            progress=False)
SPACE = nape.spaces.get("nb201")
ARCHS = [SPACE.sample(i) for i in range(24)]
GRAPHS = [SPACE.to_graph(a) for a in ARCHS]
Y = np.array([70 + 3 * np.log1p(g.flops / 1e6) - np.log1p(g.params / 1e5) for g in GRAPHS])


@pytest.mark.parametrize("predictor", [
    get_predictor("gbdt", n_estimators=20, n_ensemble=2), get_predictor("random_forest", n_estimators=20),
    get_predictor("flops"), get_predictor("params"),
    GennapeEstimator(**TINY), BaggedEstimator(GennapeEstimator(**TINY), n_members=2, subsample=0.5),
], ids=lambda p: type(p).__name__ + getattr(p, "proxy", "") + getattr(p, "backend", ""))
def test_graph_predictors(predictor):
    check_predictor(predictor, GRAPHS, Y)


def test_a_pretrained_estimator_fine_tuning():
    check_predictor(nape.load_pretrained().set_params(finetune="heads", finetune_epochs=20), GRAPHS, Y)


def test_a_proxy_of_a_space_scores_architectures():
    check_predictor(get_predictor("synflow", space="nb201", batch_size=4), ARCHS[:8], Y[:8])


def test_learning_curves():
    rng = np.random.default_rng(0)
    final = rng.uniform(80, 95, 30)
    curves = final[:, None] * (1 - np.exp(-np.arange(1, 5) / 2))[None] + rng.normal(0, 0.3, (30, 4))
    check_predictor(LearningCurvePredictor(use_arch=False, n_hypers=3, n_ensemble=2), curves, final)
