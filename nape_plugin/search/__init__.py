"""Predictor-guided architecture search: regularised evolution, Pareto fronts, scorers."""
from .evolution import SearchResult, hypervolume_2d, make_scorer, pareto_front, search

__all__ = ["SearchResult", "hypervolume_2d", "make_scorer", "pareto_front", "search"]
