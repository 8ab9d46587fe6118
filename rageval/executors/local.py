"""Score batches in the calling process."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from rageval.errors import RagevalError
from rageval.metric import Failed, Outcome
from rageval.sample import Sample
from rageval.task import ConfiguredMetric

ScoredBatch = tuple[list[Sample], list[list[Outcome]]]


def score_batch_safely(configured: ConfiguredMetric, batch: list[Sample]) -> list[Outcome]:
    """The metric's outcomes for a batch; a metric that raises fails this batch's rows only."""
    try:
        outcomes = configured.metric.score_batch(batch)
    except RagevalError:
        raise
    except Exception as exc:
        reason = f"metric {configured.alias!r} raised {type(exc).__name__}: {exc}"
        return [Failed(reason) for _ in batch]
    if len(outcomes) != len(batch):
        reason = f"metric {configured.alias!r} returned {len(outcomes)} outcomes for {len(batch)} samples"
        return [Failed(reason) for _ in batch]
    return outcomes


def score_with_all(
    metrics: list[ConfiguredMetric], batch: list[Sample], seconds: dict[str, float]
) -> list[list[Outcome]]:
    """Every metric's outcomes for one batch, adding each metric's time to ``seconds``."""
    results = []
    for configured in metrics:
        started = time.perf_counter()
        results.append(score_batch_safely(configured, batch))
        seconds[configured.alias] = seconds.get(configured.alias, 0.0) + time.perf_counter() - started
    return results


class LocalExecutor:
    """Scores each batch with every metric, one after the other, in this process."""

    def __init__(self, metrics: list[ConfiguredMetric]):
        self.metrics = metrics
        self.seconds: dict[str, float] = {}

    def map(self, batches: Iterable[list[Sample]]) -> Iterator[ScoredBatch]:
        for batch in batches:
            yield batch, score_with_all(self.metrics, batch, self.seconds)

    def close(self) -> None:
        """Nothing to release."""
