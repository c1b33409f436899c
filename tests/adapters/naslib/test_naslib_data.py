"""NASLib dataset_api objects from a NAS-Bench-201 table, and the evaluation summary."""
from __future__ import annotations

import csv
import math

import pytest

from nape_plugin.errors import DataError
from nape_naslib.data import nb201_dataset_api, read_labels
from nape_naslib.evaluate import format_table, summarise

ARCH0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def test_nb201_table_becomes_naslibs_query_layout(shared_data):
    api = nb201_dataset_api(shared_data / "nb201" / "nb201.csv", "cifar10")
    data = api["nb201_data"]
    assert len(data) == 15625
    entry = data[ARCH0]["cifar10-valid"]                 # NASLib reads cifar10 metrics from cifar10-valid
    assert entry["eval_acc1es"][-1] == 81.9             # c10valid_val_200ep_rob of the table's first row
    assert math.isnan(entry["cost_info"]["train_time"]) and math.isnan(entry["train_acc1es"][-1])
    test = nb201_dataset_api(shared_data / "nb201" / "nb201.csv", "cifar10", column="c10_test_200ep")
    assert test["nb201_data"][ARCH0]["cifar10-valid"]["eval_acc1es"][-1] == pytest.approx(85.86333333333334)
    c100 = nb201_dataset_api(shared_data / "nb201" / "nb201.csv", "cifar100")
    assert c100["nb201_data"][ARCH0]["cifar100"]["eval_acc1es"][-1] == pytest.approx(52.913333294677734)


def write(path, rows, fields=("arch_str", "acc")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        w.writerows(rows)
    return path


def test_read_labels_skips_blanks_and_rejects_bad_tables(tmp_path):
    p = write(tmp_path / "t.csv", [("a", "90.5"), ("b", ""), ("c", "80")])
    assert read_labels(p, "acc") == {"a": 90.5, "c": 80.0}
    with pytest.raises(DataError, match="no column 'val'"):
        read_labels(p, "val")
    with pytest.raises(DataError, match="finite"):
        read_labels(write(tmp_path / "n.csv", [("a", "nan")]), "acc")
    with pytest.raises(DataError, match="no values"):
        read_labels(write(tmp_path / "e.csv", [("a", "")]), "acc")


def test_partial_table_or_unknown_dataset_is_refused(tmp_path):
    p = write(tmp_path / "t.csv", [(ARCH0, "90")], ("arch_str", "c10valid_val_200ep_rob"))
    with pytest.raises(DataError, match="15,625"):
        nb201_dataset_api(p)
    with pytest.raises(DataError, match="unknown NAS-Bench-201 data set"):
        nb201_dataset_api(p, "svhn")


def test_summary_averages_over_seeds():
    rows = [{"predictor": "nape", "seed": s, "train_size": 8, "spearman": r, "kendalltau": r - 0.1, "pearson": r,
             "mae": 1.0, "fit_time": 2.0, "query_time": 0.001} for s, r in enumerate((0.6, 0.8))]
    (row,) = summarise(rows)
    assert row["seeds"] == 2 and row["spearman"] == pytest.approx(0.7) and row["spearman_std"] == pytest.approx(0.1)
    table = format_table([row])
    assert "| nape | 8 | 2 | 0.700 ± 0.100 | 0.600 ± 0.100 | 2.00 | 1.00 |" in table
