"""Predictor-guided architecture search: regularised evolution (``evolution``), its result (``result``), Pareto
fronts (``pareto``) and scorers (``scorers``)."""
from .evolution import search
from .pareto import hypervolume_2d, pareto_front
from .result import SearchResult
from .scorers import make_scorer

__all__ = ["SearchResult", "hypervolume_2d", "make_scorer", "pareto_front", "search"]
