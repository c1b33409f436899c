"""NapeEvaluator, surrogate_filter and search() inside real NNI 3.0 strategies and engines (tiny budgets).

A small estimator is trained here on NAS-Bench-201 graphs (labels: log FLOPs, so the expected ranking is known), which
keeps the tests independent of the shipped weights.
"""
from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

nni = pytest.importorskip("nni")

import nape_plugin as nape  # noqa: E402
from nni.nas.execution import SequentialExecutionEngine  # noqa: E402
from nni.nas.hub.pytorch import NasBench201  # noqa: E402
from nni.nas.space import ModelStatus, RawFormatModelSpace, SimplifiedModelSpace  # noqa: E402
from nni.nas.strategy import Random, RegularizedEvolution  # noqa: E402
from nni.nas.strategy.middleware import Chain  # noqa: E402

from nape_nni import NapeEvaluator, search, surrogate_filter  # noqa: E402

logging.getLogger("nni").setLevel(logging.WARNING)
pytestmark = pytest.mark.skipif("nb201" not in nape.spaces.names(), reason="space nb201 is not registered")


@pytest.fixture(autouse=True)
def no_trial(monkeypatch):
    """NNI's sequential engine leaves its last trial parameter set; each test starts without one."""
    monkeypatch.setattr(nni.trial, "_params", None)


@pytest.fixture(scope="module")
def estimator():
    from nape_plugin.gennape.estimator import GennapeEstimator
    space = nape.spaces.get("nb201")
    graphs = [space.to_graph(space.sample(i)) for i in range(48)]
    y = np.log([g.flops for g in graphs])
    return GennapeEstimator(width=16, layers=2, embed_dim=16, num_heads=2, epochs=3, contrastive_epochs=0, random_state=0,
                            progress=False).fit(graphs, y)


@pytest.fixture(scope="module")
def nb201():
    with torch.device("meta"):
        return NasBench201()


def frozen(space, n, seed=0):
    rs = np.random.RandomState(seed)
    return [space.random(random_state=rs) for _ in range(n)]


def test_scores_samples_without_building_the_model(estimator, nb201, monkeypatch):
    exe = SimplifiedModelSpace.from_model(nb201, None)
    models = frozen(exe, 5)
    monkeypatch.setattr(SimplifiedModelSpace, "executable_model", lambda self: pytest.fail("model was built"))
    ev = NapeEvaluator(estimator)
    graphs = [nape.to_graph(m.sample, model_space=nb201) for m in models]
    expected = estimator.predict(graphs)
    assert np.allclose([ev._execute(m) for m in models], expected)
    assert np.allclose(ev.score(models), expected)


def test_frozen_torch_models_score_like_their_samples(estimator, nb201):
    ev = NapeEvaluator(estimator)
    sample: dict = {}
    with torch.device("meta"):
        model = nb201.random(memo=sample, random_state=np.random.RandomState(3))
    exe = RawFormatModelSpace.from_model(nb201, ev).freeze(sample)
    assert ev.evaluate(model) == pytest.approx(ev.evaluate(exe))


def test_weighted_objective_reports_a_dict_with_default(estimator, nb201):
    ev = NapeEvaluator(estimator, objective={"accuracy": 1.0, "flops": -0.01, "params": -0.5})
    model = frozen(SimplifiedModelSpace.from_model(nb201, ev), 1, seed=1)[0]
    g = nape.to_graph(model.sample, model_space=nb201)
    m = ev.evaluate(model)
    assert set(m) == {"default", "accuracy", "flops", "params"}
    assert m["flops"] == pytest.approx(g.flops / 1e6) and m["params"] == pytest.approx(g.params / 1e6)
    assert m["default"] == pytest.approx(m["accuracy"] - 0.01 * m["flops"] - 0.5 * m["params"])
    fn = NapeEvaluator(estimator, objective=lambda d: d["accuracy"] / d["flops"])
    assert fn.evaluate(model)["default"] == pytest.approx(m["accuracy"] / m["flops"])
    with pytest.raises(ValueError, match="latency"):
        NapeEvaluator(estimator, objective={"latency": 1.0})


