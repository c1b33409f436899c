"""NapePredictor on a tiny real estimator, driven as NASLib drives predictors (works with or without NASLib)."""
from __future__ import annotations

import copy
import importlib.util
import pickle
import random

import numpy as np
import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import LabelError, LengthMismatchError
from nape_naslib import NapePredictor
from nape_naslib import convert
from nape_naslib.predictor import NapePredictorMethods


class FakeNB201:
    """A NASLib nasbench201 object as the adapter sees it: get_type, get_op_indices, get_hash."""

    def __init__(self, ids):
        self.ids = list(ids)

    def get_type(self):
        return "nasbench201"

    def get_op_indices(self):
        return self.ids

    def get_hash(self):
        return tuple(self.ids)


def archs(n: int, seed: int) -> list[FakeNB201]:
    rng = random.Random(seed)
    return [FakeNB201([rng.randrange(5) for _ in range(6)]) for _ in range(n)]


def graphs_of(xs):
    return [nape.spaces.get("nb201").to_graph(convert.nb201_encoding(x.ids)) for x in xs]


def labels(xs) -> np.ndarray:
    return np.array([60 + 10 * np.log1p(g.flops / 1e6) for g in graphs_of(xs)])


def weights(est) -> list[torch.Tensor]:
    return [p.detach().clone() for p in est.model_.parameters()]


def test_import_never_needs_naslib():
    assert issubclass(NapePredictor, NapePredictorMethods)
    if importlib.util.find_spec("naslib") is None:
        assert NapePredictor.__bases__ == (NapePredictorMethods,)
    assert NapePredictor.__module__ == "nape_naslib.predictor" and NapePredictor.__name__ == "NapePredictor"


def test_zero_shot_query_and_ensemble_view(tiny_estimator):
    xs = archs(7, 0)
    p = NapePredictor(estimator=tiny_estimator, finetune=False)
    y = p.query(xs)
    assert y.shape == (7,) and y.dtype == np.float64
    np.testing.assert_allclose(y, tiny_estimator.predict(graphs_of(xs)), rtol=1e-6)
    p.ensemble = True
    heads = p.query(xs)
    assert heads.shape == (2, 7) and heads.dtype == np.float64
    np.testing.assert_allclose(heads, tiny_estimator.predict_heads(graphs_of(xs)), rtol=1e-6)
    mean, std = p.query_with_std(xs)
    assert mean.shape == std.shape == (7,) and np.all(std >= 0)


def test_fit_fine_tunes_a_copy_and_restarts_from_the_pretrained_weights(tiny_estimator):
    before = weights(tiny_estimator)
    xtrain, xtest = archs(12, 1), archs(6, 2)
    p = NapePredictor(estimator=tiny_estimator, seed=0)
    p.set_hyperparams({"finetune_epochs": 2})
    mae = p.fit(xtrain, labels(xtrain))
    assert p.est_ is not tiny_estimator and p.est_.finetune_epochs == 2 and np.isfinite(mae)
    for a, b in zip(before, weights(tiny_estimator)):       # the pretrained estimator is untouched
        assert torch.equal(a, b)
    first = p.query(xtest)
    assert not np.allclose(first, tiny_estimator.predict(graphs_of(xtest)))
    p.fit(xtrain, labels(xtrain))                            # refit: starts again from the pretrained weights
    np.testing.assert_allclose(p.query(xtest), first, rtol=1e-5)
    p.fit(xtrain[:2], labels(xtrain[:2]))                    # too few to fine-tune (the estimator needs 3): zero-shot
    assert p.est_ is tiny_estimator
    p.fit(xtrain[:3], labels(xtrain[:3]))
    assert p.est_ is not tiny_estimator


def test_zero_shot_fit_keeps_the_pretrained_estimator(tiny_estimator):
    p = NapePredictor(estimator=tiny_estimator, finetune=False)
    xs = archs(5, 3)
    assert p.fit(xs, labels(xs)) is None and p.est_ is tiny_estimator and p.n_train_ == 5


def test_fit_rejects_bad_labels(tiny_estimator):
    p = NapePredictor(estimator=tiny_estimator)
    xs = archs(4, 4)
    with pytest.raises(LengthMismatchError):
        p.fit(xs, [90.0, 91.0])
    with pytest.raises(LabelError):
        p.fit(xs, [90.0, float("nan"), 91.0, 92.0])


def test_naslib_bookkeeping_is_honest():
    p = NapePredictor(estimator="no-such-model")
    assert p.get_data_reqs() == {"requires_partial_lc": False, "metric": None, "requires_hyperparameters": False,
                                 "hyperparams": {}, "unlabeled": False, "unlabeled_factor": 0}
    assert p.get_hpo_wrapper() is False
    p.reset_hyperparams()                                    # PredictorEvaluator does this before every fit
    assert p.get_hyperparams() == {"finetune_mode": "auto"}
    p.set_hyperparams({"finetune_mode": "heads", "finetune_epochs": 5})
    assert p.get_hyperparams() == {"finetune_mode": "heads", "finetune_epochs": 5}
    assert p.set_random_hyperparams() == {"finetune_mode": "auto", "finetune_epochs": None}
    p.set_ss_type("nasbench201")
    assert p.ss_type == "nasbench201"


def test_estimator_from_a_file_loads_lazily(tiny_estimator, tiny_estimator_path):
    p = NapePredictor(estimator=str(tiny_estimator_path))
    assert p.base_ is None
    p.pre_process()
    xs = archs(3, 5)
    np.testing.assert_allclose(p.query(xs), tiny_estimator.predict(graphs_of(xs)), rtol=1e-5)


def test_bad_estimator_argument_raises():
    with pytest.raises(TypeError, match="pretrained name or a file path"):
        NapePredictor(estimator=42).pre_process()


def test_copies_and_pickles_like_naslib_predictors(tiny_estimator):
    p = NapePredictor(estimator=tiny_estimator, finetune=False)
    xs = archs(3, 6)
    expect = p.query(xs)
    np.testing.assert_allclose(copy.deepcopy(p).query(xs), expect, rtol=1e-6)    # NASLib's Ensemble deep-copies
    np.testing.assert_allclose(pickle.loads(pickle.dumps(p)).query(xs), expect, rtol=1e-6)


def test_dataset_sets_the_input_resolution(tiny_estimator):
    p = NapePredictor(estimator=tiny_estimator, finetune=False, dataset="ImageNet16-120")
    assert p._graphs(archs(1, 7))[0].meta["input_shape"] == [3, 16, 16]
