"""Collect per-sample outcomes of one metric and reduce them to its aggregate entry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rageval.metric import Failed, Outcome, Scored, finite_or_none
from rageval.stats import bootstrap_scores, percentile_interval
from rageval.task import ConfiguredMetric

if TYPE_CHECKING:
    from rageval.slices import SliceTracker


def id_sort_key(sample_id: Any) -> str:
    """A total order on ids of mixed types, so aggregates do not depend on row order."""
    return json.dumps(sample_id, ensure_ascii=False)


def _stats_row(stats: tuple[Any, ...]) -> np.ndarray:
    try:
        return np.asarray(stats, dtype=np.float64)
    except (TypeError, ValueError):
        row = np.empty(len(stats), dtype=object)
        row[:] = stats
        return row


@dataclass
class SampleRecord:
    """What one metric produced for one sample, as it goes into the sample's row."""

    scores: dict[str, float | None]
    error: str | None = None
    stats: list[float] | None = None
    detail: Any = None


@dataclass
class MetricAccumulator:
    """Statistics and per-sample scores of one configured metric over a run."""

    configured: ConfiguredMetric
    ids: list[Any] = field(default_factory=list)
    chunks: list[np.ndarray] = field(default_factory=list)
    pending: list[tuple[float, ...]] = field(default_factory=list)
    n_errors: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    undetermined: dict[str, int] = field(default_factory=dict)
    slices: SliceTracker | None = None
    """Group keys of the rows, when the config has ``group_by``."""

    def __post_init__(self) -> None:
        self._names = self.configured.score_names()

    def add(self, sample_id: Any, outcome: Outcome, group: tuple[str, ...] = ()) -> SampleRecord:
        """Keep one sample's outcome; ``group`` is its value in each ``group_by`` column."""
        record = self._record(sample_id, outcome)
        if self.slices is not None:
            self.slices.add(sample_id, group, record)
        return record

    def _record(self, sample_id: Any, outcome: Outcome) -> SampleRecord:
        if isinstance(outcome, Failed):
            self.n_errors += 1
            return SampleRecord({name: None for name, _ in self._names}, error=outcome.reason)
        if not isinstance(outcome, Scored):
            raise TypeError(f"metric {self.configured.alias!r} returned {outcome!r}, not Scored or Failed")
        row = _stats_row(outcome.stats)
        by_key = self.configured.metric.sample_scores(row)
        scores: dict[str, float | None] = {}
        for name, spec in self._names:
            value = finite_or_none(by_key.get(spec.key))
            scores[name] = value
            if value is None:
                self.undetermined[name] = self.undetermined.get(name, 0) + 1
            else:
                self.sums[name] = self.sums.get(name, 0.0) + value
                self.counts[name] = self.counts.get(name, 0) + 1
        self.ids.append(sample_id)
        self.pending.append(outcome.stats)
        if len(self.pending) >= 4096:
            self._flush()
        return SampleRecord(scores, stats=list(row.tolist()), detail=outcome.detail)

    def _flush(self) -> None:
        if self.pending:
            try:
                chunk = np.asarray(self.pending, dtype=np.float64)
            except (TypeError, ValueError):
                chunk = np.empty((len(self.pending), len(self.pending[0])), dtype=object)
                chunk[:] = self.pending
            self.chunks.append(chunk)
            self.pending = []

    def statistics(self) -> np.ndarray:
        """All rows of statistics, ordered by sample id."""
        self._flush()
        if not self.chunks:
            return np.zeros((0, 0))
        stats = np.concatenate(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        order = sorted(range(len(self.ids)), key=lambda i: id_sort_key(self.ids[i]))
        return stats[order]

    def details(self) -> dict[str, Any]:
        """The metric's corpus-level extras (curves, warnings), empty when it has none."""
        stats = self.statistics()
        return self.configured.metric.corpus_details(stats) if stats.shape[0] else {}

    def summary(self, resamples: int, seed: int, signature: str) -> dict[str, dict[str, Any]]:
        """The aggregate entry of every score of this metric."""
        metric = self.configured.metric
        stats = self.statistics()
        n = int(stats.shape[0])
        corpus = metric.corpus_scores(stats) if n else {}
        draws = bootstrap_scores(metric, stats, resamples, seed) if n and resamples else {}
        entries: dict[str, dict[str, Any]] = {}
        for name, spec in self._names:
            count = self.counts.get(name, 0)
            entries[name] = {
                "metric": metric.info.name,
                "value": finite_or_none(corpus.get(spec.key)),
                "mean": self.sums[name] / count if count else None,
                "n": n,
                "n_errors": self.n_errors,
                "n_undetermined": self.undetermined.get(name, 0),
                "ci95": percentile_interval(draws.get(spec.key, [])) if resamples else None,
                "higher_is_better": spec.higher_is_better,
                "signature": signature,
            }
        return entries
