import copy
import random

import numpy as np
import pytest
from sklearn.base import clone

import nape_plugin as nape
from nape_plugin.gennape.bagging import BaggedEstimator
from nape_plugin.errors import NotFittedError
from nape_plugin.gennape.estimator import GennapeEstimator

from tests.gennape.test_estimator import SMALL, chain_net


@pytest.fixture(scope="module")
def data():
    rng = random.Random(1)
    pairs = [chain_net(rng) for _ in range(70)]
    return [p[0] for p in pairs], np.array([p[1] for p in pairs], dtype=float)


@pytest.fixture(scope="module")
def bag(data):
    graphs, y = data
    base = GennapeEstimator(**{**SMALL, "epochs": 4, "contrastive_epochs": 0})
    return BaggedEstimator(base, n_members=2, subsample=30, random_state=3).fit(graphs[:50], y[:50])


def test_members_get_their_own_seed_and_subsample(bag):
    assert [m.random_state for m in bag.estimators_] == [3, 4]
    assert bag._rows(50, 0).tolist() != bag._rows(50, 1).tolist() and len(bag._rows(50, 0)) == 30
    assert len(BaggedEstimator(subsample=0.5)._rows(10, 0)) == 5 and BaggedEstimator()._rows(4, 0).tolist() == [0, 1, 2, 3]


def test_prediction_is_the_members_mean(bag, data):
    graphs, _ = data
    members = np.stack([m.predict(graphs[50:]) for m in bag.estimators_])
    np.testing.assert_allclose(bag.predict(graphs[50:]), members.mean(0))
    mean, std = bag.predict(graphs[50:], return_std=True)
    assert (std >= members.std(0) - 1e-9).all()
    assert bag.predict_heads(graphs[50:]).shape == (4, 20)
    assert bag.embed(graphs[50:]).shape == (20, 32)


def test_finetuning_tunes_every_member_and_saving_round_trips(bag, data, tmp_path):
    graphs, y = data
    tuned = BaggedEstimator.from_pretrained(bag).fit(graphs[50:65], y[50:65] / 100, mode="heads")
    assert tuned.family_ == "target" and tuned.finetune_mode_ == "heads" and bag.family_ is None
    assert abs(tuned.predict(graphs[65:]).mean() - (y[65:] / 100).mean()) < 0.1
    tuned.save(tmp_path / "bag.pt", card={"name": "bag"})
    again = nape.load(tmp_path / "bag.pt")
    assert isinstance(again, BaggedEstimator) and again.card_ == {"name": "bag"}
    np.testing.assert_allclose(again.predict(graphs[65:]), tuned.predict(graphs[65:]), rtol=1e-6)
    assert clone(again).get_params()["n_members"] == 2 and clone(again).pretrained == str(tmp_path / "bag.pt")
    refit = clone(again).fit(graphs[50:65], y[50:65] / 100, mode="heads")       # from the file's start members
    np.testing.assert_allclose(refit.predict(graphs[65:]), tuned.predict(graphs[65:]), rtol=1e-6)


def test_unfitted_ensemble_says_so():
    with pytest.raises(NotFittedError, match="no members"):
        BaggedEstimator().predict([])


def test_statistics_pretraining_reaches_every_member(bag, data):
    graphs, _ = data
    tuned = copy.deepcopy(bag).pretrain_on_statistics(graphs[50:], epochs=3)
    for before, after in zip(bag.estimators_, tuned.estimators_):
        assert not np.allclose(before.predict(graphs[:10]), after.predict(graphs[:10]))
    np.testing.assert_allclose(tuned.predict(graphs[:10]),
                               np.mean([m.predict(graphs[:10]) for m in tuned.estimators_], 0))
