"""Fuzzing every search space's parser, and ``nape.to_graph``'s auto-detection: hostile encodings give an
EncodingError (a NapeError) or an architecture whose graph builds and whose encodings parse back to it."""
from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nape_plugin as nape  # noqa: E402
from nape_plugin.errors import NapeError  # noqa: E402

from .strategies import examples, junk, mutated  # noqa: E402

SPACES = nape.spaces.names()
#: Formats whose encodings name an architecture only through a benchmark table (parsing them is an error).
ONE_WAY = {("nb101", "hash")}


def valid_encodings(name: str) -> list:
    """Every format of a few sampled architectures of space ``name``."""
    space = nape.spaces.get(name)
    out = []
    for seed in range(3):
        arch = space.sample(seed)
        for fmt in space.formats:
            try:
                out.append(space.encode(arch, fmt))
            except NapeError:                 # a format that cannot express this architecture
                continue
    return out


def check_parse(space, encoding) -> None:
    """The property: a NapeError, or a canonical architecture that builds and that every format gives back."""
    try:
        arch = space.parse(encoding)
    except NapeError:
        return
    assert isinstance(space.to_graph(arch), nape.CompGraph)
    assert space.parse(arch) == arch
    for fmt in space.formats:
        try:
            again = space.encode(arch, fmt)
        except NapeError:
            continue
        if (space.name, fmt) not in ONE_WAY:
            assert space.parse(again) == arch, fmt


@pytest.mark.parametrize("name", SPACES)
@examples(60)
@given(data=st.data())
def test_mutated_encodings(name, data):
    space = nape.spaces.get(name)
    check_parse(space, data.draw(mutated(data.draw(st.sampled_from(valid_encodings(name))))))


@pytest.mark.parametrize("name", SPACES)
@examples(30)
@given(encoding=junk)
def test_junk_encodings(name, encoding):
    check_parse(nape.spaces.get(name), encoding)


@examples(60)
@given(data=st.data())
def test_to_graph_auto_detection(data):
    """Strings go through every space's parser at once (nape.to_graph and `nape predict` without --space)."""
    name = data.draw(st.sampled_from(SPACES))
    encoding = data.draw(mutated(str(data.draw(st.sampled_from(valid_encodings(name))))))
    try:
        assert isinstance(nape.to_graph(encoding), nape.CompGraph)
    except NapeError:
        pass
