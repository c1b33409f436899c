"""The shipped models: present in the installed package, loadable with weights_only, true to their cards."""
import json
from importlib import resources

import numpy as np
import pytest
import torch

import nape_plugin as nape
from nape_plugin.gennape.io import BAG_FORMAT
from nape_plugin.errors import UnknownNameError
from nape_plugin.gennape.io import FORMAT
from nape_plugin.gennape.recipe import check_metrics

SHIPPED = ("default", "gennape-nb101")


@pytest.mark.parametrize("name", SHIPPED)
def test_installed_package_ships_weights_and_card(name):
    folder = resources.files("nape_plugin.gennape.pretrained")
    assert folder.joinpath(f"{name}.pt").is_file() and folder.joinpath(f"{name}.json").is_file()
    assert folder.joinpath(f"{name}.pt").stat().st_size < 5_000_000
    blob = torch.load(folder.joinpath(f"{name}.pt"), map_location="cpu", weights_only=True)
    assert blob["format"] in (FORMAT, BAG_FORMAT)


@pytest.mark.parametrize("name", SHIPPED)
def test_model_reproduces_the_metric_on_its_card(name):
    card = json.loads(resources.files("nape_plugin.gennape.pretrained").joinpath(f"{name}.json").read_text())
    for key in ("training_data", "seed", "command", "git_revision", "config", "check"):
        assert key in card, key
    assert card["command"].startswith(f"nape pretrain {name}")
    assert check_metrics(nape.load_pretrained(name)) == card["check"]


def test_each_load_is_a_fresh_copy():
    a, b = nape.load_pretrained(), nape.load_pretrained()
    assert a is not b and a.model_ is not b.model_
    g = nape.spaces.get("nb201").to_graph(nape.spaces.get("nb201").sample(0))
    np.testing.assert_array_equal(a.predict([g]), b.predict([g]))


def test_unknown_name_lists_the_shipped_ones():
    with pytest.raises(UnknownNameError, match="default.*gennape-nb101|gennape-nb101.*default"):
        nape.load_pretrained("no-such-model")
