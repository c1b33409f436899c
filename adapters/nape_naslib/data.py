"""NASLib ``dataset_api`` objects built from a NAS-Bench-201 table, for machines without NASLib's data files.

NASLib's ``NasBench201SearchSpace.query`` reads ``dataset_api["nb201_data"][arch_str][split][key]`` and, for every
CIFAR-10 metric, the ``cifar10-valid`` split: ``eval_acc1es`` (a per-epoch list; NASLib takes the last entry) for
``Metric.VAL_ACCURACY`` and ``Metric.TEST_ACCURACY`` alike, ``cost_info["train_time"]`` for ``Metric.TRAIN_TIME``.
:func:`nb201_dataset_api` fills exactly those from a CSV with an ``arch_str`` column and one accuracy column (the
layout of nape's benchmark tables). Values a table does not hold (train accuracy, train time) are NaN.

With NASLib's own files, use ``naslib.utils.get_dataset_api("nasbench201", dataset)`` instead; both work with
:class:`~nape_naslib.predictor.NapePredictor`, NASLib's ``PredictorEvaluator`` and the search optimizers.
"""
from __future__ import annotations

import csv
import math
import os
from typing import Any

from nape_plugin.errors import DataError

#: NASLib data set name -> the split key its NB201 queries read.
SPLITS: dict[str, str] = {"cifar10": "cifar10-valid", "cifar10-valid": "cifar10-valid", "cifar100": "cifar100",
                          "ImageNet16-120": "ImageNet16-120"}
#: Default accuracy column of nape's ``nb201.csv`` per data set: NASLib's VAL_ACCURACY on CIFAR-10 is the validation
#: accuracy of the cifar10-valid split; the table holds test accuracies for the other two.
DEFAULT_COLUMNS: dict[str, str] = {"cifar10": "c10valid_val_200ep_rob", "cifar10-valid": "c10valid_val_200ep_rob",
                                   "cifar100": "c100_test_200ep", "ImageNet16-120": "in16_test_200ep"}


def read_labels(path: str | os.PathLike, column: str, key: str = "arch_str") -> dict[str, float]:
    """``{arch_str: value}`` of one column of a CSV table (rows with an empty value are skipped)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in (key, column) if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path} has no column {missing[0]!r}; columns: {', '.join(reader.fieldnames or [])}")
        out = {}
        for row in reader:
            if row[column] == "":
                continue
            value = float(row[column])
            if not math.isfinite(value):
                raise DataError(f"{path}: {column} of {row[key]} is {row[column]}; expected a finite accuracy")
            out[row[key]] = value
    if not out:
        raise DataError(f"{path} holds no values in column {column!r}")
    return out


def nb201_dataset_api(path: str | os.PathLike, dataset: str = "cifar10", column: str | None = None) -> dict[str, Any]:
    """A NASLib NAS-Bench-201 ``dataset_api`` whose accuracies come from ``column`` of the table at ``path``.

    Args:
        path: CSV with ``arch_str`` and the accuracy column (e.g. ``nb201/nb201.csv`` of nape's benchmark data).
        dataset: NASLib's data set name (``cifar10``, ``cifar100``, ``ImageNet16-120``).
        column: accuracy column in percent (default: :data:`DEFAULT_COLUMNS`).
    """
    if dataset not in SPLITS:
        raise DataError(f"unknown NAS-Bench-201 data set {dataset!r}; NASLib's are {', '.join(SPLITS)}")
    labels = read_labels(path, column or DEFAULT_COLUMNS[dataset])
    if len(labels) < 15625:
        raise DataError(f"{path} labels {len(labels)} of the 15,625 NAS-Bench-201 cells; NASLib samples any cell, so "
                        "every one needs a value")
    split = SPLITS[dataset]
    nan = float("nan")
    data = {arch: {split: {"eval_acc1es": [acc], "train_acc1es": [nan], "cost_info": {"train_time": nan}}}
            for arch, acc in labels.items()}
    return {"nb201_data": data}
