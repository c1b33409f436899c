"""nape_plugin.search.scorers: one path for every predictor, whether it scores graphs or architectures."""
import numpy as np
import pytest

import nape_plugin as nape
from nape_plugin import plugins
from nape_plugin.errors import UnknownNameError
from nape_plugin.predictors.gbdt import GBDTPredictor
from nape_plugin.search.scorers import bind_space, inputs, make_scorer, needs_fit, resolve_scorer, takes_architectures


@pytest.fixture(scope="module")
def space():
    return nape.spaces.get("nb201")


def test_predictors_with_a_space_parameter_take_architectures(space):
    proxy = bind_space(plugins.get_predictor("flops"), space)
    assert takes_architectures(proxy) and proxy.space is space and not needs_fit(proxy)
    archs = [space.sample(i) for i in range(3)]
    assert inputs(proxy, archs, space) == archs
    gbdt = bind_space(GBDTPredictor(), space)
    assert not takes_architectures(gbdt) and needs_fit(gbdt)
    assert inputs(gbdt, archs, space) == [space.to_graph(a) for a in archs]


def test_a_proxy_keeps_the_space_it_was_given(space):
    other = nape.spaces.get("nb101")
    assert bind_space(plugins.get_predictor("params", space=other), space).space is other


def test_make_scorer_feeds_each_predictor_what_it_takes(space):
    archs = [space.sample(i) for i in range(3)]
    graphs = [space.to_graph(a) for a in archs]
    score = make_scorer("flops", space)
    np.testing.assert_allclose(score(archs, graphs), [g.flops / 1e6 for g in graphs])


def test_resolve_scorer_names_predictors_and_pretrained_models():
    assert isinstance(resolve_scorer("gbdt", n_ensemble=2), GBDTPredictor)
    with pytest.raises(UnknownNameError, match="predictors: .*gbdt.*; pretrained: default, gennape-nb101"):
        resolve_scorer("nope")
