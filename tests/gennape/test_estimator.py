import copy
import random

import numpy as np
import pytest
import torch
from sklearn.base import clone

import nape_plugin as nape
from nape_plugin import GraphBuilder, metrics
from nape_plugin.errors import EmptyBatchError, LabelError, LengthMismatchError, NotFittedError, WeightsError
from nape_plugin.gennape.estimator import GennapeEstimator
from nape_plugin.gennape.labels import free_statistics
from nape_plugin.graph.packed import PackedGraphs


def chain_net(rng: random.Random):
    """A small conv net with a random number of blocks, widths and skips; its 'accuracy' grows with depth and skips."""
    b = GraphBuilder((3, 16, 16))
    x = b.relu(b.bn(b.conv(b.input, 8, 3)))
    blocks = rng.randint(1, 6)
    skips = 0
    for _ in range(blocks):
        w = b.shape(x)[0]
        y = b.bn(b.conv(b.relu(x), w, rng.choice([1, 3])))
        if rng.random() < 0.5:
            y = b.add([x, y])
            skips += 1
        x = y
    g = b.build(b.linear(b.flatten(b.global_pool(x)), 10))
    return g, 60 + 4 * blocks + 3 * skips


@pytest.fixture(scope="module")
def data():
    rng = random.Random(0)
    pairs = [chain_net(rng) for _ in range(100)]
    return [p[0] for p in pairs], np.array([p[1] for p in pairs], dtype=float)


SMALL = dict(width=16, layers=2, embed_dim=16, num_heads=2, contrastive_epochs=1, epochs=10, batch_size=16, lr=3e-3,
             finetune_epochs=5, progress=False)


@pytest.fixture(scope="module")
def trained(data):
    graphs, y = data
    return GennapeEstimator(**SMALL).fit(graphs[:60], y[:60], groups=["chain"] * 60)


def start(est: GennapeEstimator) -> GennapeEstimator:
    """An estimator that fine-tunes from ``est``'s weights."""
    return GennapeEstimator.from_pretrained(est)


def test_learns_a_structural_target(trained, data):
    graphs, y = data
    assert metrics.spearman(y[60:], trained.predict(graphs[60:])) > 0.7


def test_predict_shapes_and_spread(trained, data):
    graphs, _ = data
    y = trained.predict(graphs[:5])
    mu, sd = trained.predict(graphs[:5], return_std=True)
    assert y.shape == (5,) and mu.shape == (5,) and sd.shape == (5,)
    np.testing.assert_allclose(mu, y)
    assert (sd >= 0).all()
    assert trained.predict_heads(graphs[:5]).shape == (2, 5)
    assert trained.embed(graphs[:5]).shape == (5, 16)


def test_predict_accepts_encodings_through_to_graph(trained):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(8, 10))
    assert trained.predict([net], input_shape=(3, 16, 16)).shape == (1,)


def test_training_is_deterministic_under_a_seed(data):
    graphs, y = data
    params = {**SMALL, "epochs": 2}
    a = GennapeEstimator(**params, random_state=5).fit(graphs[:30], y[:30]).predict(graphs[40:50])
    b = GennapeEstimator(**params, random_state=5).fit(graphs[:30], y[:30]).predict(graphs[40:50])
    np.testing.assert_array_equal(a, b)


def test_sklearn_conventions(trained):
    params = trained.get_params()
    assert params["width"] == 16 and params["num_heads"] == 2 and params["pretrained"] is None
    fresh = clone(trained)
    assert fresh.get_params() == params and not hasattr(fresh, "model_")
    fresh.set_params(width=8)
    assert fresh.width == 8 and trained.width == 16


@pytest.mark.parametrize("mode", ["rescale", "heads", "adapter", "full"])
def test_finetune_modes_move_predictions_to_target_units(trained, data, mode):
    graphs, y = data
    est = start(trained)
    target = y[60:80] / 100.0           # a new family in other units
    est.fit(graphs[60:80], target, mode=mode)
    assert est.finetune_mode_ == mode
    pred = est.predict(graphs[80:])
    assert abs(np.mean(pred) - np.mean(y[80:] / 100)) < 0.1
    assert trained.family_ is None       # the original is untouched


def test_auto_finetune_tunes_the_whole_network(trained, data):
    graphs, y = data
    est = start(trained).fit(graphs[:20], y[:20])
    assert est.finetune_mode_ == "full"


