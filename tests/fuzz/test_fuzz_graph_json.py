"""Fuzzing the CompGraph JSON loader: mutated graphs and junk give a GraphError (a NapeError) or a valid graph that
hashes, packs and gets a finite prediction (or a NapeError saying why not)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nape_plugin as nape  # noqa: E402
from nape_plugin.errors import NapeError  # noqa: E402
from nape_plugin.graph.packed import PackedGraphs  # noqa: E402

from .strategies import examples, junk, mutated  # noqa: E402


def _graphs() -> list[dict]:
    b = nape.GraphBuilder((3, 8, 8))
    x = b.relu(b.conv(b.input, 4, 3, stride=2, name="c"))
    tiny = b.build(b.linear(b.flatten(b.global_pool(b.add([x, b.bn(x)]))), 2))
    nb201 = nape.spaces.get("nb201")
    return [tiny.to_dict(), nb201.to_graph(nb201.sample(0)).to_dict()]


GRAPHS = _graphs()


@pytest.fixture(scope="module")
def estimator():
    return nape.load_pretrained()


def check_load(text_or_dict, est) -> None:
    """The property: a NapeError, or a graph that hashes, packs and gets a finite prediction (or a NapeError)."""
    try:
        g = nape.CompGraph.from_dict(text_or_dict) if isinstance(text_or_dict, dict) else \
            nape.CompGraph.from_json(text_or_dict)
    except NapeError:
        return
    hash(g)
    assert nape.CompGraph.from_json(g.to_json()) == g
    PackedGraphs([g])
    try:
        pred = est.predict([g])
    except NapeError:
        return
    assert pred.shape == (1,) and bool(abs(pred[0]) < float("inf"))


@examples(150)
@given(data=st.data())
def test_mutated_graph_dicts(estimator, data):
    check_load(data.draw(mutated(data.draw(st.sampled_from(GRAPHS)))), estimator)


@examples(80)
@given(data=st.data())
def test_mutated_graph_json_text(estimator, data):
    text = json.dumps(data.draw(st.sampled_from(GRAPHS)))
    check_load(data.draw(mutated(text)), estimator)


@examples(60)
@given(value=junk)
def test_junk(estimator, value):
    check_load(value if isinstance(value, dict) else json.dumps(value, default=str), estimator)


big = st.integers(1, 2 ** 63 - 1) | st.integers(1, 64)


@examples(120)
@given(data=st.data())
def test_extreme_but_valid_node_attributes(estimator, data):
    """Attributes in range but absurd (8-d shapes, 2**63 - 1 FLOPs): the graph loads and predicts finitely, or a
    NapeError says why not; never an overflow or a math domain error."""
    d = json.loads(json.dumps(data.draw(st.sampled_from(GRAPHS))))
    for _ in range(data.draw(st.integers(1, 4))):
        node = data.draw(st.sampled_from(d["nodes"]))
        field = data.draw(st.sampled_from(["in_shape", "out_shape", "kernel", "stride", "dilation", "groups",
                                           "flops", "params"]))
        if field in ("groups", "flops", "params"):
            node[field] = data.draw(big | st.just(0)) if field != "groups" else data.draw(big)
        else:
            node[field] = data.draw(st.lists(big, max_size=8))
    check_load(d, estimator)
