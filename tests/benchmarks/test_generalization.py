"""The leave-one-family-out harness's own logic: family specs, one-hot encodings, splits, nested selection, OOD."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "generalization.py"
_spec = importlib.util.spec_from_file_location("generalization", _PATH)
lofo = sys.modules["generalization"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lofo)


def test_family_entries_group_tasks_and_the_first_task_trains():
    spec = lofo.parse_families(["nb201", "tnb101_micro:val_accs", "nb301", "tnb101_micro:fisher", "nb201"])
    assert spec == {"nb201": [None], "tnb101_micro": ["val_accs", "fisher"], "nb301": [None]}
    with pytest.raises(SystemExit, match="no family"):
        lofo.parse_families(["nb201", "not_a_family"])
    with pytest.raises(SystemExit, match="at least two"):
        lofo.parse_families(["nb201:c10_test_200ep", "nb201:c100_test_200ep"])


def test_one_hot_encodings_mark_one_choice_per_position():
    a = lofo.ONE_HOT["nb201"]("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    assert a.shape == (30,) and a.reshape(6, 5).sum(1).tolist() == [1] * 6
    assert a.reshape(6, 5).argmax(1).tolist() == [3, 0, 4, 1, 2, 0]
    assert lofo.ONE_HOT["tnb101_micro"]((0, 1, 2, 3, 3, 2)).reshape(6, 4).argmax(1).tolist() == [0, 1, 2, 3, 3, 2]
    assert lofo.ONE_HOT["nb_macro"]("01202101").reshape(8, 3).argmax(1).tolist() == [0, 1, 2, 0, 2, 1, 0, 1]
    assert lofo.ONE_HOT["tnb101_macro"]((1, 2, 4, 2, 0, 0)).shape == (30,)
    ofa = lofo.ONE_HOT["ofa_mbv3"]({"ks": [3, 5, 7] * 6 + [3, 3], "e": [3, 4, 6] * 6 + [6, 6], "d": [2, 3, 4, 4, 2]})
    assert ofa.shape == (135,) and ofa.sum() == 45


def test_nb101_one_hot_keeps_the_output_in_the_last_slot_of_pruned_cells():
    pruned = ([[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
              ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    v = lofo.ONE_HOT["nb101"](pruned)
    adj = np.zeros((7, 7))
    adj[np.triu_indices(7, 1)] = v[:21]
    assert adj[0, 1] == adj[1, 2] == adj[2, 6] == adj[0, 6] == 1 and adj.sum() == 4
    assert v[21:].reshape(5, 3).argmax(1)[:2].tolist() == [0, 2] and v[21:].sum() == 2


def test_training_and_held_out_rows_are_disjoint_and_capped():
    hold, train = lofo.split_rows(5000, seed=3, cap=1500)
    assert len(hold) == lofo.HELD_OUT and len(train) == 1500 and not set(hold) & set(train)
    hold, train = lofo.split_rows(500, seed=3, cap=1500)
    assert len(hold) == 50 and len(train) == 450


def test_residual_labels_carry_nothing_linear_of_the_size_prior():
    rng = np.random.default_rng(0)
    size = rng.normal(size=400)
    y = 2 * size + rng.normal(size=400)
    groups = np.array(["a"] * 200 + ["b"] * 200)
    r, slopes = lofo.residual_labels(y, groups, size)
    for g in ("a", "b"):
        m = groups == g
        assert abs(np.corrcoef(r[m], size[m])[0, 1]) < 1e-6 and slopes[g] > 0.7


def test_nested_selection_never_uses_the_held_out_family():
    grid = [0.0, 1.0]
    per_weight = {0.0: {"a": 0.9, "b": 0.5, "c": 0.5}, 1.0: {"a": 0.1, "b": 0.6, "c": 0.6}}
    out = lofo.nested(grid, per_weight)
    # a prefers 0.0, but b and c prefer 1.0, so a gets 1.0; b's choice is made on a and c (mean 0.7 vs 0.35 -> 0.0)
    assert out["chosen"] == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert out["a"] == 0.1 and out["worst"] == 0.1


def test_familiarity_is_calibrated_on_in_distribution_values_only():
    inside = np.arange(1.0, 101.0)
    f = lofo.familiarity(inside, np.array([0.0, 50.0, 100.0, 1e6]))
    assert f.tolist() == [1.0, 0.5, 0.0, 0.0]
    assert lofo.gate(f, 0.8).tolist() == [0.8, 0.8, 0.0, 0.0]
    assert lofo.auroc(inside, inside + 1000) == 1.0
