"""NapePredictor inside NASLib's PredictorEvaluator, BANANAS and NPENAS (skipped without NASLib)."""
from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

naslib = pytest.importorskip("naslib")

from fvcore.common.config import CfgNode  # noqa: E402
from naslib import utils  # noqa: E402
from naslib.predictors.predictor import Predictor  # noqa: E402
from naslib.search_spaces import NasBench201SearchSpace  # noqa: E402

from nape_plugin import cli  # noqa: E402
from nape_naslib import NapeBananas, NapeNpenas, NapePredictor  # noqa: E402
from nape_naslib.evaluate import dataset_api, evaluate, model_free  # noqa: E402


@pytest.fixture(scope="module")
def api(shared_data):
    return dataset_api("nasbench201", "cifar10", shared_data / "nb201" / "nb201.csv")


def search_config(**search) -> CfgNode:
    base = dict(epochs=12, k=3, num_init=5, num_ensemble=3, predictor_type="bananas", acq_fn_type="its",
                acq_fn_optimization="mutation", encoding_type="path", num_arches_to_mutate=2, max_mutations=1,
                num_candidates=12)
    return CfgNode(dict(dataset="cifar10", seed=0, search=CfgNode({**base, **search})))


def test_is_a_naslib_predictor():
    assert isinstance(NapePredictor(), Predictor)


def test_model_free_space_samples_the_same_architectures_cheaply():
    full, light = NasBench201SearchSpace(), model_free(NasBench201SearchSpace())
    hashes = []
    for space in (full, light):
        utils.set_seed(5)
        hashes.append([_sample(space).get_hash() for _ in range(3)])
    assert hashes[0] == hashes[1]
    a, b = _sample(light), _sample(light)
    assert a is not b and a.get_hash() != b.get_hash() and light.op_indices is None


def _sample(space):
    arch = space.clone()
    arch.sample_random_architecture()
    return arch


def test_predictor_evaluator_runs_naslibs_protocol(api, tiny_estimator_path):
    for name in ("nape", "nape_zeroshot"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows = evaluate(name, 0, api, train_sizes=[4, 10], test_size=20, estimator=str(tiny_estimator_path))
        assert not [w for w in caught if issubclass(w.category, FutureWarning)]     # NASLib's flood, silenced
        assert [r["train_size"] for r in rows] == [4, 10]
        assert all(np.isfinite(r["spearman"]) and r["query_time"] > 0 for r in rows)
    # zero-shot: fit ignores the labels, so both train sizes score the same test predictions
    assert rows[0]["spearman"] == rows[1]["spearman"]


@pytest.mark.parametrize("optimizer, acq", [(NapeBananas, "its"), (NapeBananas, "ei"), (NapeNpenas, None)])
def test_search_optimizers_use_the_estimator(api, tiny_estimator_path, optimizer, acq):
    utils.set_seed(1)
    opt = optimizer(search_config(**({"acq_fn_type": acq} if acq else {})), estimator=str(tiny_estimator_path))
    opt.adapt_search_space(model_free(NasBench201SearchSpace()), dataset_api=api)
    for epoch in range(11):
        opt.new_epoch(epoch)
    assert len(opt.train_data) == 11
    assert opt.predictor.ensemble and opt.predictor.n_train_ == 8      # refit after rounds of k=3 from 5 initial
    best = opt.get_final_architecture()
    assert best.query(opt.performance_metric, "cifar10", dataset_api=api) == max(m.accuracy for m in opt.train_data)


def test_zero_cost_search_options_are_refused(tiny_estimator_path):
    with pytest.raises(ValueError, match="zero-cost"):
        NapeBananas(search_config(zc=True), estimator=str(tiny_estimator_path))


def test_naslib_eval_says_in_one_line_when_naslibs_data_files_are_missing(monkeypatch, tmp_path, capsys):
    loader = importlib.import_module("naslib.utils.get_dataset_api")     # the module (naslib.utils exports a function)
    monkeypatch.setattr(loader, "get_project_root", lambda: tmp_path)       # a NASLib without data files
    assert cli.main(["naslib-eval", "--naslib-data", "--predictors", "nape", "--seeds", "0"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert lines[0].startswith("nape naslib-eval: error: NASLib's data for nasbench201 / cifar10 could not be loaded")
    assert f"put NASLib's data files in {tmp_path / 'data'}" in lines[0] and "--labels" in lines[0]


def test_naslib_eval_refuses_a_scikit_learn_that_makes_naslibs_metrics_nan(monkeypatch, capsys, shared_data):
    import sklearn
    monkeypatch.setattr(sklearn, "__version__", "1.6.1")
    assert cli.main(["naslib-eval", "--labels", str(shared_data / "nb201" / "nb201.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scikit-learn >= 1.6 (found 1.6.1): install 'scikit-learn<1.6'" in err[0]
