"""The nape-plugin hooks of nape-blurpool, found through the ``nape_plugin`` entry point in pyproject.toml."""
from __future__ import annotations

from nape_plugin.graph.builder import pool_node
from nape_plugin.graph import Node
from nape_plugin.plugins.hookspecs import hookimpl
from nape_plugin.convert.opmap import Call

from . import BlurPool2d


def blurpool_node(call: Call) -> Node:
    """A BlurPool2d call is a fixed (weightless) averaging window: an ``avgpool`` node with its kernel and stride."""
    m = call.target
    return pool_node("avgpool", call.in_shape, call.out_shape, (m.kernel_size,) * 2, (m.stride,) * 2, call.name)


@hookimpl
def nape_op_mappings():
    # Without this, the tracer would look inside BlurPool2d and see a pad and a depthwise conv: to the estimator,
    # a learnable layer. As a mapped class, BlurPool2d is traced as one node built by blurpool_node.
    return {BlurPool2d: blurpool_node}


@hookimpl
def nape_register_spaces():
    # Imported here, not at the top: the plugin module is imported whenever nape-plugin starts.
    from .space import BlurNetSpace
    return [BlurNetSpace()]
