"""Bootstrap confidence intervals recomputed from per-sample statistics, never by re-scoring."""

from __future__ import annotations

import numpy as np

from rageval.metric import Metric, finite_or_none


def resample_counts(rng: np.random.Generator, n: int) -> np.ndarray:
    """How often each of ``n`` rows is drawn in one bootstrap resample of size ``n``."""
    return np.bincount(rng.integers(0, n, size=n), minlength=n)


def bootstrap_scores(
    metric: Metric,
    stats: np.ndarray,
    resamples: int,
    seed: int,
) -> dict[str, list[float]]:
    """Corpus scores of ``resamples`` bootstrap resamples of the rows of ``stats``, per score key.

    Additive metrics are re-aggregated from weighted totals (one matrix-vector product per
    resample); others get the resampled rows. Undetermined resample scores are left out.
    """
    n = stats.shape[0]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        counts = resample_counts(rng, n)
        if metric.additive:
            scores = metric.scores_from_totals(counts.astype(stats.dtype) @ stats)
        else:
            scores = metric.corpus_scores(np.repeat(stats, counts, axis=0))
        for key, value in scores.items():
            value = finite_or_none(value)
            if value is not None:
                draws.setdefault(key, []).append(value)
    return draws


def percentile_interval(values: list[float], confidence: float = 0.95) -> list[float] | None:
    """The percentile bootstrap interval, or ``None`` with no values."""
    if not values:
        return None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(np.asarray(values, dtype=float), [tail, 100.0 - tail])
    return [float(low), float(high)]
