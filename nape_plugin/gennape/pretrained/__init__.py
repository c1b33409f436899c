"""Shipped pretrained estimators: weights (``<name>.pt``) and their JSON cards (``<name>.json``) in this folder, and
the registry that finds an estimator by name or path (:mod:`.registry`)."""
from .registry import HERE, Estimator, card, load, load_pretrained, names, resolve, shipped, user_dir, user_models

__all__ = ["HERE", "Estimator", "card", "load", "load_pretrained", "names", "resolve", "shipped", "user_dir",
           "user_models"]
