"""The ways into a computation graph: ``to_graph``, the torch.fx tracer, the op mappings and ONNX."""
from .api import to_graph

__all__ = ["to_graph"]
