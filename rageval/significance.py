"""Paired significance of the difference between two systems scored on the same samples.

Both tests work on per-sample statistics, so every resampled or shuffled corpus score is exact
(corpus BLEU of the resampled rows, not a mean of sentence scores) and no model runs again.

- Paired bootstrap (Koehn 2004, as sacrebleu's ``--paired-bs``): draw the same resampled rows
  for both systems, recompute both corpus scores, and test the observed absolute difference
  against the bootstrap differences shifted to mean zero (the null hypothesis).
- Paired approximate randomization (Riezler and Maxwell 2005, as sacrebleu's ``--paired-ar``):
  for each trial, swap each sample's statistics between the systems with probability 1/2, and
  count how often the shuffled systems differ at least as much as the real ones.

Both p-values are ``(c + 1) / (t + 1)`` over ``t`` trials. Unlike sacrebleu, ``c`` counts
trials at least as extreme as the observed difference (ties included), so a system compared
with itself gets p = 1 rather than the smallest possible p-value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rageval.metric import Metric, finite_or_none
from rageval.stats import percentile_interval, resample_counts

TRIALS_PER_BLOCK_CELLS = 20_000_000
"""Shuffling masks are drawn in blocks of at most this many cells, bounding memory on big runs."""


@dataclass(frozen=True)
class PairedBootstrap:
    """Bootstrap facts of one score for a system against the baseline, on the same rows."""

    delta: float | None
    """The system's corpus score minus the baseline's."""
    ci95: list[float] | None
    """Percentile 95% interval of the resampled differences."""
    p_value: float | None
    resamples: int
    """Resamples in which both scores were determined."""


def tie_tolerance(observed: float) -> float:
    return 1e-9 * max(1.0, abs(observed))


def p_value(null: np.ndarray, observed: float) -> float | None:
    """``(c + 1) / (t + 1)``: ``c`` of the ``t`` null statistics are at least ``observed``."""
    if null.size == 0:
        return None
    extreme = int(np.count_nonzero(null >= observed - tie_tolerance(observed)))
    return (extreme + 1) / (null.size + 1)


def _resampled_scores(metric: Metric, stats: np.ndarray, counts: np.ndarray) -> dict[str, float | None]:
    if metric.additive:
        return metric.scores_from_totals(counts.astype(stats.dtype) @ stats)
    return metric.corpus_scores(np.repeat(stats, counts, axis=0))


def _determined(scores: dict[str, float | None]) -> dict[str, float]:
    out = {}
    for key, value in scores.items():
        value = finite_or_none(value)
        if value is not None:
            out[key] = value
    return out


def paired_bootstrap(
    baseline_metric: Metric,
    baseline: np.ndarray,
    system_metric: Metric,
    system: np.ndarray,
    resamples: int,
    seed: int,
) -> dict[str, PairedBootstrap]:
    """Paired bootstrap of every score key; row ``i`` of both statistics arrays is the same sample."""
    if baseline.shape[0] != system.shape[0]:
        raise ValueError(f"paired statistics need the same rows: {baseline.shape[0]} and {system.shape[0]}")
    n = baseline.shape[0]
    observed_base = _determined(baseline_metric.corpus_scores(baseline)) if n else {}
    observed_sys = _determined(system_metric.corpus_scores(system)) if n else {}
    rng = np.random.default_rng(seed)
    deltas: dict[str, list[float]] = {}
    for _ in range(resamples if n else 0):
        counts = resample_counts(rng, n)
        base = _determined(_resampled_scores(baseline_metric, baseline, counts))
        sys = _determined(_resampled_scores(system_metric, system, counts))
        for key, value in sys.items():
            if key in base:
                deltas.setdefault(key, []).append(value - base[key])
    results = {}
    for key in dict.fromkeys([*observed_base, *observed_sys, *deltas]):
        delta = observed_sys[key] - observed_base[key] if key in observed_base and key in observed_sys else None
        draws = np.asarray(deltas.get(key, []), dtype=float)
        p = None
        if delta is not None and draws.size:
            spread = np.abs(draws)
            p = p_value(spread - spread.mean(), abs(delta))
        results[key] = PairedBootstrap(
            delta=delta,
            ci95=percentile_interval(list(draws)) if draws.size else None,
            p_value=p,
            resamples=int(draws.size),
        )
    return results


def paired_randomization(
    metric: Metric, baseline: np.ndarray, system: np.ndarray, trials: int, seed: int
) -> dict[str, float | None]:
    """Approximate randomization p-value of every score key (one metric, same parameters, same rows)."""
    if baseline.shape != system.shape:
        raise ValueError(f"paired statistics need the same shape: {baseline.shape} and {system.shape}")
    n = baseline.shape[0]
    if n == 0 or trials <= 0:
        return {}
    observed_base = _determined(metric.corpus_scores(baseline))
    observed_sys = _determined(metric.corpus_scores(system))
    observed = {k: abs(observed_sys[k] - observed_base[k]) for k in observed_base if k in observed_sys}
    rng = np.random.default_rng(seed)
    shuffled: dict[str, list[float]] = {}
    block = max(1, min(trials, TRIALS_PER_BLOCK_CELLS // max(n, 1)))
    additive = metric.additive and baseline.dtype != object
    if additive:
        difference = system - baseline
        base_total, sys_total = baseline.sum(axis=0), system.sum(axis=0)
    done = 0
    while done < trials:
        size = min(block, trials - done)
        swaps = rng.integers(0, 2, size=(size, n), dtype=np.int8).astype(bool)
        if additive:
            moved = swaps.astype(baseline.dtype) @ difference
            pairs = [
                (metric.scores_from_totals(base_total + m), metric.scores_from_totals(sys_total - m)) for m in moved
            ]
        else:
            pairs = [
                (
                    metric.corpus_scores(np.where(swap[:, None], system, baseline)),
                    metric.corpus_scores(np.where(swap[:, None], baseline, system)),
                )
                for swap in swaps
            ]
        for first, second in pairs:
            first, second = _determined(first), _determined(second)
            for key in observed:
                if key in first and key in second:
                    shuffled.setdefault(key, []).append(abs(first[key] - second[key]))
        done += size
    return {key: p_value(np.asarray(shuffled.get(key, []), dtype=float), observed[key]) for key in observed}