def test_save_and_load_round_trip(trained, data, tmp_path):
    graphs, _ = data
    path = tmp_path / "est.pt"
    trained.save(path, card={"note": "test"})
    again = nape.load(path)
    np.testing.assert_allclose(again.predict(graphs[:10]), trained.predict(graphs[:10]), rtol=1e-6)
    assert again.card_ == {"note": "test"} and again.pretrained == str(path.resolve())
    assert again.set_params(pretrained=None).get_params() == trained.get_params()


def test_errors_name_the_problem(trained, data, tmp_path):
    graphs, y = data
    with pytest.raises(EmptyBatchError, match="no graphs"):
        trained.predict([])
    with pytest.raises(LabelError, match="NaN"):
        GennapeEstimator(**SMALL).fit(graphs[:3], [1.0, float("nan"), 2.0])
    with pytest.raises(LengthMismatchError, match="3 graphs but 2 labels"):
        GennapeEstimator(**SMALL).fit(graphs[:3], [1.0, 2.0])
    with pytest.raises(NotFittedError, match="fit"):
        GennapeEstimator().predict(graphs[:2])
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="corrupted"):
        nape.load(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(WeightsError, match="not a nape-plugin estimator"):
        nape.load(foreign)
    trained.save(tmp_path / "ok.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((tmp_path / "ok.pt").read_bytes()[:200])
    with pytest.raises(WeightsError):
        nape.load(truncated)


def test_finetuned_ensemble_is_weighted_by_kendall_tau_and_survives_save(trained, data, tmp_path):
    graphs, y = data
    est = start(trained).fit(graphs[60:90], y[60:90], mode="heads")
    e = est.ensemble_
    assert e["members"] == ["zero-shot", "size", "fine-tuned"]
    assert np.isclose(e["weights"].sum(), 1.0) and (e["weights"] >= 0).all()
    np.testing.assert_allclose(e["weights"], np.clip(e["kendall_tau"], 0, None) ** 4 / (
        np.clip(e["kendall_tau"], 0, None) ** 4).sum())
    est.save(tmp_path / "tuned.pt")
    again = nape.load(tmp_path / "tuned.pt")
    np.testing.assert_allclose(again.predict(graphs[90:]), est.predict(graphs[90:]), rtol=1e-6)
    assert again.finetune_mode_ == "heads"


def test_each_fit_finetunes_the_pretrained_weights_afresh(trained, data):
    graphs, y = data
    once = start(trained).fit(graphs[60:80], y[60:80], mode="heads")
    twice = start(trained).fit(graphs[80:100], y[80:100], mode="heads").fit(graphs[60:80], y[60:80], mode="heads")
    np.testing.assert_allclose(once.predict(graphs[:10]), twice.predict(graphs[:10]), rtol=1e-6)


def test_finetuning_rejects_constant_labels(trained, data):
    graphs, _ = data
    with pytest.raises(LabelError, match="all fine-tuning labels are equal"):
        start(trained).fit(graphs[:5], [1.0] * 5)


def test_pretraining_on_free_statistics_becomes_the_start_of_every_fit(trained, data, tmp_path):
    graphs, y = data
    u = PackedGraphs(graphs[:60]).to_arrays()["u"]
    target = free_statistics(u[:, 0], u[:, 1])
    stats = start(trained).set_params(size_weight=0.0)
    before = metrics.spearman(target, stats.predict(graphs[:60]))
    stats.pretrain_on_statistics(graphs[60:], epochs=15)
    assert metrics.spearman(target, stats.predict(graphs[:60])) > max(before, 0.8)
    assert isinstance(stats.pretrained, GennapeEstimator) and clone(stats).pretrained is stats.pretrained
    stats.save(tmp_path / "stats.pt")
    again = nape.load(tmp_path / "stats.pt")
    tuned = [e.fit(graphs[60:90], y[60:90], mode="heads") for e in (clone(stats), again, copy.deepcopy(stats))]
    np.testing.assert_allclose(tuned[0].predict(graphs[90:]), tuned[1].predict(graphs[90:]), rtol=1e-5)
    np.testing.assert_array_equal(tuned[0].predict(graphs[90:]), tuned[2].predict(graphs[90:]))
    plain = start(trained).set_params(size_weight=0.0).fit(graphs[60:90], y[60:90], mode="heads")
    assert not np.allclose(tuned[0].predict(graphs[90:]), plain.predict(graphs[90:]))


def test_free_statistics_add_the_standardised_logs():
    np.testing.assert_allclose(free_statistics(np.array([1.0, 2.0, 3.0]), np.array([5.0, 5.0, 5.0])),
                               [-1.224745, 0.0, 1.224745], rtol=1e-6)
