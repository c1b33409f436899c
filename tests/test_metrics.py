import numpy as np
import pytest

from nape_plugin import metrics
from nape_plugin.errors import EmptyBatchError, LabelError, LengthMismatchError


def test_rank_correlations_on_known_orders():
    y = [1, 2, 3, 4, 5]
    assert metrics.spearman(y, [10, 20, 30, 40, 50]) == pytest.approx(1.0)
    assert metrics.spearman(y, [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # one adjacent swap among 4 items: 5 concordant, 1 discordant pair -> tau = 4/6
    assert metrics.kendall_tau([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(4 / 6)
    assert metrics.spearman(y, [1, 1, 1, 1, 1]) == 0.0


def test_mae_and_pearson():
    assert metrics.mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    assert metrics.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)


def test_ndcg_and_precision_at_k():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert metrics.ndcg_at_k(y, y, 2) == pytest.approx(1.0)
    # predicted top-2 = items 0 and 1 (gains 0, 1); ideal = items 3, 2 (gains 3, 2)
    ideal = 3 + 2 / np.log2(3)
    assert metrics.ndcg_at_k(y, -y, 2) == pytest.approx((0 + 1 / np.log2(3)) / ideal)
    assert metrics.precision_at_k(y, [0, 5, 1, 4], 2) == pytest.approx(0.5)
    assert metrics.precision_at_k(y, y, 10) == 1.0


def test_report_has_every_metric():
    r = metrics.report(np.arange(60.0), np.arange(60.0) ** 2)
    assert set(r) == {"srcc", "kendall_tau", "pearson", "mae", "ndcg@10", "ndcg@50", "precision@10", "precision@50"}
    assert r["srcc"] == pytest.approx(1.0) and r["precision@50"] == 1.0


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(LengthMismatchError, match="3 values but y_pred has 2"):
        metrics.spearman([1, 2, 3], [1, 2])
    with pytest.raises(LabelError, match="NaN"):
        metrics.kendall_tau([1, np.nan, 3], [1, 2, 3])
    with pytest.raises(EmptyBatchError):
        metrics.mae([1], [1])
