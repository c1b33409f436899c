"""The estimators as scikit-learn sees them: the start is a parameter, so ``fit`` means one thing for a given set of
parameters, ``clone`` keeps the start and model selection fine-tunes from it in every fold; inputs are never changed."""
import copy
import pickle
import random

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict, cross_val_score

import nape_plugin as nape
from nape_plugin.errors import DataError, NapeError, NotFittedError, WeightsError
from nape_plugin.gennape import io
from nape_plugin.gennape.bagging import BaggedEstimator
from nape_plugin.gennape.estimator import GennapeEstimator
from nape_plugin.graph.packed import PackedGraphs
from tests.gennape.test_estimator import SMALL, chain_net

TUNE = dict(finetune="heads", finetune_epochs=20)


@pytest.fixture(scope="module")
def data():
    rng = random.Random(2)
    pairs = [chain_net(rng) for _ in range(90)]
    return [p[0] for p in pairs], np.array([p[1] for p in pairs], dtype=float)


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    """A small estimator pretrained here and saved: a start on disk, as the shipped ones are."""
    graphs, y = data
    path = tmp_path_factory.mktemp("start") / "start.pt"
    GennapeEstimator(**{**SMALL, **TUNE}).fit(graphs[:50], y[:50], groups=["chain"] * 50).save(path)
    return path


def test_a_loaded_estimator_names_its_start(saved):
    est = nape.load(saved)
    assert est.pretrained == str(saved.resolve())
    assert nape.load_pretrained().pretrained == "default"
    assert nape.load_pretrained("gennape-nb101").pretrained == "gennape-nb101"


def test_fit_means_one_thing_for_one_set_of_parameters(saved, data):
    graphs, y = data
    est = nape.load(saved)
    once = est.fit(graphs[50:70], y[50:70]).predict(graphs[70:])
    again = est.fit(graphs[50:70], y[50:70]).predict(graphs[70:])         # a second fit: from the start again
    cloned = clone(est).fit(graphs[50:70], y[50:70]).predict(graphs[70:])
    fresh = GennapeEstimator(**est.get_params()).fit(graphs[50:70], y[50:70]).predict(graphs[70:])
    np.testing.assert_array_equal(once, again)
    np.testing.assert_array_equal(once, cloned)
    np.testing.assert_array_equal(once, fresh)


def test_cross_validation_fine_tunes_from_the_start_in_every_fold(saved, data):
    graphs, y = data
    graphs, y = graphs[50:], y[50:]
    folds = KFold(4, shuffle=True, random_state=0)
    predicted = cross_val_predict(nape.load(saved), graphs, y, cv=folds)
    by_hand = np.empty_like(y)
    for train, test in folds.split(graphs):
        tuned = nape.load(saved).fit([graphs[i] for i in train], y[train])
        by_hand[test] = tuned.predict([graphs[i] for i in test])
    np.testing.assert_array_equal(predicted, by_hand)
    scores = cross_val_score(nape.load(saved), graphs, y, cv=folds, scoring="neg_mean_absolute_error")
    assert np.isfinite(scores).all() and len(scores) == 4


def test_cross_validation_of_the_shipped_start(data):
    graphs, y = data
    est = nape.load_pretrained().set_params(finetune="rescale", finetune_epochs=30)
    scores = cross_val_score(est, graphs[:30], y[:30], cv=3, scoring="neg_mean_absolute_error")
    tuned = clone(est).fit(graphs[:20], y[:20])
    assert tuned.pretrained == "default" and tuned.family_ == "target"
    assert np.isfinite(scores).all() and -scores.mean() < np.abs(y[:30] - y[:30].mean()).mean()


def test_grid_search_over_fine_tuning_parameters(saved, data):
    graphs, y = data
    search = GridSearchCV(nape.load(saved), {"finetune": ["rescale", "heads"]}, cv=3,
                          scoring="neg_mean_absolute_error").fit(graphs[50:80], y[50:80])
    assert search.best_params_["finetune"] in ("rescale", "heads")
    assert search.best_estimator_.pretrained == str(saved.resolve())
    assert search.best_estimator_.finetune_mode_ == search.best_params_["finetune"]


