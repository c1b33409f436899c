"""Other predictors: gradient-boosted trees on graph features, zero-cost proxies, learning-curve extrapolation."""
