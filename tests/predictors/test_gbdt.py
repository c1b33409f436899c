"""GRAF-style graph features and the gradient-boosted-tree surrogate."""
from __future__ import annotations

import csv
import random

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone

from nape_plugin import plugins, spaces
from nape_plugin.graph.builder import GraphBuilder
from nape_plugin.errors import EmptyBatchError, LabelError, LengthMismatchError, NotFittedError, UnknownNameError
from nape_plugin.utils.validation import normal_scores
from nape_plugin.predictors.gbdt import (FEATURE_NAMES, GBDTPredictor, _from_normal_scores, feature_matrix,
                                    graph_features)


def _f(g) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, graph_features(g)))


def two_branch():
    """input -> conv3 -> relu -> {conv1 | maxpool | zero} -> add -> output."""
    b = GraphBuilder((3, 8, 8))
    x = b.relu(b.conv(b.input, 4, 3))
    y = b.conv(x, 4, 1)
    z = b.pool("max", x, 3, 1, padding=1)
    dead = b.zero(x)
    return b.build(b.add([y, z, dead]))


def rand_net(seed: int):
    r = random.Random(seed)
    b = GraphBuilder((3, 16, 16))
    x = b.relu(b.bn(b.conv(b.input, 8, 3)))
    c = 8
    for stage in range(2):
        for _ in range(r.randint(1, 3)):
            y = b.relu(b.bn(b.conv(x, c, r.choice([1, 3, 5]))))
            if r.random() < 0.5:
                y = b.bn(b.conv(y, c, 3))
            x = b.add([x, y]) if r.random() < 0.6 else y
        if stage == 0:
            c *= 2
            x = b.relu(b.bn(b.conv(x, c, 3, stride=2)))
    return b.build(b.linear(b.flatten(b.global_pool(x)), 10))


def test_feature_vector_matches_hand_counts():
    g = two_branch()
    f = _f(g)
    assert len(graph_features(g)) == len(FEATURE_NAMES)
    assert f["count_conv"] == 2 and f["count_maxpool"] == 1 and f["count_zero"] == 1 and f["count_add"] == 1
    assert f["conv_k1"] == 1 and f["conv_k3"] == 1
    # depth counts nodes on the longest path: input conv relu conv add output
    assert f["depth"] == 6
    # three paths reach the add, but the one through `zero` carries nothing
    assert f["log_num_paths"] == pytest.approx(np.log10(2 + 1))
    assert (f["path_min_conv"], f["path_max_conv"]) == (1, 2)
    assert f["path_mean_conv"] == pytest.approx(1.5)
    assert (f["path_min_pool"], f["path_max_pool"]) == (0, 1)
    conv_flops = sum(n.flops for n in g.nodes if n.op == "conv")
    assert f["flops_share_conv"] == pytest.approx(conv_flops / g.flops)
    assert f["merge_nodes"] == 1 and f["branch_nodes"] == 1 and f["in_degree_max"] == 3
    assert f["log_flops"] == pytest.approx(np.log10(g.flops + 1))


def test_features_of_a_graph_with_no_live_path_are_minus_one():
    b = GraphBuilder((3, 8, 8))
    g = b.build(b.zero(b.conv(b.input, 4, 3)))
    f = _f(g)
    assert f["path_min_conv"] == f["path_max_conv"] == -1 and f["log_num_paths"] == 0


def test_gbdt_learns_a_structural_target_and_reports_spread():
    graphs = [rand_net(i) for i in range(160)]
    X = feature_matrix(graphs)
    y = np.log(X[:, FEATURE_NAMES.index("log_flops")]) + 0.1 * X[:, FEATURE_NAMES.index("path_max_conv")]
    for backend in ("hist", "rf"):
        model = GBDTPredictor(backend=backend, n_estimators=100, n_ensemble=3).fit(graphs[:80], y[:80])
        mean, std = model.predict(graphs[80:], return_std=True)
        assert mean.shape == std.shape == (80,)
        assert spearmanr(mean, y[80:]).statistic > 0.8
        assert (std >= 0).all() and std.max() > 0


def test_rank_targets_map_back_to_label_units_and_keep_order_past_the_ends():
    y = np.array([10.0, 50, 80, 85, 90, 91, 92, 93])
    z = normal_scores(y)
    knots = (np.sort(z), np.sort(y))
    assert np.allclose(_from_normal_scores(z, *knots), y)
    out = _from_normal_scores(np.array([-9.0, -5.0, z.min(), 0.0, z.max(), 2.0, 5.0]), *knots)
    assert np.all(np.diff(out) > 0) and out[4] == 93 and out[2] == 10
    graphs = [rand_net(i) for i in range(60)]
    labels = np.log(feature_matrix(graphs)[:, FEATURE_NAMES.index("log_flops")]) * 100
    labels[0] = 5.0                                   # a diverged run
    pred = GBDTPredictor(n_estimators=100, n_ensemble=1).fit(graphs, labels).predict(graphs)
    assert spearmanr(pred, labels).statistic > 0.9 and np.median(np.abs(pred - labels)) < 0.1 * np.ptp(labels[1:])
    with pytest.raises(UnknownNameError, match="rank, zscore"):
        GBDTPredictor(target="ranks").fit(graphs, labels)


def test_gbdt_is_deterministic_and_clonable():
    graphs = [rand_net(i) for i in range(40)]
    y = np.arange(40.0)
    a = GBDTPredictor(n_estimators=30, n_ensemble=2, random_state=3).fit(graphs, y).predict(graphs[:5])
    b = clone(GBDTPredictor(n_estimators=30, n_ensemble=2, random_state=3)).fit(graphs, y).predict(graphs[:5])
    assert np.array_equal(a, b)


def test_gbdt_errors():
    graphs = [rand_net(i) for i in range(4)]
    with pytest.raises(NotFittedError, match="fit"):
        GBDTPredictor().predict(graphs)
    with pytest.raises(LengthMismatchError, match="4 architectures but 3 labels"):
        GBDTPredictor().fit(graphs, [1, 2, 3])
    with pytest.raises(LabelError, match="NaN"):
        GBDTPredictor().fit(graphs, [1, 2, np.nan, 3])
    with pytest.raises(EmptyBatchError):
        GBDTPredictor().fit([], [])
    with pytest.raises(UnknownNameError, match="hist, rf"):
        GBDTPredictor(backend="nope").fit(graphs, [1, 2, 3, 4])


def test_registered_by_name():
    assert isinstance(plugins.get_predictor("gbdt"), GBDTPredictor)
    rf = plugins.get_predictor("random_forest", n_estimators=10)
    assert rf.backend == "rf" and rf.n_estimators == 10


def test_gbdt_ranks_real_nb201_cells(shared_data):
    with open(shared_data / "nb201" / "nb201.csv", newline="") as fh:
        rows = [r for _, r in zip(range(400), csv.DictReader(fh))]
    archs = [r["arch_str"] for r in rows]
    y = np.array([float(r["c10_test_200ep"]) for r in rows])
    space = spaces.get("nb201")
    model = GBDTPredictor(n_estimators=150, n_ensemble=1).fit(archs[:100], y[:100], space="nb201")
    pred = model.predict([space.to_graph(a) for a in archs[100:]])
    assert spearmanr(pred, y[100:]).statistic > 0.6
