"""Torch layers of the estimator, one per file: the DAG convolution, the graph encoder, the head ensemble."""
from .dag_conv import DAGConv
from .encoder import GraphEncoder
from .heads import HeadEnsemble

__all__ = ["DAGConv", "GraphEncoder", "HeadEnsemble"]
