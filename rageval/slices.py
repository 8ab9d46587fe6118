"""Slices: every metric reported per value of metadata columns (``group_by`` in the config).

A slice's corpus score comes from the statistics of that slice's rows, exactly as the whole
run's does (a slice's BLEU is corpus BLEU on those rows, not a mean of sentence scores).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rageval.aggregate import MetricAccumulator, SampleRecord, id_sort_key
from rageval.errors import DataError
from rageval.metric import finite_or_none
from rageval.registry import suggest
from rageval.sample import Sample
from rageval.stats import bootstrap_scores, percentile_interval


def check_group_by(group_by: Sequence[str], columns: Sequence[str]) -> None:
    """Refuse, before any scoring, a ``group_by`` column that the dataset lacks."""
    known = set(columns)
    for position, column in enumerate(group_by):
        if column not in known:
            raise DataError(
                f"group_by[{position}]: the dataset has no column {column!r}{suggest(column, known)} "
                f"Columns: {', '.join(columns)}"
            )


def slice_value(value: Any) -> str:
    """The key a metadata value is reported under: strings as they are, anything else as JSON text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def group_key(sample: Sample, group_by: Sequence[str], field_columns: Mapping[str, str]) -> tuple[str, ...]:
    """The sample's value in each ``group_by`` column, whether the column is metadata or a mapped field."""
    by_column = {column: name for name, column in field_columns.items()}
    values = []
    for column in group_by:
        name = by_column.get(column)
        value = getattr(sample, name) if name is not None else sample.metadata.get(column)
        values.append(slice_value(value))
    return tuple(values)


@dataclass
class SliceTracker:
    """The group keys of one metric's rows, and per-slice sums of per-sample scores."""

    group_by: tuple[str, ...]
    ids: list[Any] = field(default_factory=list)
    keys: list[tuple[str, ...]] = field(default_factory=list)
    errors: dict[tuple[int, str], int] = field(default_factory=dict)
    sums: dict[tuple[int, str, str], float] = field(default_factory=dict)
    counts: dict[tuple[int, str, str], int] = field(default_factory=dict)
    undetermined: dict[tuple[int, str, str], int] = field(default_factory=dict)

    def add(self, sample_id: Any, key: tuple[str, ...], record: SampleRecord) -> None:
        """Record one sample's outcome, as :meth:`MetricAccumulator.add` returned it."""
        if record.error is not None:
            for position, value in enumerate(key):
                self.errors[(position, value)] = self.errors.get((position, value), 0) + 1
            return
        self.ids.append(sample_id)
        self.keys.append(key)
        for position, value in enumerate(key):
            for name, score in record.scores.items():
                where = (position, value, name)
                if score is None:
                    self.undetermined[where] = self.undetermined.get(where, 0) + 1
                else:
                    self.sums[where] = self.sums.get(where, 0.0) + score
                    self.counts[where] = self.counts.get(where, 0) + 1

    def summary(
        self, accumulator: MetricAccumulator, resamples: int, seed: int
    ) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """``{column: {value: {score_name: entry}}}`` for this metric's scores."""
        metric = accumulator.configured.metric
        names = accumulator.configured.score_names()
        stats = accumulator.statistics()
        order = sorted(range(len(self.ids)), key=lambda i: id_sort_key(self.ids[i]))
        if len(order) != stats.shape[0]:
            alias = accumulator.configured.alias
            raise RuntimeError(f"slices of {alias!r} saw {len(order)} scored rows, the metric {stats.shape[0]}")
        keys = [self.keys[i] for i in order]
        out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        for position, column in enumerate(self.group_by):
            members: dict[str, list[int]] = {value: [] for pos, value in self.errors if pos == position}
            for row, key in enumerate(keys):
                members.setdefault(key[position], []).append(row)
            per_value: dict[str, dict[str, dict[str, Any]]] = {}
            for value in sorted(members):
                sliced = stats[np.asarray(members[value], dtype=np.intp)]
                n = int(sliced.shape[0])
                corpus = metric.corpus_scores(sliced) if n else {}
                draws = bootstrap_scores(metric, sliced, resamples, seed) if n and resamples else {}
                entries = {}
                for name, spec in names:
                    where = (position, value, name)
                    count = self.counts.get(where, 0)
                    entries[name] = {
                        "value": finite_or_none(corpus.get(spec.key)),
                        "mean": self.sums[where] / count if count else None,
                        "n": n,
                        "n_errors": self.errors.get((position, value), 0),
                        "n_undetermined": self.undetermined.get(where, 0),
                        "ci95": percentile_interval(draws.get(spec.key, [])) if resamples else None,
                    }
                per_value[value] = entries
            out[column] = per_value
        return out


def slices_entry(accumulators: Iterable[MetricAccumulator], resamples: int, seed: int) -> dict[str, Any]:
    """``{"slices": {column: {value: {score_name: entry}}}}`` for aggregate.json; empty without ``group_by``."""
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    tracked = False
    for accumulator in accumulators:
        if accumulator.slices is None:
            continue
        tracked = True
        for column, values in accumulator.slices.summary(accumulator, resamples, seed).items():
            for value, entries in values.items():
                merged.setdefault(column, {}).setdefault(value, {}).update(entries)
    return {"slices": merged} if tracked else {}


def slice_rows(aggregate: Mapping[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """``(column, value, score_name, entry)`` for every slice entry, in report order."""
    rows = []
    for column, values in (aggregate.get("slices") or {}).items():
        for value, entries in values.items():
            for name, entry in entries.items():
                rows.append((column, value, name, entry))
    return rows


def render_slices_markdown(aggregate: Mapping[str, Any]) -> list[str]:
    """Markdown lines of the slice tables (one per column), empty without slices."""
    lines: list[str] = []
    for column, values in (aggregate.get("slices") or {}).items():
        lines += ["", f"## By {column}", "", "| value | score | value | 95% CI | mean | n | errors |", "|---" * 7 + "|"]
        for value, entries in values.items():
            for name, entry in entries.items():
                cells = [value, name, *_entry_cells(entry)]
                lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines


def slice_tables(aggregate: Mapping[str, Any]) -> list[Any]:
    """Rich tables of the slices (one per ``group_by`` column) for the terminal."""
    from rich.table import Table

    tables = []
    for column, values in (aggregate.get("slices") or {}).items():
        table = Table(title=f"by {column}")
        for header in ("value", "score", "value", "95% CI", "mean", "n", "errors"):
            table.add_column(header, justify="left" if header in ("score",) else "right")
        for value, entries in values.items():
            for index, (name, entry) in enumerate(entries.items()):
                table.add_row(value if index == 0 else "", name, *_entry_cells(entry))
        tables.append(table)
    return tables


def _entry_cells(entry: Mapping[str, Any]) -> list[str]:
    """A slice entry's value, interval, mean and counts, as the tables show them."""
    from rageval.reports.markdown import format_interval, format_number

    return [
        format_number(entry["value"]),
        format_interval(entry["ci95"]),
        format_number(entry["mean"]),
        str(entry["n"]),
        str(entry["n_errors"]),
    ]