def test_evaluator_inside_a_real_strategy_run(estimator, nb201):
    ev = NapeEvaluator(estimator)
    space = SimplifiedModelSpace.from_model(nb201, ev)
    engine = SequentialExecutionEngine(max_model_count=30)
    strategy = RegularizedEvolution(population_size=10, sample_size=3, seed=0)
    strategy(space, engine)
    done = list(engine.list_models())
    assert len(done) == 30 and all(m.status == ModelStatus.Trained for m in done)
    graphs = [nape.to_graph(m.sample, model_space=nb201) for m in done]
    assert np.allclose([m.metric for m in done], estimator.predict(graphs))
    best = next(strategy.list_models(limit=1))
    assert best.metric == max(m.metric for m in done)


def test_nas_experiment_sequential_raw(estimator, nb201, tmp_path, monkeypatch):
    from nni.nas.experiment import NasExperiment, NasExperimentConfig
    monkeypatch.setenv("HOME", str(tmp_path))                      # NNI records experiments under ~/nni-experiments
    config = NasExperimentConfig("sequential", "raw")
    config.max_trial_number = 12
    config.experiment_working_directory = str(tmp_path / "nni-experiments")
    exp = NasExperiment(nb201, NapeEvaluator(estimator), Random(seed=0), config)
    exp.run()
    top = exp.export_top_models(top_k=3, formatter="dict")
    assert len(top) == 3
    scores = NapeEvaluator(estimator).score([nape.to_graph(s, model_space=nb201) for s in top])
    assert list(scores) == sorted(scores, reverse=True)


def test_serialisable_for_pickle_and_nni_dump(estimator, nb201, tmp_path, monkeypatch):
    ev = NapeEvaluator(estimator, objective={"accuracy": 1.0, "flops": -0.01})
    model = frozen(SimplifiedModelSpace.from_model(nb201, ev), 1, seed=2)[0]
    expected = ev.evaluate(model)
    assert pickle.loads(pickle.dumps(ev)).evaluate(model) == pytest.approx(expected)
    # the `ts` engine sends the frozen model space, evaluator included, to a trial process through nni.dump; the
    # estimator travels as the path of a saved copy (NNI's command channel breaks on large messages)
    monkeypatch.setenv("NAPE_CACHE_DIR", str(tmp_path))
    dumped = nni.dump(model)
    assert len(dumped) < 4096
    loaded = nni.load(dumped)
    assert isinstance(loaded.evaluator, NapeEvaluator) and loaded.evaluator is not ev
    assert Path(loaded.evaluator.estimator).parent == tmp_path / "nni"
    with loaded.evaluator.mock_runtime(loaded):                     # what NNI's trial entry point does
        loaded.execute()
    assert loaded.metric == pytest.approx(expected["default"])
    path = tmp_path / "est.pt"
    estimator.save(path)
    by_path = nni.load(nni.dump(NapeEvaluator(str(path))))
    assert by_path.evaluate(model) == pytest.approx(expected["accuracy"])


def test_unknown_pretrained_name_lists_the_valid_ones(nb201):
    ev = NapeEvaluator("no-such-model")
    with pytest.raises(nape.errors.UnknownNameError, match="no-such-model"):
        ev.estimator_


def test_surrogate_filter_only_lets_top_candidates_reach_the_engine(estimator, nb201):
    from nni.nas.evaluator import Evaluator
    trained = []

    class Training(Evaluator):                             # stands for the real training the filter protects
        def _execute(self, model):
            trained.append(model)
            nni.report_final_result(1.0)
    space = SimplifiedModelSpace.from_model(nb201, Training())
    flt = surrogate_filter(estimator, top=0.25, reference_size=64, metric_for_invalid=-1.0)
    strategy = Chain(Random(seed=0), flt)
    engine = SequentialExecutionEngine(max_model_count=5)
    strategy(space, engine)
    ev = NapeEvaluator(estimator)
    reference = ev.score(frozen(space, 64, seed=0))
    assert flt.cut_ == pytest.approx(np.quantile(reference, 0.75))
    assert len(trained) == 5
    admitted = [s for s, score in flt.scores_ if score >= flt.cut_]
    assert len(admitted) == 5 and len(flt.scores_) > 5              # some candidates were rejected untrained
    invalid = list(flt.list_models(ModelStatus.Invalid))
    assert len(invalid) == len(flt.scores_) - 5
    with pytest.raises(ValueError, match="exactly one"):
        surrogate_filter(estimator, top=0.1, threshold=0.0)


