"""Every registered search space keeps the space contract (nape_plugin.testing.check_space)."""
from __future__ import annotations

import pytest

import nape_plugin as nape
from nape_plugin.testing import check_space


@pytest.mark.parametrize("name", nape.spaces.names())
def test_every_registered_space_keeps_the_contract(name):
    check_space(nape.spaces.get(name), n=5)


def test_the_builtin_spaces_are_all_checked():
    assert {"nb101", "nb201", "nb301", "nb_macro", "tnb101_micro", "tnb101_macro", "ofa_mbv3", "ofa_pn",
            "ofa_resnet"} <= set(nape.spaces.names())
