import numpy as np
import pytest
import torch

from nape_plugin.gennape.clustering import fuzzy_cmeans, memberships


def test_memberships_match_hand_computed_values():
    # point 1 lies at distance 1 from centre 0 and 5 from centre 6: u = 1 / (1 + (1/5)^2) with m = 2
    u = memberships(np.array([[1.0], [5.0], [3.0]]), np.array([[0.0], [6.0]]), m=2.0)
    assert u[0] == pytest.approx([1 / 1.04, 0.04 / 1.04])
    assert u[1] == pytest.approx([0.04 / 1.04, 1 / 1.04])
    assert u[2] == pytest.approx([0.5, 0.5])


def test_fuzzifier_controls_softness():
    x, c = np.array([[1.0]]), np.array([[0.0], [3.0]])
    # distances 1 and 2: u0 = 1 / (1 + (1/2)^(2/(m-1)))
    assert memberships(x, c, m=3.0)[0, 0] == pytest.approx(1 / (1 + 0.5))
    assert memberships(x, c, m=1.5)[0, 0] == pytest.approx(1 / (1 + 0.5 ** 4))


def test_memberships_work_on_tensors_like_arrays():
    x = np.random.default_rng(0).normal(size=(5, 3))
    c = x[:2]
    np.testing.assert_allclose(memberships(torch.tensor(x), torch.tensor(c)).numpy(), memberships(x, c), rtol=1e-6)


def test_fuzzy_cmeans_finds_separated_clusters_and_is_deterministic():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
    centers, u = fuzzy_cmeans(x, 2, seed=3)
    assert sorted(np.round(centers[:, 0]).tolist()) == [0.0, 5.0]
    np.testing.assert_allclose(u.sum(1), 1.0)
    assert (u.max(1) > 0.95).all()
    again, _ = fuzzy_cmeans(x, 2, seed=3)
    np.testing.assert_array_equal(centers, again)


def test_fuzzy_cmeans_symmetric_data_gives_symmetric_centres():
    centers, _ = fuzzy_cmeans(np.array([[0.0], [1.0], [5.0], [6.0]]), 2)
    lo, hi = sorted(centers[:, 0])
    assert lo + hi == pytest.approx(6.0)
    assert 0.0 < lo < 1.0


def test_fuzzy_cmeans_keeps_cluster_identity_from_init():
    x = np.array([[0.0], [0.2], [5.0], [5.2]])
    centers, _ = fuzzy_cmeans(x, 2, init=np.array([[5.0], [0.0]]))
    assert centers[0, 0] > centers[1, 0]


def test_fuzzy_cmeans_rejects_bad_input():
    with pytest.raises(ValueError, match="at least k"):
        fuzzy_cmeans(np.zeros((1, 2)), 2)
    with pytest.raises(ValueError, match="fuzzifier"):
        fuzzy_cmeans(np.zeros((4, 2)), 2, m=1.0)
