"""nape-blurpool's own tests: nape-plugin's conformance kit holds the ``blurnet`` space to the space contract.

Run them with ``pytest`` from this folder once the package is installed (``pip install .``); nape-plugin's suite runs
them too.
"""
from __future__ import annotations

import pytest

import nape_plugin as nape
from nape_plugin import plugins
from nape_plugin.testing import check_space


@pytest.fixture
def blurpool():
    """The plugin registered for one test (as the entry point registers it once the package is installed)."""
    import nape_blurpool.plugin
    name = plugins.register(nape_blurpool.plugin, name="blurpool-under-test")
    yield nape.spaces.get("blurnet")
    plugins.unregister(name)


def test_the_space_keeps_the_contract(blurpool):
    check_space(blurpool, n=10, archs=["64-64-64", (16,)], malformed=["16-24", "16-32-64-64", (32, 32, 32, 32)])


def test_without_the_op_mapping_the_graph_is_not_the_network():
    """Unregistered, the tracer reads BlurPool2d as a pad and a depthwise conv, and the space's graphs (which read
    it as avgpool) no longer agree with its networks."""
    from nape_blurpool.space import BlurNetSpace
    with pytest.raises(AssertionError, match="differs from tracing"):
        check_space(BlurNetSpace(), n=1)
