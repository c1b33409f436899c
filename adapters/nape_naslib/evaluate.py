"""``nape naslib-eval``: NASLib's ``PredictorEvaluator`` run with the nape estimator (and NASLib's own predictors).

NASLib's protocol, unchanged: per seed, NASLib samples a test set and a training set of architectures from the search
space, fits the predictor on the first ``n`` training architectures for every ``n`` in ``--train-sizes``, and scores
its predictions on the test set (Spearman, Kendall tau, MAE ...; fit time, query time per architecture).

Labels come from NASLib's own data files (``--naslib-data``: ``naslib.utils.get_dataset_api``) or from a
NAS-Bench-201 CSV table (``--labels nb201.csv``, see :mod:`nape_naslib.data`)::

    nape naslib-eval --labels ../shared/data/nb201/nb201.csv --predictors nape nape_zeroshot xgb --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from nape_plugin.errors import DataError, PluginError

from .compat import load_naslib, quiet_naslib
from .convert import to_arch
from .spaces import model_free

#: NASLib's train sizes for NAS-Bench-201 (``np.logspace`` from 5.1 to 1000 in 11 steps, as its scripts make them).
NASLIB_TRAIN_SIZES = (5, 8, 14, 24, 42, 71, 121, 205, 347, 589, 1000)
SPACES = ("nasbench101", "nasbench201", "nasbench301", "transbench101_micro", "transbench101_macro")
NASLIB_PREDICTORS = ("xgb", "lgb", "rf", "gcn", "mlp", "bananas", "seminas")
PREDICTORS = ("nape", "nape_zeroshot", *NASLIB_PREDICTORS)
METRICS = ("spearman", "kendalltau", "pearson", "mae", "fit_time", "query_time")


def make_predictor(name: str, estimator: Any = "default", dataset: str | None = None) -> Any:
    """A predictor by name: ``nape`` (fine-tuned), ``nape_zeroshot``, or a NASLib predictor built as NASLib's
    predictor runner builds it (without hyperparameter files)."""
    if name in ("nape", "nape_zeroshot"):
        from .predictor import NapePredictor
        return NapePredictor(estimator=estimator, finetune=name == "nape", dataset=dataset)
    from naslib import predictors as p
    from naslib.utils.encodings import EncodingType
    factories: dict[str, Callable[[], Any]] = {
        "xgb": lambda: p.XGBoost(encoding_type=EncodingType.ADJACENCY_ONE_HOT, hpo_wrapper=False,
                                 hparams_from_file=False),
        "lgb": lambda: p.LGBoost(encoding_type=EncodingType.ADJACENCY_ONE_HOT, hpo_wrapper=False),
        "rf": lambda: p.RandomForestPredictor(encoding_type=EncodingType.ADJACENCY_ONE_HOT, hpo_wrapper=False,
                                              hparams_from_file=False),
        "gcn": lambda: p.GCNPredictor(encoding_type=EncodingType.GCN, hpo_wrapper=True),
        "mlp": lambda: p.MLPPredictor(encoding_type=EncodingType.ADJACENCY_ONE_HOT, hpo_wrapper=False,
                                      hparams_from_file=False),
        "bananas": lambda: p.Ensemble(predictor_type="bananas", num_ensemble=3, hpo_wrapper=True),
        "seminas": lambda: _int_seminas_sequences() or p.SemiNASPredictor(
            encoding_type=EncodingType.SEMINAS, semi=True, hpo_wrapper=False, hparams_from_file=False),
    }
    if name not in factories:
        raise DataError(f"unknown predictor {name!r}; choose from {', '.join(PREDICTORS)}")
    return factories[name]()


def _int_seminas_sequences() -> None:
    """Make NASLib's SemiNAS sequences plain ints.

    NASLib's NAS-Bench-201 SemiNAS encoding holds a float32 adjacency matrix, so ``convert_arch_to_seq`` returns
    numpy floats, which current torch refuses in ``torch.LongTensor``: SemiNAS fails on its first batch. The module's
    function is wrapped once to cast every entry to ``int`` (the values are small whole numbers).
    """
    from naslib.predictors import seminas
    convert = seminas.convert_arch_to_seq
    if getattr(convert, "_nape_int", False):
        return

    def int_sequence(matrix: Any, ops: Any, max_n: int = 8) -> list[int]:
        return [int(v) for v in convert(matrix, ops, max_n)]

    int_sequence._nape_int = True   # type: ignore[attr-defined]
    seminas.convert_arch_to_seq = int_sequence


def naslib_space(name: str, dataset: str) -> Any:
    """A fresh NASLib search-space object."""
    from naslib import search_spaces as s
    spaces = {"nasbench101": lambda: s.NasBench101SearchSpace(), "nasbench201": lambda: s.NasBench201SearchSpace(),
              "nasbench301": lambda: s.NasBench301SearchSpace(),
              "transbench101_micro": lambda: s.TransBench101SearchSpaceMicro(dataset),
              "transbench101_macro": lambda: s.TransBench101SearchSpaceMacro(dataset)}
    if name not in spaces:
        raise DataError(f"unknown NASLib search space {name!r}; choose from {', '.join(spaces)}")
    return spaces[name]()


def dataset_api(space: str, dataset: str, labels: str | os.PathLike | None = None,
                column: str | None = None) -> Any:
    """NASLib's own ``dataset_api`` (``labels=None``), or one built from a NAS-Bench-201 table."""
    if labels is None:
        return naslib_dataset_api(space, dataset)
    if space != "nasbench201":
        raise DataError(f"label tables map onto NASLib's dataset_api for nasbench201 only; for {space}, use NASLib's "
                        "data files (--naslib-data)")
    from .data import nb201_dataset_api
    return nb201_dataset_api(labels, dataset, column)


