"""The GENNAPE estimator: model, front class, pretraining, fine-tuning, persistence, layers and shipped weights."""
