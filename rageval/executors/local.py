"""Score batches in the calling process."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from rageval.errors import RagevalError
from rageval.metric import Failed, Outcome, Scored
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
    if not isinstance(outcomes, (list, tuple)) or len(outcomes) != len(batch):
        count = len(outcomes) if isinstance(outcomes, (list, tuple)) else type(outcomes).__name__
        reason = f"metric {configured.alias!r} returned {count} outcomes for {len(batch)} samples"
        return [Failed(reason) for _ in batch]
    additive = type(configured.metric).additive
    checked = [_checked(outcome, additive, configured.alias) for outcome in outcomes]
    widths = {len(outcome.stats) for outcome in checked if isinstance(outcome, Scored)}
    if len(widths) > 1:
        reason = f"metric {configured.alias!r} returned statistics of different lengths {sorted(widths)} in one batch"
        return [Failed(reason) for _ in batch]
    return checked


def _checked(outcome: Any, additive: bool, alias: str) -> Outcome:
    """``outcome``, or a :class:`Failed` saying how it breaks the contract (so a bad plugin cannot crash the run)."""
    if isinstance(outcome, Failed):
        return outcome
    if not isinstance(outcome, Scored):
        return Failed(f"metric {alias!r} returned {type(outcome).__name__} for a sample, not Scored or Failed")
    stats = outcome.stats
    if additive and type(stats) in (tuple, list):
        try:
            if math.isfinite(sum(stats)):
                return outcome
        except (TypeError, OverflowError):
            pass
    if not isinstance(stats, (tuple, list, np.ndarray)):
        return Failed(f"metric {alias!r} returned statistics of type {type(stats).__name__}, not a tuple")
    for value in stats:
        if isinstance(value, numbers.Integral) and not additive:
            continue
        if isinstance(value, numbers.Real):
            try:
                finite = math.isfinite(value)
            except OverflowError:  # an int beyond float range
                finite = False
            if not finite:
                return Failed(f"metric {alias!r} returned a statistic that is not a finite float ({value!r:.40})")
        elif additive or not (value is None or isinstance(value, str)):
            kind = "a finite number" if additive else "a number, a string or null"
            return Failed(f"metric {alias!r} returned a statistic {value!r} that is not {kind}")
    return outcome


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
