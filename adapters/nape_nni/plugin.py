"""nape-plugin hooks contributed by the NNI adapter (loaded through the ``nape_plugin`` entry point).

NNI is never imported here: an object can only be an NNI object if the program already imported ``nni``, so the
converter steps aside at no cost otherwise.
"""
from __future__ import annotations

import sys
from typing import Any

from nape_plugin.plugins.hookspecs import hookimpl


@hookimpl
def nape_to_graph(obj: Any, context: dict[str, Any]):
    """NNI models, model spaces with a sample, frozen ``ExecutableModelSpace`` objects and samples (docs/nni.md)."""
    if "nni" not in sys.modules or "space" in context:
        return None
    from .convert import to_graph
    return to_graph(obj, context)


@hookimpl
def nape_op_mappings():
    """NNI modules the tracer keeps as single ops: AutoFormer's relative position table (a lookup of learned
    embeddings sized from the input's shape, which fx cannot follow). Named, so NNI stays unimported."""
    return {"nni.nas.hub.pytorch.autoformer.RelativePosition2D": "embedding"}
