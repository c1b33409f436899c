"""Neural building blocks of the estimator: the DAG convolution, the graph encoder, the head ensemble, fuzzy c-means."""
from .dag_conv import DAGConv
from .encoder import GraphEncoder
from .fcm import fuzzy_cmeans, memberships
from .heads import HeadEnsemble

__all__ = ["DAGConv", "GraphEncoder", "HeadEnsemble", "fuzzy_cmeans", "memberships"]
