"""Collect per-sample outcomes of one metric and reduce them to its aggregate entry."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

import numpy as np

from rageval.metric import Failed, Outcome, Scored, finite_or_none, stack_statistics
from rageval.stats import bootstrap_many, percentile_interval
from rageval.task import ConfiguredMetric

if TYPE_CHECKING:
    from rageval.slices import SliceTracker


STATS_BLOCK_BYTES = 8 * 2**20
"""Size of the blocks that hold a metric's statistics while a run scores."""


def id_sort_key(sample_id: Any) -> str:
    """A total order on ids of mixed types, so aggregates do not depend on row order."""
    return json.dumps(sample_id, ensure_ascii=False)


def _fast_id_sort_key(sample_id: Any) -> str:
    kind = type(sample_id)
    if kind is int:
        return int.__repr__(sample_id)
    if kind is str:
        return encode_basestring(sample_id)
    return id_sort_key(sample_id)


def sample_order(ids: Sequence[Any]) -> list[int]:
    """Positions of ``ids`` sorted by :func:`id_sort_key`, computed without a ``json.dumps`` per id."""
    return _order(ids).tolist()


def _order(ids: Sequence[Any]) -> np.ndarray:
    if all(type(sample_id) is int for sample_id in ids):
        try:
            numbers = np.array(ids, dtype=np.int64)
            width = len(str(int(np.abs(numbers).max()))) + 1 if len(numbers) else 1
            digits = numbers.astype(f"U{width}")
        except OverflowError:
            pass
        else:
            # The decimal text of each id, sorted by code point as Python sorts it, and in numpy
            # buffers: a million short-lived Python strings would leave the heap fragmented.
            return np.argsort(digits, kind="stable")
    keys = list(map(_fast_id_sort_key, ids))
    return np.asarray(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.intp)


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
        self._sorted: np.ndarray | None = None
        self._block: np.ndarray | None = None
        self._filled = 0
        self._sample_scores_many = getattr(self.configured.metric, "sample_scores_many", None)

    def add(self, sample_id: Any, outcome: Outcome, group: tuple[str, ...] = ()) -> SampleRecord:
        """Keep one sample's outcome; ``group`` is its value in each ``group_by`` column."""
        record = self._record(sample_id, outcome)
        if self.slices is not None:
            self.slices.add(sample_id, group, record)
        return record

    def add_batch(
        self, ids: Sequence[Any], outcomes: Sequence[Outcome], groups: Sequence[tuple[str, ...]] | None = None
    ) -> list[SampleRecord]:
        """:meth:`add` for a batch, with the same records and totals as one call per sample.

        A metric with a ``sample_scores_many(stats) -> {key: array}`` method gets its per-sample
        scores for the whole batch in one call instead of one ``sample_scores`` call per row.
        """
        records = self._batch_records(ids, outcomes)
        if self.slices is not None:
            for sample_id, group, record in zip(ids, groups or [()] * len(ids), records):
                self.slices.add(sample_id, group, record)
        return records

    def _batch_records(self, ids: Sequence[Any], outcomes: Sequence[Outcome]) -> list[SampleRecord]:
        scored = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, Scored)]
        matrix = self._numeric_matrix([outcomes[i] for i in scored]) if self._sample_scores_many else None
        if matrix is not None and matrix.shape[1] != (self._width() or matrix.shape[1]):
            matrix = None  # _record fails each row, naming the lengths
        if matrix is None:
            return [self._record(sample_id, outcome) for sample_id, outcome in zip(ids, outcomes)]
        by_key = self._sample_scores_many(matrix)
        columns: list[list[float | None]] = []
        for name, spec in self._names:
            values = by_key.get(spec.key)
            column = [None] * len(scored) if values is None else np.asarray(values, dtype=np.float64).tolist()
            column = [v if v is not None and math.isfinite(v) else None for v in column]
            total, count = self.sums.get(name, 0.0), 0
            for value in column:
                if value is not None:
                    total += value
                    count += 1
            if count:
                self.sums[name] = total
                self.counts[name] = self.counts.get(name, 0) + count
            if count < len(column):
                self.undetermined[name] = self.undetermined.get(name, 0) + len(column) - count
            columns.append(column)
        names = [name for name, _ in self._names]
        stats_rows = matrix.tolist()
        records: list[SampleRecord] = []
        position = 0
        for sample_id, outcome in zip(ids, outcomes):
            if isinstance(outcome, Scored):
                scores = {name: column[position] for name, column in zip(names, columns)}
                records.append(SampleRecord(scores, stats=stats_rows[position], detail=outcome.detail))
                position += 1
            else:
                records.append(self._record(sample_id, outcome))
        self._flush()
        self.ids.extend(ids[i] for i in scored)
        self._append(matrix)
        self._sorted = None
        return records

    def _width(self) -> int | None:
        """How many statistics each row has had so far (``None`` before the first)."""
        if self.pending:
            return len(self.pending[0])
        if self._block is not None:
            return int(self._block.shape[1])
        return int(self.chunks[-1].shape[1]) if self.chunks else None

    def _append(self, matrix: np.ndarray) -> None:
        """Copy rows of statistics into large preallocated blocks.

        Thousands of small per-batch arrays, once freed, leave the heap fragmented: a million-row
        run kept 300 MB it no longer used. A block of a few MB is a mapping of its own, which goes
        back to the system when it is freed.
        """
        if matrix.dtype != np.float64:
            self._close_block()
            self.chunks.append(matrix)
            return
        start = 0
        while start < len(matrix):
            if self._block is None or self._filled == len(self._block):
                self._close_block()
                rows = max(1024, STATS_BLOCK_BYTES // (8 * max(matrix.shape[1], 1)))
                self._block = np.empty((rows, matrix.shape[1]))
            take = min(len(matrix) - start, len(self._block) - self._filled)
            self._block[self._filled : self._filled + take] = matrix[start : start + take]
            self._filled += take
            start += take

    def _close_block(self) -> None:
        if self._block is not None and self._filled:
            self.chunks.append(self._block[: self._filled])
        self._block = None
        self._filled = 0

    @staticmethod
    def _numeric_matrix(outcomes: list[Any]) -> np.ndarray | None:
        if not outcomes:
            return None
        try:
            matrix = np.asarray([outcome.stats for outcome in outcomes], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            return None
        return matrix if matrix.ndim == 2 else None

    def _record(self, sample_id: Any, outcome: Outcome) -> SampleRecord:
        if isinstance(outcome, Failed):
            self.n_errors += 1
            return SampleRecord({name: None for name, _ in self._names}, error=outcome.reason)
        if not isinstance(outcome, Scored):
            raise TypeError(f"metric {self.configured.alias!r} returned {outcome!r}, not Scored or Failed")
        width = self._width()
        if width is not None and len(outcome.stats) != width:  # rows of different lengths cannot be stacked
            reason = f"metric {self.configured.alias!r} returned {len(outcome.stats)} statistics, {width} before"
            return self._record(sample_id, Failed(reason))
        row = stack_statistics([outcome.stats])[0]
        try:
            by_key = self.configured.metric.sample_scores(row)
        except Exception as exc:  # a plugin's scores_from_totals failing on one sample fails that sample only
            reason = f"metric {self.configured.alias!r} raised {type(exc).__name__} scoring this sample: {exc}"
            return self._record(sample_id, Failed(reason))
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
        self._sorted = None
        if len(self.pending) >= 4096:
            self._flush()
        return SampleRecord(scores, stats=list(row.tolist()), detail=outcome.detail)

    def _flush(self) -> None:
        if self.pending:
            chunk = stack_statistics(self.pending)
            self.pending = []
            self._append(chunk)

    def statistics(self) -> np.ndarray:
        """All rows of statistics, ordered by sample id."""
        self._flush()
        self._close_block()
        if not self.chunks:
            return np.zeros((0, 0))
        if self._sorted is None:
            order = _order(self.ids)
            self.ids = np.asarray(self.ids, dtype=object)[order].tolist()
            chunks, self.chunks = self.chunks, []
            if all(chunk.dtype == np.float64 for chunk in chunks):
                # Each block goes straight to its rows' sorted places and is freed: the run holds
                # one copy of the statistics (a million rows of chrF take 144 MB), not two.
                destination = np.empty_like(order)
                destination[order] = np.arange(len(order))
                self._sorted = np.empty((len(order), chunks[0].shape[1]))
                start = 0
                while chunks:
                    block = chunks.pop(0)
                    self._sorted[destination[start : start + len(block)]] = block
                    start += len(block)
                    del block
            else:
                self._sorted = np.concatenate(chunks)[order]
            self.chunks = [self._sorted]
        return self._sorted

    def details(self) -> dict[str, Any]:
        """The metric's corpus-level extras (curves, warnings), empty when it has none."""
        stats = self.statistics()
        return self.configured.metric.corpus_details(stats) if stats.shape[0] else {}

    def summary(
        self, resamples: int, seed: int, signature: str, draws: dict[str, list[float]] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The aggregate entry of every score of this metric; ``draws`` from :func:`bootstrap_accumulators`."""
        metric = self.configured.metric
        stats = self.statistics()
        n = int(stats.shape[0])
        corpus = metric.corpus_scores(stats) if n else {}
        if draws is None:
            draws = bootstrap_accumulators([self], resamples, seed)[0]
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


def bootstrap_accumulators(
    accumulators: Sequence[MetricAccumulator], resamples: int, seed: int
) -> list[dict[str, list[float]]]:
    """Bootstrap draws of each accumulator's scores, the random draws shared by those with equal row counts."""
    jobs = []
    for acc in accumulators:
        stats = acc.statistics()
        if stats.shape[0] and resamples:
            jobs.append((acc.configured.metric, stats))
    draws = iter(bootstrap_many(jobs, resamples, seed))
    return [next(draws) if acc.statistics().shape[0] and resamples else {} for acc in accumulators]
