"""Careless calls of the estimators get a NapeError that says what to pass, never a raw TypeError or IndexError."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import nape_plugin as nape
from nape_plugin.errors import DataError, LabelError, ParameterError
from nape_plugin.gennape.bagging import BaggedEstimator

SPACE = nape.spaces.get("nb201")
GRAPHS = [SPACE.to_graph(SPACE.sample(i)) for i in range(5)]


@pytest.fixture(scope="module")
def est():
    return nape.load_pretrained()


@pytest.mark.parametrize("one", [GRAPHS[0], SPACE.sample(0), SPACE.encode(SPACE.sample(0), "nni")])
def test_a_single_graph_or_encoding_is_not_a_list(est, one):
    with pytest.raises(DataError, match=r"expected a list of graphs .*e.g. est.predict\(\[graph\]\)"):
        est.predict(one)


def test_any_iterable_of_graphs_works(est):
    np.testing.assert_array_equal(est.predict(g for g in GRAPHS), est.predict(GRAPHS))
    np.testing.assert_array_equal(est.predict(tuple(SPACE.sample(i) for i in range(5)), space="nb201"),
                                  est.predict(GRAPHS))


@pytest.mark.parametrize("batch_size", [0, -3, True, 2.5])
def test_batch_size_must_be_a_positive_int(est, batch_size):
    for call in (est.predict, est.embed, est.predict_heads):
        with pytest.raises(ParameterError, match="batch_size must be a positive int"):
            call(GRAPHS, batch_size=batch_size)


@pytest.mark.parametrize("labels", [["a", "b", "c", "d", "e"], None, {"x": 1}, [[1, 2]] * 5])
def test_labels_must_be_numbers(est, labels):
    with pytest.raises(LabelError):
        copy.deepcopy(est).fit(GRAPHS, labels, mode="heads")


def test_bagged_ensembles_check_labels_too(est):
    bag = BaggedEstimator(n_members=1)
    bag.estimators_ = [copy.deepcopy(est)]
    with pytest.raises(LabelError, match="labels must be numbers"):
        bag.fit(GRAPHS, ["a"] * 5)


def test_an_unknown_finetuning_mode_is_a_parameter_error(est):
    with pytest.raises(ParameterError, match="unknown fine-tuning mode 'fastest'"):
        copy.deepcopy(est).fit(GRAPHS, [1.0, 2.0, 3.0, 4.0, 5.0], mode="fastest")