def test_search_returns_the_best_models_with_predictions(estimator, nb201):
    result = search(nb201, RegularizedEvolution(population_size=10, sample_size=3, seed=0), estimator=estimator,
                    max_models=40, top_k=5)
    assert len(result.history) == 40
    assert nni.get_current_parameter() is None                      # the engine's trial state does not leak
    scores = [t["score"] for t in result.top]
    assert scores == sorted(scores, reverse=True) and scores[0] == max(s for _, s in result.history)
    g = nape.to_graph(result.best["sample"], model_space=nb201)
    assert result.best["accuracy"] == pytest.approx(estimator.predict([g])[0])
    assert result.best["flops"] == pytest.approx(g.flops / 1e6)
    multi = search(nb201, Random(seed=1), estimator=estimator, objective={"accuracy": 1.0, "params": -1.0},
                   max_models=15, top_k=3)
    assert all(t["score"] == pytest.approx(t["accuracy"] - t["params"]) for t in multi.top)


class _Counting:
    """An estimator wrapper recording the size of every prediction call."""

    def __init__(self, estimator):
        self.estimator, self.calls = estimator, []

    def predict(self, graphs, **kwargs):
        self.calls.append(len(graphs))
        return self.estimator.predict(graphs, **kwargs)


def test_batched_engine_scores_queued_models_in_one_call(estimator, nb201):
    counting = _Counting(estimator)
    result = search(nb201, RegularizedEvolution(population_size=12, sample_size=3, seed=0),
                    evaluator=NapeEvaluator(counting), max_models=30, batch_size=8)
    assert len(result.history) == 30                                # the budget holds with a part-filled last batch
    assert sum(counting.calls) == 30 and max(counting.calls) == 8 and len(counting.calls) <= 5
    graphs = [nape.to_graph(s, model_space=nb201) for s, _ in result.history]
    assert np.allclose([score for _, score in result.history], estimator.predict(graphs))


def test_default_evaluator_uses_the_shipped_model(nb201):
    from nape_plugin.gennape.pretrained import names
    if "default" not in names():
        pytest.skip("no shipped default model")
    model = frozen(SimplifiedModelSpace.from_model(nb201, None), 1, seed=4)[0]
    g = nape.to_graph(model.sample, model_space=nb201)
    assert NapeEvaluator().evaluate(model) == pytest.approx(float(nape.load_pretrained().predict([g])[0]))


def _custom_space():
    """A space outside NNI's hub: its input shape is known only to the user."""
    from nni.nas.nn.pytorch import LayerChoice, ModelSpace, MutableConv2d

    class Tiny(ModelSpace):
        def __init__(self):
            super().__init__()
            width = nni.choice("width", [8, 16])
            self.stem = MutableConv2d(3, width, 3, padding=1)
            self.op = LayerChoice({"conv3": MutableConv2d(width, width, 3, padding=1),
                                   "pool": torch.nn.MaxPool2d(3, 1, 1)}, label="op")
            self.head = torch.nn.Linear(16, 10)

        def forward(self, x):
            y = self.op(self.stem(x)).mean((2, 3))
            return self.head(torch.nn.functional.pad(y, (0, 16 - y.shape[1])))
    with torch.device("meta"):
        return Tiny()


def test_search_on_a_custom_space_takes_the_input_shape(estimator):
    result = search(_custom_space(), Random(seed=0), estimator=estimator, input_shape=(3, 32, 32), max_models=4,
                    top_k=2)
    assert len(result.history) == 4 and result.best["flops"] > 0             # the space's four models


def test_a_missing_input_shape_says_where_it_goes(estimator):
    with pytest.raises(nape.errors.ConversionError, match=r"needs input_shape=\(C, H, W\).*search\(\.\.\., "
                                                          r"input_shape=\(3, 32, 32\)\), NapeEvaluator\(input_shape="):
        search(_custom_space(), Random(seed=0), estimator=estimator, max_models=2)
