"""Bootstrap confidence intervals recomputed from per-sample statistics, never by re-scoring."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from rageval.metric import Metric, finite_or_none


def resample_counts(rng: np.random.Generator, n: int) -> np.ndarray:
    """How often each of ``n`` rows is drawn in one bootstrap resample of size ``n``."""
    return np.bincount(rng.integers(0, n, size=n), minlength=n)


RESAMPLE_BLOCK = 32
"""Resamples whose totals come from one matrix product."""
BLOCK_CELLS = 4_000_000
"""Most counts held at once (32 MB): blocks shrink for large datasets."""


def bootstrap_scores(
    metric: Metric,
    stats: np.ndarray,
    resamples: int,
    seed: int,
) -> dict[str, list[float]]:
    """Corpus scores of ``resamples`` bootstrap resamples of the rows of ``stats``, per score key.

    Additive metrics are re-aggregated from weighted totals (one matrix product per block of
    resamples); others get the resampled rows. Undetermined resample scores are left out.
    """
    return bootstrap_many([(metric, stats)], resamples, seed)[0]


def bootstrap_many(
    jobs: Sequence[tuple[Metric, np.ndarray]], resamples: int, seed: int
) -> list[dict[str, list[float]]]:
    """:func:`bootstrap_scores` of each ``(metric, stats)`` pair, with the same draws as one call per pair.

    The resample counts depend only on the seed and the number of rows, so they are drawn once
    for all pairs with the same number of rows: a run's metrics share the random draws, which
    cost more than the products.
    """
    results: list[dict[str, list[float]]] = [{} for _ in jobs]
    by_rows: dict[int, list[int]] = {}
    for index, (_, stats) in enumerate(jobs):
        by_rows.setdefault(stats.shape[0], []).append(index)
    with _one_blas_thread():
        for n, indices in by_rows.items():
            _bootstrap_rows(jobs, indices, n, resamples, seed, results)
    return results


def _one_blas_thread() -> AbstractContextManager[Any]:
    """BLAS on one thread: its threads slow these small products down many times on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(1, user_api="blas")


def _bootstrap_rows(
    jobs: Sequence[tuple[Metric, np.ndarray]],
    indices: list[int],
    n: int,
    resamples: int,
    seed: int,
    results: list[dict[str, list[float]]],
) -> None:
    """Bootstrap the jobs at ``indices``, which all have ``n`` rows, from one stream of resample counts."""
    rng = np.random.default_rng(seed)
    step = max(1, min(RESAMPLE_BLOCK, resamples, BLOCK_CELLS // max(n, 1)))
    block = np.empty((step, n))
    for start in range(0, resamples, step):
        size = min(step, resamples - start)
        for row in range(size):
            block[row] = resample_counts(rng, n)
        for index in indices:
            metric, stats = jobs[index]
            for scores in _block_scores(metric, stats, block[:size]):
                for key, value in scores.items():
                    value = finite_or_none(value)
                    if value is not None:
                        results[index].setdefault(key, []).append(value)


def _block_scores(metric: Metric, stats: np.ndarray, counts: np.ndarray) -> list[dict[str, float | None]]:
    """The metric's corpus scores for each row of resample ``counts``."""
    if metric.additive and stats.dtype == np.float64:
        return [metric.scores_from_totals(totals) for totals in counts @ stats]
    if metric.additive:
        return [metric.scores_from_totals(row.astype(np.int64).astype(stats.dtype) @ stats) for row in counts]
    return [metric.corpus_scores(np.repeat(stats, row.astype(np.intp), axis=0)) for row in counts]


def percentile_interval(values: list[float], confidence: float = 0.95) -> list[float] | None:
    """The percentile bootstrap interval, or ``None`` with no values."""
    if not values:
        return None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(np.asarray(values, dtype=float), [tail, 100.0 - tail])
    return [float(low), float(high)]
