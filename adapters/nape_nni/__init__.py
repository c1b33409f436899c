"""NNI adapter for nape-plugin: score NNI architectures with the estimator (see docs/nni.md)."""
