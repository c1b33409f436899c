"""BANANAS' acquisition functions, vectorised: checked against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from nape_naslib.acquisition import acquisition_values

PREDS = np.array([[1.0, 2.0],
                  [3.0, 4.0]])        # two members, two candidates: mean (2, 3), std (1, 1)


def test_ucb_and_exploit():
    np.testing.assert_allclose(acquisition_values(PREDS, "ucb"), [2.5, 3.5])
    np.testing.assert_allclose(acquisition_values(PREDS, "exploit_only"), [2.0, 3.0])


def test_expected_improvement_by_hand():
    # s = std / 5 = 0.2; gamma = (mean - 2.5) / s = -2.5, +2.5; ei = s * (gamma * Phi(gamma) + phi(gamma))
    # Phi(-2.5) = 0.0062096653, phi(2.5) = 0.0175283005
    expect = [0.2 * (-2.5 * 0.0062096653 + 0.0175283005), 0.2 * (2.5 * (1 - 0.0062096653) + 0.0175283005)]
    np.testing.assert_allclose(acquisition_values(PREDS, "ei", best_y=2.5), expect, rtol=1e-7)


def test_thompson_sampling_draws_from_the_member_spread():
    got = acquisition_values(PREDS, "its", rng=np.random.RandomState(3))
    np.testing.assert_allclose(got, np.random.RandomState(3).normal([2.0, 3.0], [1.0, 1.0]))


def test_single_member_has_no_spread():
    np.testing.assert_allclose(acquisition_values(np.array([5.0, 6.0]), "ucb"), [5.0, 6.0])


def test_errors():
    with pytest.raises(ValueError, match="best accuracy"):
        acquisition_values(PREDS, "ei")
    with pytest.raises(ValueError, match="unknown acquisition"):
        acquisition_values(PREDS, "pi")
