"""``BatchedEngine``: NNI's sequential engine, scoring queued models in one estimator call.

NNI's strategies submit one model at a time and wait for a free worker before the next. This engine reports a free
worker until ``batch_size`` models are queued, scores the queue with one batched prediction, then runs each model (its
metric already cached) and reports it. To a strategy this is ``batch_size`` parallel workers, as with NNI's
training-service engine and ``trial_concurrency=batch_size``: the strategy proposes models before the previous ones'
metrics are in (an asynchronous evolution, for instance).
"""
from __future__ import annotations

from typing import Any

from nni.nas.execution import SequentialExecutionEngine
from nni.nas.space import ExecutableModelSpace

from .evaluator import NapeEvaluator

__all__ = ["BatchedEngine"]


class BatchedEngine(SequentialExecutionEngine):
    """Sequential engine scoring ``batch_size`` models per :class:`NapeEvaluator` call (``max_model_count`` and
    ``max_duration`` as in NNI's ``SequentialExecutionEngine``)."""

    def __init__(self, evaluator: NapeEvaluator, batch_size: int = 32, max_model_count: int | None = None,
                 max_duration: float | None = None, continue_on_failure: bool = False):
        super().__init__(max_model_count, max_duration, continue_on_failure)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.evaluator = evaluator
        self.batch_size = batch_size
        self._queue: list[ExecutableModelSpace] = []

    def submit_models(self, *models: ExecutableModelSpace) -> None:
        for model in models:
            if not model.status.frozen() or model.status.completed():
                raise RuntimeError(f"Model must be frozen before submitting, but got {model}")
            self._queue.append(model)
            if len(self._queue) >= self.batch_size:
                self._flush()

    def _flush(self) -> None:
        queue, self._queue = self._queue, []
        if queue:
            self.evaluator.metrics(queue)                 # one batched prediction; each run below hits the cache
            super().submit_models(*queue)

    def idle_worker_available(self) -> bool:
        return len(self._queue) < self.batch_size

    def budget_available(self) -> bool:
        queued = len(self._queue)
        done = self.max_model_count is not None and self._model_count + queued >= self.max_model_count
        if done or not super().budget_available():
            self._flush()
            return False
        return True

    def wait_models(self, *models: Any) -> None:
        self._flush()

    def list_models(self, status: Any = None):
        return [*super().list_models(status), *(m for m in self._queue if status is None or m.status == status)]
