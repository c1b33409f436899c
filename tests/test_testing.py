"""The conformance kits catch what they promise to catch: a space or predictor breaking the contract fails them."""
from __future__ import annotations

import random

import numpy as np
import pytest

from nape_plugin.errors import EncodingError, NotFittedError
from nape_plugin.testing import check_predictor, check_space
from tests.plugins.test_hookspecs import ChainSpace, ChainSpec, chain_graph


def test_a_correct_plugin_space_passes():
    check_space(ChainSpace(), n=5, archs=["8-16-32"], malformed=["8-9", "64"])


class GraphIsNotTheModule(ChainSpace):
    def to_graph(self, arch):
        return chain_graph(ChainSpec(tuple(2 * w for w in self.parse(arch))), self.input_shape)


class AcceptsAnything(ChainSpace):
    def parse(self, arch):
        return (8,) if arch is None else super().parse(arch)


class SamplesWithoutTheSeed(ChainSpace):
    def sample(self, rng=None):
        return super().sample(random.Random())


class StringsLoseTheOrder(ChainSpace):
    def encode(self, arch, fmt):
        return "-".join(map(str, sorted(self.parse(arch)))) if fmt == "str" else super().encode(arch, fmt)


class NeighboursRepeat(ChainSpace):
    def neighbours(self, arch):
        return [*super().neighbours(arch), self.parse(arch)]


class WrongFormatError(ChainSpace):
    def encode(self, arch, fmt):
        if fmt not in self.formats:
            raise KeyError(fmt)
        return super().encode(arch, fmt)


@pytest.mark.parametrize("space, message", [
    (GraphIsNotTheModule(), "differs from tracing build"),
    (AcceptsAnything(), r"parse\(None\) accepted a malformed architecture"),
    (SamplesWithoutTheSeed(), r"sample\(0\) is not deterministic"),
    (StringsLoseTheOrder(), "format 'str' does not round-trip"),
    (NeighboursRepeat(), "repeat an architecture or contain it"),
    (WrongFormatError(), "raised KeyError, not EncodingError"),
], ids=lambda v: type(v).__name__ if not isinstance(v, str) else "")
def test_a_broken_space_fails(space, message):
    with pytest.raises(AssertionError, match=message):
        check_space(space, n=20)


def test_a_space_given_malformed_encodings_it_accepts_fails():
    with pytest.raises(AssertionError, match=r"parse\('8-16'\) accepted"):
        check_space(ChainSpace(), n=1, malformed=["8-16"])


class Mean:
    """A plain predictor: the mean of the labels."""

    def fit(self, items, y):
        self.mean_ = float(np.mean(y))
        if not np.isfinite(self.mean_) or len(y) != len(items) or not len(items):
            raise ValueError("bad labels")
        return self

    def predict(self, items):
        if not hasattr(self, "mean_"):
            raise NotFittedError("fit first")
        return np.full(len(items), self.mean_)


class ScalesLabelsInPlace(Mean):
    def fit(self, items, y):
        y /= 100
        return super().fit(items, y)


class ReturnsNothing(Mean):
    def fit(self, items, y):
        super().fit(items, y)


class NotFittedIsAnAttributeError(Mean):
    def predict(self, items):
        return np.full(len(items), self.mean_)


class Noisy(Mean):
    def predict(self, items):
        return super().predict(items) + np.random.default_rng().normal(size=len(items))


class AcceptsNaN(Mean):
    def fit(self, items, y):
        self.mean_ = float(np.nanmean(y)) if len(y) else 0.0
        return self


ITEMS, Y = list(range(6)), np.arange(6, dtype=float)


def test_a_correct_plugin_predictor_passes():
    check_predictor(Mean(), ITEMS, Y)


@pytest.mark.parametrize("predictor, message", [
    (ScalesLabelsInPlace(), "fit changed its inputs"),
    (ReturnsNothing(), "does not return the predictor itself"),
    (NotFittedIsAnAttributeError(), "raised AttributeError, not scikit-learn's NotFittedError"),
    (Noisy(), "different results on the same items"),
    (AcceptsNaN(), "accepted no items"),
], ids=lambda v: type(v).__name__ if not isinstance(v, str) else "")
def test_a_broken_predictor_fails(predictor, message):
    with pytest.raises(AssertionError, match=message):
        check_predictor(predictor, ITEMS, Y)


def test_a_wrong_format_is_an_encoding_error_in_the_chain_space():
    with pytest.raises(EncodingError):
        ChainSpace().parse("8-9")
