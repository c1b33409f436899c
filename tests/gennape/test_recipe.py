import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import nape_plugin as nape
from nape_plugin import cli
from nape_plugin.errors import UnknownNameError
from nape_plugin.gennape.pretrained import user_dir
from nape_plugin.gennape.recipe import load_config

TINY = Path(__file__).parent / "tiny_config.json"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("pretrained")
    assert cli.main(["pretrain", str(TINY), "--out", str(out), "--data-root", str(shared_data)]) == 0
    return out


def test_pretrain_writes_weights_and_a_card(tiny_model):
    card = json.loads((tiny_model / "tiny.json").read_text())
    assert card["name"] == "tiny" and card["seed"] == 0
    assert card["training_data"] == [{"family": "tnb101_micro", "metric": "val_accs", "n": 48, "excluded": 0}]
    assert card["unlabelled"] == {"nb201": 8}
    assert set(card["zero_shot"]) == {"nb301"} and card["zero_shot"]["nb301"]["n"] == 40
    assert card["command"].startswith("nape pretrain")
    assert 0 <= card["check"]["n"] == 500
    assert nape.load(tiny_model / "tiny.pt").card_["name"] == "tiny"


def test_card_metric_is_reproduced_by_the_saved_weights(tiny_model):
    from nape_plugin.gennape.recipe import check_metrics
    card = json.loads((tiny_model / "tiny.json").read_text())
    assert check_metrics(nape.load(tiny_model / "tiny.pt")) == card["check"]


def test_pretraining_is_reproducible_and_writes_to_the_user_folder_by_default(tiny_model, tmp_path, monkeypatch,
                                                                              shared_data):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert cli.main(["pretrain", str(TINY), "--data-root", str(shared_data)]) == 0
    assert sorted(p.name for p in user_dir().iterdir()) == ["tiny.json", "tiny.pt"]
    a, b = nape.load(tiny_model / "tiny.pt"), nape.load(user_dir() / "tiny.pt")
    sample = nape.spaces.get("nb201").to_graph(nape.spaces.get("nb201").sample(3))
    np.testing.assert_array_equal(a.predict([sample]), b.predict([sample]))


def test_interrupted_pretraining_resumes_from_checkpoints(tmp_path, shared_data):
    ck = tmp_path / "ck"
    assert cli.main(["pretrain", str(TINY), "--out", str(tmp_path / "a"), "--data-root", str(shared_data),
                     "--checkpoint-dir", str(ck)]) == 0
    assert {p.name for p in ck.iterdir()} == {"contrastive.pt", "supervised.pt"}
    # a rerun finds both stages complete and reproduces the same weights without training again
    assert cli.main(["pretrain", str(TINY), "--out", str(tmp_path / "b"), "--data-root", str(shared_data),
                     "--checkpoint-dir", str(ck)]) == 0
    g = nape.spaces.get("nb201").to_graph(nape.spaces.get("nb201").sample(1))
    np.testing.assert_array_equal(nape.load(tmp_path / "a" / "tiny.pt").predict([g]),
                                  nape.load(tmp_path / "b" / "tiny.pt").predict([g]))


def test_unknown_config_lists_the_shipped_ones():
    with pytest.raises(UnknownNameError, match="gennape-nb101"):
        load_config("no-such-config")
