"""model_free on a space with NASLib's clone semantics (the live NASLib check is in test_naslib_live_search.py)."""
from __future__ import annotations

import copy
import random

import nape_naslib
from nape_naslib.spaces import model_free


class DeepCopyingSpace:
    """NASLib's search-space behaviour that matters here: clone() deep-copies the networks built in __init__."""

    instantiate_model = True

    def __init__(self):
        self.network = [[0.0] * 256 for _ in range(64)]
        self.op_indices = None

    def clone(self):
        return copy.deepcopy(self)

    def sample_random_architecture(self, rng=random.Random(0)):
        self.op_indices = [rng.randrange(5) for _ in range(6)]


def test_model_free_clones_share_the_network_and_own_their_architecture():
    space = model_free(DeepCopyingSpace())
    assert nape_naslib.model_free is model_free and isinstance(space, DeepCopyingSpace)
    assert space.instantiate_model is False
    a, b = space.clone(), space.clone()
    a.sample_random_architecture()
    b.sample_random_architecture()
    assert a.network is space.network and b.network is space.network          # nothing copied
    assert a.op_indices != b.op_indices and space.op_indices is None
    child = a.clone()
    child.op_indices[0] = (child.op_indices[0] + 1) % 5                       # a mutation of the clone
    assert child.op_indices != a.op_indices
    assert model_free(space) is space and type(model_free(space)) is type(space)
