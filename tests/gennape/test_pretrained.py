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
from nape_plugin.gennape.recipe import check_metrics, check_mismatches

SHIPPED = ("default", "gennape-nb101")


@pytest.mark.parametrize("name", SHIPPED)
def test_installed_package_ships_weights_and_card(name):
    folder = resources.files("nape_plugin.gennape.pretrained")
    assert folder.joinpath(f"{name}.pt").is_file() and folder.joinpath(f"{name}.json").is_file()
    assert folder.joinpath(f"{name}.pt").stat().st_size < 5_000_000
    blob = torch.load(folder.joinpath(f"{name}.pt"), map_location="cpu", weights_only=True)
    assert blob["format"] in (FORMAT, BAG_FORMAT)


def card(name: str) -> dict:
    return json.loads(resources.files("nape_plugin.gennape.pretrained").joinpath(f"{name}.json").read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_model_reproduces_the_metric_on_its_card(name):
    promised = card(name)
    for key in ("training_data", "seed", "command", "git_revision", "config", "check"):
        assert key in promised, key
    assert promised["command"].startswith(f"nape pretrain {name}")
    assert set(promised["check"]["precision"]) == {"srcc", "kendall_tau", "predictions"}
    assert check_mismatches(check_metrics(nape.load_pretrained(name)), promised["check"]) == []


def test_the_card_check_catches_the_other_models_weights():
    wrong = check_mismatches(check_metrics(nape.load_pretrained("gennape-nb101")), card("default")["check"])
    assert any(m.startswith("srcc") for m in wrong) and any(m.startswith("predictions") for m in wrong)


def test_the_card_check_catches_one_perturbed_weight_tensor():
    est = nape.load_pretrained("default")
    with torch.no_grad():
        est.model_.encoder.convs[3].lin.weight.mul_(1.01)     # the last message-passing layer, 1% larger
    wrong = check_mismatches(check_metrics(est), card("default")["check"])
    assert len(wrong) == 1 and wrong[0].startswith("predictions differ")


def test_the_card_check_tolerates_float_noise():
    """A one-ulp relative change of every weight (the size of the differences between CPUs and BLAS builds)."""
    est = nape.load_pretrained("default")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in est.model_.parameters():
            p.mul_(1 + torch.finfo(p.dtype).eps * torch.randn(p.shape, generator=g))
    assert check_mismatches(check_metrics(est), card("default")["check"]) == []


def test_each_load_is_a_fresh_copy():
    a, b = nape.load_pretrained(), nape.load_pretrained()
    assert a is not b and a.model_ is not b.model_
    g = nape.spaces.get("nb201").to_graph(nape.spaces.get("nb201").sample(0))
    np.testing.assert_array_equal(a.predict([g]), b.predict([g]))


def test_unknown_name_lists_the_shipped_ones():
    with pytest.raises(UnknownNameError, match="default.*gennape-nb101|gennape-nb101.*default"):
        nape.load_pretrained("no-such-model")