def test_fit_never_changes_its_inputs(saved, data):
    graphs, y = data
    packed = PackedGraphs(graphs[:40])
    labels = y[:40].copy()
    before = copy.deepcopy(graphs[:40])
    GennapeEstimator(**SMALL).set_params(epochs=1).fit(packed, labels, groups=["chain"] * 40)
    nape.load(saved).set_params(finetune="full", finetune_epochs=1).fit(packed, labels)
    BaggedEstimator(GennapeEstimator(**SMALL).set_params(epochs=1), n_members=2, subsample=20).fit(packed, labels)
    assert packed.y is None and packed.group is None
    np.testing.assert_array_equal(labels, y[:40])
    assert graphs[:40] == before


def test_fit_does_not_change_parameters_and_pickles(saved, data):
    graphs, y = data
    est = nape.load(saved)
    params = est.get_params()
    est.fit(graphs[50:70], y[50:70])
    assert est.get_params() == params and est.n_features_in_ > 0
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(graphs[70:]), est.predict(graphs[70:]))


def test_a_start_from_memory(data):
    graphs, y = data
    mine = GennapeEstimator(**{**SMALL, **TUNE}).fit(graphs[:50], y[:50])
    est = GennapeEstimator.from_pretrained(mine)
    assert est.pretrained is mine and est.width == mine.width
    np.testing.assert_array_equal(est.predict(graphs[50:]), mine.predict(graphs[50:]))   # zero-shot until fit
    tuned = clone(est).fit(graphs[50:70], y[50:70])
    assert tuned.pretrained is mine and mine.family_ is None                            # the start is untouched
    np.testing.assert_array_equal(tuned.predict(graphs[70:]), est.fit(graphs[50:70], y[50:70]).predict(graphs[70:]))


def test_the_start_fixes_the_architecture_and_pretraining_arguments_need_none(saved, data):
    graphs, y = data
    with pytest.raises(WeightsError, match=r"do not fit this estimator's width=64 \(the start's: 16\)"):
        GennapeEstimator(pretrained=str(saved)).fit(graphs[:10], y[:10])
    with pytest.raises(WeightsError, match="is a BaggedEstimator, not a GennapeEstimator"):
        GennapeEstimator(pretrained="gennape-nb101").fit(graphs[:10], y[:10])
    with pytest.raises(DataError, match="groups, checkpoint_dir only apply when pretraining from scratch"):
        nape.load(saved).fit(graphs[:10], y[:10], groups=["a"] * 10, checkpoint_dir="ck")
    with pytest.raises(DataError, match="mode='heads' chooses a fine-tuning path, but this estimator has no start"):
        GennapeEstimator(**SMALL).fit(graphs[:10], y[:10], mode="heads")
    with pytest.raises(NotFittedError, match="has no weights: fit it first"):
        GennapeEstimator(pretrained=GennapeEstimator(**SMALL), **SMALL).fit(graphs[:10], y[:10])


def test_not_fitted_error_is_scikit_learns_too():
    assert issubclass(NotFittedError, SklearnNotFittedError) and issubclass(NotFittedError, NapeError)
    with pytest.raises(SklearnNotFittedError):
        GennapeEstimator().predict([])


def test_files_written_before_random_state_still_load(saved, tmp_path):
    blob = torch.load(saved, weights_only=True)
    blob["params"]["seed"] = blob["params"].pop("random_state")
    old = tmp_path / "old.pt"
    io.write(blob, old)
    assert nape.load(old).random_state == nape.load(saved).random_state == 0
    assert nape.load_pretrained().random_state == 0


def test_the_bag_keeps_its_start_through_clone(data):
    graphs, y = data
    bag = nape.load_pretrained("gennape-nb101")
    tuned = clone(bag)
    assert tuned.pretrained == "gennape-nb101" and not hasattr(tuned, "estimators_")
    tuned.estimator.set_params(finetune_epochs=1)            # the template is cloned, never shared
    assert bag.estimator.finetune_epochs is None
    with pytest.raises(WeightsError, match="has 3 members but n_members=2"):
        BaggedEstimator(pretrained="gennape-nb101", n_members=2).fit(graphs[:10], y[:10])