def naslib_dataset_api(space: str, dataset: str) -> Any:
    """``naslib.utils.get_dataset_api(space, dataset)``; a :class:`DataError` saying what is missing when NASLib's data
    files (or the packages that read them) are not there."""
    load_naslib()
    from naslib.utils import get_dataset_api
    from naslib.utils.get_dataset_api import get_project_root
    try:
        with quiet_naslib():
            api = get_dataset_api(space, dataset)
    except (AssertionError, OSError, ImportError, KeyError, ValueError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise DataError(f"NASLib's data for {space} / {dataset} could not be loaded ({reason[:300]}); put NASLib's "
                        f"data files in {get_project_root() / 'data'} as NASLib's README lists them"
                        + (", or pass --labels TABLE" if space == "nasbench201" else "")) from None
    if api is None:
        raise DataError(f"NASLib has no {space} data for data set {dataset!r}")
    return api


def naslib_config(seed: int, dataset: str, space: str, train_sizes: Sequence[int], test_size: int,
                  max_hpo_time: float, save: str) -> Any:
    """The config NASLib's predictor runner would load for a ``vary_train_size`` experiment."""
    from fvcore.common.config import CfgNode
    cfg = CfgNode(new_allowed=True)
    cfg.update(seed=seed, search_space=space, dataset=dataset, experiment_type="vary_train_size",
               test_size=test_size, train_size_single=int(train_sizes[-1]),
               train_size_list=[int(n) for n in train_sizes], fidelity_single=5, fidelity_list=[5],
               uniform_random=1, max_hpo_time=max_hpo_time, save=save, out_dir=save)
    cfg.search = CfgNode(dict(seed=seed, batch_size=256, data_size=25000, cutout=False, cutout_length=16,
                              cutout_prob=1.0, train_portion=0.7))
    return cfg


def evaluate(predictor_name: str, seed: int, api: Any, space: str = "nasbench201", dataset: str = "cifar10",
             train_sizes: Sequence[int] = NASLIB_TRAIN_SIZES, test_size: int = 200, estimator: Any = "default",
             max_hpo_time: float = 0, instantiate_models: bool = False, quiet: bool = True) -> list[dict[str, Any]]:
    """One seed of NASLib's predictor evaluation; one row per train size.

    ``instantiate_models=False`` runs NASLib's search space in architecture-only mode (:func:`model_free`).
    """
    load_naslib()
    from naslib import utils
    from naslib.defaults.predictor_evaluator import PredictorEvaluator
    with tempfile.TemporaryDirectory() as save:
        config = naslib_config(seed, dataset, space, train_sizes, test_size, max_hpo_time, save)
        utils.set_seed(seed)
        predictor = make_predictor(predictor_name, estimator, dataset if space == "nasbench201" else None)
        evaluator = PredictorEvaluator(predictor, config=config)
        search_space = naslib_space(space, dataset)
        if not instantiate_models:
            search_space = model_free(search_space)
        evaluator.adapt_search_space(search_space, load_labeled=False, dataset_api=api)
        tested = _record_test_set(evaluator)
        evaluator._log_to_json = lambda: None     # its file is deleted below, and it crashes on float32 predictions
        out = io.StringIO()
        utils.set_seed(seed)        # again: every predictor sees the same sampled architectures for a seed
        with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext(), \
                quiet_naslib() if quiet else contextlib.nullcontext():
            start = time.perf_counter()
            results = evaluator.evaluate()
            wall = time.perf_counter() - start
    archs = [str(to_arch(x).encoding) for x in tested]
    rows = []
    for r in results[1:]:
        ytest = np.round(np.asarray(r.get("full_ytest", []), dtype=float), 4)
        rows.append({"predictor": predictor_name, "seed": seed, "train_size": int(r["train_size"]),
                     **{m: _float(r.get(m)) for m in METRICS}, "wall_time": wall,
                     "test_digest": hashlib.sha1(ytest.tobytes()).hexdigest()[:12], "test_archs": archs,
                     "test_y": ytest.tolist(), "test_pred": [_float(v) for v in r.get("full_testpred", [])]})
    return rows


def _record_test_set(evaluator: Any) -> list:
    """A list that receives the test architectures ``evaluator`` scores (NASLib keeps them local to ``evaluate``)."""
    tested: list = []
    single_evaluate = evaluator.single_evaluate

    def recording(train_data: Any, test_data: Any, fidelity: Any) -> Any:
        tested[:] = test_data[0]
        return single_evaluate(train_data, test_data, fidelity)

    evaluator.single_evaluate = recording
    return tested


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds per (predictor, train size)."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["predictor"], r["train_size"]), []).append(r)
    out = []
    for (name, n), rs in groups.items():
        row: dict[str, Any] = {"predictor": name, "train_size": n, "seeds": len(rs)}
        for m in METRICS:
            vals = np.array([r[m] for r in rs], dtype=float)
            row[m] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
            row[m + "_std"] = float(np.nanstd(vals)) if np.isfinite(vals).any() else float("nan")
        out.append(row)
    return out


def format_table(summary: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of :func:`summarise` rows."""
    lines = ["| predictor | train size | seeds | Spearman | Kendall tau | fit time (s) | query time (ms/arch) |",
             "|---|---:|---:|---|---|---:|---:|"]
    for r in summary:
        lines.append(f"| {r['predictor']} | {r['train_size']} | {r['seeds']} | {_pm(r, 'spearman')} | "
                     f"{_pm(r, 'kendalltau')} | {r['fit_time']:.2f} | {1000 * r['query_time']:.2f} |")
    return "\n".join(lines)


def _pm(r: dict[str, Any], m: str) -> str:
    return "nan" if math.isnan(r[m]) else f"{r[m]:.3f} ± {r[m + '_std']:.3f}"


# ----------------------------------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--labels", type=Path, help="NAS-Bench-201 CSV with arch_str and an accuracy column")
    src.add_argument("--naslib-data", action="store_true", help="use NASLib's own data files (get_dataset_api)")
    parser.add_argument("--column", help="accuracy column of --labels (default: NASLib's validation accuracy on "
                                         "cifar10-valid, or the test accuracy for cifar100 / ImageNet16-120)")
    parser.add_argument("--search-space", default="nasbench201", choices=SPACES,
                        help="NASLib's search space (default nasbench201; --labels tables are for nasbench201)")
    parser.add_argument("--dataset", default="cifar10", help="NASLib's data set name (default cifar10)")
    parser.add_argument("--predictors", nargs="+", default=["nape", "nape_zeroshot"], choices=PREDICTORS,
                        help="nape (fine-tuned on each training set), nape_zeroshot, and NASLib's predictors to "
                             "compare (default: nape nape_zeroshot)")
    parser.add_argument("--estimator", default="default", help="pretrained name or saved estimator file")
    parser.add_argument("--train-sizes", nargs="+", type=int, default=list(NASLIB_TRAIN_SIZES),
                        help="increasing numbers of labelled training architectures (default: NASLib's "
                             f"{' '.join(map(str, NASLIB_TRAIN_SIZES))})")
    parser.add_argument("--test-size", type=int, default=200, help="test architectures per seed (default 200)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4],
                        help="seeds; each samples its own test and training architectures (default 0 1 2 3 4)")
    parser.add_argument("--max-hpo-time", type=float, default=0, help="NASLib's cross-validation HPO budget (s)")
    parser.add_argument("--instantiate-models", action="store_true",
                        help="let NASLib build (and deep-copy) every sampled network; slow, same architectures")
    parser.add_argument("--out", type=Path, help="write every row and the summary as JSON here")
    parser.add_argument("--verbose", action="store_true", help="show NASLib's own output")


def check_scikit_learn() -> None:
    """NASLib's ``PredictorEvaluator`` computes RMSE with ``squared=False`` inside a bare ``try``: with scikit-learn
    1.6 or later, which removed that argument, every metric it reports (Spearman included) is NaN."""
    import sklearn
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 6):
        raise PluginError(f"NASLib's PredictorEvaluator reports NaN for every metric with scikit-learn >= 1.6 (found "
                          f"{sklearn.__version__}): install 'scikit-learn<1.6' beside NASLib (docs/naslib.md)")


def run(args: argparse.Namespace) -> int:
    load_naslib()
    check_scikit_learn()
    with contextlib.nullcontext() if args.verbose else quiet_naslib():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if sorted(args.train_sizes) != list(args.train_sizes) or min(args.train_sizes) < 1:
        raise DataError(f"--train-sizes must be increasing positive integers, got {args.train_sizes}")
    api = dataset_api(args.search_space, args.dataset, args.labels, args.column)
    rows: list[dict[str, Any]] = []
    for name in args.predictors:
        for seed in args.seeds:
            new = evaluate(name, seed, api, args.search_space, args.dataset, args.train_sizes, args.test_size,
                           args.estimator, args.max_hpo_time, args.instantiate_models, quiet=not args.verbose)
            rows.extend(new)
            print(f"{name} seed {seed}: " + ", ".join(f"n={r['train_size']} rho={r['spearman']:.3f}" for r in new),
                  flush=True)
    summary = summarise(rows)
    print(format_table(summary))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    return 0
