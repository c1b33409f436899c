"""Built-in plugin of the ways in: torch modules (the tracer and its op mappings), ONNX models and graph files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConversionError
from ..graph.core import CompGraph
from ..plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def nape_op_mappings():
    from .opmap import FUNCTIONS, METHODS, MODULES
    return {**MODULES, **FUNCTIONS, **METHODS}


@hookimpl(trylast=True)
def nape_to_graph(obj: Any, context: dict[str, Any]):
    from torch import nn
    if isinstance(obj, nn.Module):
        if context.get("input_shape") is None:
            raise ConversionError(f"to_graph({type(obj).__name__}) needs input_shape=(C, H, W), the shape of one input "
                                  "without the batch dimension")
        from .trace import trace
        return trace(obj, context["input_shape"], **{k: v for k, v in context.items() if k in ("input_dtype", "name")})
    from .onnx import from_onnx, is_onnx
    if is_onnx(obj):
        return from_onnx(obj, **{k: v for k, v in context.items() if k in ("input_shape", "name")})
    if isinstance(obj, dict) and "nodes" in obj and "edges" in obj:
        return CompGraph.from_dict(obj)
    if isinstance(obj, Path) or (isinstance(obj, str) and obj.endswith(".json")):
        return CompGraph.from_json(obj)
    return None
