"""Hostile encodings, for every space: sizes are bounded before anything is built, dict encodings follow one rule for
unknown keys, and error messages never echo a huge input back whole."""
from __future__ import annotations

import tracemalloc

import pytest

import nape_plugin as nape
from nape_plugin.errors import EncodingError, NapeError
from nape_plugin.spaces.base import MAX_TEXT, literal

NB301 = nape.spaces.get("nb301")
GENOTYPE = NB301.encode(NB301.sample(0), "genotype_str")


@pytest.mark.parametrize("concat", ["range(0, 50000000)", "range(0, 1000000000000)", "range(2, 6, 0)"])
def test_a_huge_concat_range_is_refused_without_building_it(concat):
    text = GENOTYPE.replace("normal_concat=[2, 3, 4, 5]", f"normal_concat={concat}")
    assert len(text) < 500
    tracemalloc.start()
    try:
        with pytest.raises(EncodingError, match="normal_concat must be|non-literal field"):
            NB301.parse(text)
        with pytest.raises(NapeError):                        # the auto-detect of nape.to_graph / `nape predict`
            nape.to_graph(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000                                  # a materialised range(0, 5e7) alone is > 400 MB


def test_parsed_text_is_bounded():
    with pytest.raises(EncodingError, match="characters long"):
        literal("[" + "1, " * MAX_TEXT + "]", "an encoding")
    with pytest.raises(EncodingError, match="neither JSON nor a Python literal"):
        literal("[" * 5000 + "]" * 5000, "an encoding")       # deeper than the parsers recurse
    with pytest.raises(EncodingError, match="neither JSON nor a Python literal"):
        literal("9" * 5000, "an encoding")                    # beyond Python's int digit limit


def _dict_encodings():
    """(space, dict encoding) for every space format that is a dict."""
    out = []
    for name in nape.spaces.names():
        space = nape.spaces.get(name)
        for fmt in space.formats:
            try:
                enc = space.encode(space.sample(0), fmt)
            except NapeError:
                continue
            if hasattr(enc, "_asdict"):
                enc = enc._asdict()
            if isinstance(enc, dict) and (name, fmt) != ("nb301", "config"):
                out.append(pytest.param(name, enc, id=f"{name}-{fmt}"))
    return out


@pytest.mark.parametrize("name, encoding", _dict_encodings())
def test_every_dict_encoding_refuses_unknown_keys(name, encoding):
    space = nape.spaces.get(name)
    assert space.parse(encoding) == space.parse(space.sample(0))
    with pytest.raises(EncodingError, match="unknown key\\(s\\) 'bogus'"):
        space.parse({**encoding, "bogus": 1})


def test_nb301_configs_refuse_unknown_architecture_keys_and_keep_the_rest():
    config = NB301.encode(NB301.sample(0), "config")
    assert NB301.parse({**config, "OptimizerSelector:sgd:learning_rate": 0.1}) == NB301.sample(0)
    with pytest.raises(EncodingError, match="unknown key"):
        NB301.parse({**config, "NetworkSelectorDatasetInfo:darts:edge_normal_99": "skip_connect"})


@pytest.mark.parametrize("inputs", [[True], ["0"], [0.0], 0.5, [[0]], [None]])
def test_nb101_nni_inputs_must_be_ints(inputs):
    space = nape.spaces.get("nb101")
    sample = {**space.encode(space.sample(0), "nni"), "cell/input1": inputs}
    with pytest.raises(EncodingError, match="cell/input1 must list source vertices"):
        space.parse(sample)


@pytest.mark.parametrize("name", nape.spaces.names())
def test_messages_never_echo_a_huge_input(name):
    space = nape.spaces.get(name)
    for huge in ("|" + "x" * 10_000_000, {"cell/0_1": "x" * 10_000_000}, ["x" * 10_000_000] * 6):
        with pytest.raises(EncodingError) as err:
            space.parse(huge)
        assert len(str(err.value)) <= 2000, len(str(err.value))
