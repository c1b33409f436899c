"""nape_plugin.utils.validation: the one label check and the one rank transform every predictor uses."""
import numpy as np
import pytest
from scipy import stats

from nape_plugin.errors import LabelError, LengthMismatchError
from nape_plugin.utils.validation import check_labels, normal_scores


def test_check_labels_returns_a_float_vector():
    out = check_labels([1, 2, 3], 3)
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0, 3.0]


def test_check_labels_rejects_other_shapes_lengths_and_non_finite_values():
    with pytest.raises(LabelError, match=r"one value per graph \(shape \(n,\)\), got shape \(3, 1\)"):
        check_labels(np.ones((3, 1)), 3)
    with pytest.raises(LengthMismatchError, match="got 4 architectures but 3 labels"):
        check_labels([1, 2, 3], 4, "architectures")
    with pytest.raises(LabelError, match=r"1 label\(s\) are NaN or infinite \(first at position 2\)"):
        check_labels([1, 2, np.inf], 3)


def test_normal_scores_are_normal_quantiles_of_mid_ranks():
    y = np.array([3.0, 1.0, 2.0, 2.0])
    z = normal_scores(y)
    np.testing.assert_allclose(z, stats.norm.ppf((np.array([4, 1, 2.5, 2.5]) - 0.5) / 4))
    assert z[1] < z[2] == z[3] < z[0] and abs(z.sum()) < 1e-12       # symmetric around 0
