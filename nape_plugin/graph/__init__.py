"""The computation graph (CG): nodes, the op vocabulary, the builder, GNN features and packed batches.

The lowest layer of nape-plugin above errors and utils: everything else reads or makes CompGraphs.
"""
from .builder import GraphBuilder
from .core import GRAPH_FORMAT_VERSION, CompGraph, Node, Shape

__all__ = ["GRAPH_FORMAT_VERSION", "CompGraph", "GraphBuilder", "Node", "Shape"]
