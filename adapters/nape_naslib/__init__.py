"""NASLib adapter for nape-plugin: the estimator as a NASLib predictor (see docs/naslib.md)."""
