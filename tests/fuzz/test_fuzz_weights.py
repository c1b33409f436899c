"""Fuzzing the weight loader: damaged files and crafted contents (with a valid checksum) give a NapeError or an
estimator that predicts exactly what the original does; never a raw exception or a silently different model."""
from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("hypothesis")

import torch  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nape_plugin as nape  # noqa: E402
from nape_plugin.errors import NapeError  # noqa: E402
from nape_plugin.gennape import io as weights  # noqa: E402

from .strategies import examples, junk, mutated  # noqa: E402

SPACE = nape.spaces.get("nb201")
GRAPHS = [SPACE.to_graph(SPACE.sample(i)) for i in range(3)]


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A saved estimator: its bytes, its blob and its predictions."""
    path = tmp_path_factory.mktemp("weights") / "est.pt"
    est = nape.load_pretrained()
    est.save(path)
    blob = torch.load(path, weights_only=True)
    return path.read_bytes(), blob, est.predict(GRAPHS)


def load(data: bytes, folder) -> object | None:
    path = folder / "fuzzed.pt"
    path.write_bytes(data)
    try:
        return nape.load(path)
    except NapeError:
        return None


@examples(40)
@given(data=st.data())
def test_damaged_files(original, tmp_path_factory, data):
    raw, _, want = original
    b = bytearray(raw)
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "zero"]))
    i = data.draw(st.integers(0, len(b) - 1))
    if kind == "flip":
        b[i] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "truncate":
        del b[i:]
    elif kind == "insert":
        b[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    else:
        b[i:i + data.draw(st.integers(1, 64))] = bytes(64)[:len(b[i:i + 64])]
    est = load(bytes(b), tmp_path_factory.getbasetemp())
    if est is not None:                        # the change missed every byte the model is made of
        np.testing.assert_array_equal(est.predict(GRAPHS), want)


def _tensor_edit(draw, t: torch.Tensor) -> object:
    kind = draw(st.sampled_from(["shape", "nan", "dtype", "junk"]))
    if kind == "shape":
        return torch.zeros(tuple(draw(st.lists(st.integers(0, 5), max_size=3))))
    if kind == "nan":
        t = t.clone().float().reshape(-1)
        if t.numel():
            t[draw(st.integers(0, t.numel() - 1))] = draw(st.sampled_from([float("nan"), float("inf"), 1e38]))
        return t
    if kind == "dtype":
        return t.to(draw(st.sampled_from([torch.int64, torch.bool, torch.float64, torch.uint8])))
    return draw(junk)


@st.composite
def crafted(draw, blob: dict) -> dict:
    """``blob`` with one part replaced: a tensor reshaped, poisoned or retyped, or any value mutated."""
    out = dict(blob)
    key = draw(st.sampled_from(sorted(out)))
    value = out[key]
    if isinstance(value, dict) and value and draw(st.booleans()):
        inner = dict(value)
        k = draw(st.sampled_from(sorted(inner)))
        inner[k] = _tensor_edit(draw, inner[k]) if isinstance(inner[k], torch.Tensor) else draw(mutated(inner[k]))
        out[key] = inner
    elif isinstance(value, torch.Tensor):
        out[key] = _tensor_edit(draw, value)
    elif draw(st.integers(0, 4)) == 0:
        del out[key]
    else:
        out[key] = draw(mutated(value))
    return out


@examples(60)
@given(data=st.data())
def test_crafted_contents_with_a_valid_checksum(original, tmp_path_factory, data):
    _, blob, want = original
    bad = data.draw(crafted({k: v for k, v in blob.items() if k != weights.CHECKSUM}))
    try:
        bad[weights.CHECKSUM] = weights.checksum(bad)
    except NapeError:                          # a value no estimator file can hold
        return
    buf = io.BytesIO()
    torch.save(bad, buf)
    est = load(buf.getvalue(), tmp_path_factory.getbasetemp())
    if est is not None:
        assert np.isfinite(est.predict(GRAPHS)).all()
