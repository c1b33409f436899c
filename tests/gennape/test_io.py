"""nape_plugin.gennape.io: weight files carry a checksum, hold only finite weights, and anything that does not fit
is a WeightsError naming the file; saving never replaces what it must not."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import NonFiniteError, PathError, WeightsError
from nape_plugin.gennape import io
from nape_plugin.gennape.pretrained import HERE

SPACE = nape.spaces.get("nb201")
GRAPHS = [SPACE.to_graph(SPACE.sample(i)) for i in range(4)]


@pytest.fixture(scope="module")
def est():
    return nape.load_pretrained()


@pytest.fixture
def saved(est, tmp_path):
    path = tmp_path / "est.pt"
    est.save(path)
    return path


def resave(blob: dict, path) -> None:
    """``blob`` written as a crafted file would be: any contents, with a checksum that matches them."""
    torch.save({**blob, io.CHECKSUM: io.checksum(blob)}, path)


def test_a_flipped_byte_in_the_weights_is_refused(est, saved):
    raw = bytearray(saved.read_bytes())
    weights = est.model_.state_dict()["heads.w1"].numpy().tobytes()
    at = bytes(raw).find(weights[:64])
    assert at > 0
    raw[at + 5] ^= 0x10                        # one bit of one weight: before checksums, predictions just changed
    saved.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="fails its checksum"):
        nape.load(saved)


def test_nan_weights_are_refused_at_load(saved):
    blob = torch.load(saved, weights_only=True)
    blob["state_dict"]["heads.w1"][0, 0, 0] = float("nan")
    resave(blob, saved)
    with pytest.raises(WeightsError, match=r"NaN or infinite weights \(state_dict.heads.w1\)"):
        nape.load(saved)


def test_non_finite_predictions_are_refused(est):
    broken = copy.deepcopy(est)
    with torch.no_grad():
        broken.model_.heads.b2.fill_(float("inf"))
    with pytest.raises(NonFiniteError, match="4 of 4 predictions are NaN or infinite"):
        broken.predict(GRAPHS)


@pytest.mark.parametrize("craft, message", [
    (lambda b: b.pop("centers"), "KeyError"),
    (lambda b: b.__setitem__("centers", torch.zeros(2, 3)), "not a usable estimator"),
    (lambda b: b["state_dict"].__setitem__("heads.w1", torch.zeros(1, 2)), "do not fit the architecture"),
    (lambda b: b.__setitem__("params", {**b["params"], "width": 7}), "do not fit the architecture"),
    (lambda b: b.__setitem__("params", {**b["params"], "unknown": 1}), "not a usable estimator"),
    (lambda b: b.__setitem__("size_stats", [torch.zeros(5)]), "not a usable estimator"),
    (lambda b: b.__setitem__("scaler", "rank"), "not a usable estimator"),
])
def test_crafted_contents_are_weights_errors(saved, craft, message):
    blob = {k: v for k, v in torch.load(saved, weights_only=True).items() if k != io.CHECKSUM}
    craft(blob)
    resave(blob, saved)
    with pytest.raises(WeightsError, match=message):
        nape.load(saved)


def test_a_file_without_checksum_is_refused_until_upgraded(est, saved):
    blob = {k: v for k, v in torch.load(saved, weights_only=True).items() if k != io.CHECKSUM}
    torch.save({**blob, "format_version": 1}, saved)              # what earlier versions wrote
    with pytest.raises(WeightsError, match=r"format 1, which had no checksum.*io.upgrade"):
        nape.load(saved)
    io.upgrade(saved)
    np.testing.assert_array_equal(nape.load(saved).predict(GRAPHS), est.predict(GRAPHS))


@pytest.mark.parametrize("name", ["default", "gennape-nb101"])
def test_shipped_weights_carry_a_valid_checksum(name):
    blob = io.read(HERE / f"{name}.pt")
    assert blob[io.CHECKSUM] == io.checksum(blob) and blob["format_version"] == io.FORMAT_VERSION


def test_missing_paths_and_folders_are_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no estimator file"):
        nape.load(tmp_path / "missing.pt")
    with pytest.raises(PathError, match="is a folder"):
        nape.load(tmp_path)


def test_save_never_replaces_a_folder_or_a_read_only_file(est, tmp_path):
    with pytest.raises(PathError, match="it is a folder"):
        est.save(tmp_path)
    keep = tmp_path / "keep.pt"
    keep.write_bytes(b"precious")
    keep.chmod(0o444)
    with pytest.raises(PathError, match="read-only"):
        est.save(keep)
    assert keep.read_bytes() == b"precious"
