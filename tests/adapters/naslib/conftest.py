"""A tiny estimator trained on NAS-Bench-201 graphs, so the NASLib adapter is tested without the shipped weights; and
NASLib, where it is on the path, imported the way nape's entry points import it (``nape_naslib.load_naslib``), so the
live tests' ``pytest.importorskip("naslib")`` finds it on a current Python."""
from __future__ import annotations

import contextlib
import random

import numpy as np
import pytest

import nape_plugin as nape
from nape_naslib.compat import NaslibUnavailable, load_naslib

with contextlib.suppress(NaslibUnavailable):
    load_naslib()


@pytest.fixture(scope="session")
def tiny_estimator():
    """Two heads over a one-layer encoder, fitted in a few seconds on 40 NB201 cells (labels: a smooth function of
    FLOPs and params, so fine-tuning has something to learn)."""
    estimator = pytest.importorskip("nape_plugin.gennape.estimator")
    space = nape.spaces.get("nb201")
    graphs = [space.to_graph(space.sample(random.Random(i))) for i in range(40)]
    y = np.array([70 + 5 * np.log1p(g.flops / 1e6) - 3 * np.log1p(g.params / 1e5) for g in graphs])
    est = estimator.GennapeEstimator(width=8, layers=1, embed_dim=8, num_heads=2, contrastive_epochs=0, epochs=2,
                                     finetune_epochs=3, progress=False, random_state=0)
    return est.fit(graphs, y, groups=["nb201"] * len(graphs))


@pytest.fixture(scope="session")
def tiny_estimator_path(tiny_estimator, tmp_path_factory):
    path = tmp_path_factory.mktemp("naslib") / "tiny.pt"
    tiny_estimator.save(path)
    return path
