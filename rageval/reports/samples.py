"""One streaming pass over samples.jsonl collecting what the HTML report shows of each score.

Per score it keeps the per-sample values (for the histogram, 8 bytes each), the worst N rows
(a bounded selection: never more than 2N candidates held) and a few error examples, so a run
of a million rows is never loaded whole.
"""

from __future__ import annotations

import heapq
import json
import math
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rageval.aggregate import id_sort_key
from rageval.errors import RagevalError

WORST_N = 10


def score_aliases(aggregate: Mapping[str, Any]) -> dict[str, str]:
    """Score name -> the alias of the metric that reports it (``rouge.rouge1`` -> ``rouge``)."""
    aliases = [m.get("as") or m["name"] for m in aggregate.get("config", {}).get("metrics") or []]
    owners = {}
    for name in aggregate["metrics"]:
        matches = [a for a in aliases if name == a or name.startswith(a + ".")]
        owners[name] = max(matches, key=len) if matches else name
    return owners


@dataclass
class ScoreScan:
    """What the report keeps of one score while streaming: values, worst rows, error examples.

    Worst rows are ordered by ``(rank, id key, position)``, rank being the score (or its negative
    where lower is better). Candidates collect until there are ``2 * limit``, then the best
    ``limit`` are kept, and ``cutoff`` (the highest kept rank) turns away later rows that
    cannot enter without building anything for them.
    """

    higher_is_better: bool
    values: array = field(default_factory=lambda: array("d"))
    worst: list[tuple[float, str, int, dict[str, Any]]] = field(default_factory=list)
    errors: list[tuple[Any, str]] = field(default_factory=list)
    cutoff: float = math.inf

    def could_keep(self, score: float) -> bool:
        return (score if self.higher_is_better else -score) <= self.cutoff

    def keep(self, score: float, sample_id: Any, position: int, shown: dict[str, Any], limit: int) -> None:
        rank = score if self.higher_is_better else -score
        self.worst.append((rank, id_sort_key(sample_id), position, shown))
        if len(self.worst) >= 2 * limit:
            self.worst = heapq.nsmallest(limit, self.worst, key=lambda item: item[:3])
            self.cutoff = self.worst[-1][0]

    def worst_rows(self, limit: int) -> list[dict[str, Any]]:
        return [item[3] for item in heapq.nsmallest(limit, self.worst, key=lambda item: item[:3])]


def numbered_rows(
    path: Path, problem: Callable[[str], RagevalError] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` of each row of samples.jsonl.

    A line that is not a row (bad JSON, or no ``id``) is an error made by ``problem`` from a
    message naming the file and line; without ``problem`` it is skipped, as a torn last line of a
    run cut off mid-write is when only a report is drawn from the file.
    """
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        if problem is None:
            raise
        raise problem(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                if problem is None:
                    continue
                raise problem(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
            if isinstance(row, dict) and "id" in row:
                yield number, row
            elif problem is not None:
                raise problem(f"{path}: line {number} is not a rageval row (no 'id')")


class SampleScanner:
    """Takes samples.jsonl rows one at a time, in file order, into one :class:`ScoreScan` per score.

    ``scan_samples`` feeds it the rows of a file; a run feeds it each row as it writes it, so the
    report needs no second pass over (and no second JSON parse of) samples.jsonl.
    """

    def __init__(self, higher_is_better: Mapping[str, bool], owners: Mapping[str, str], worst_n: int = WORST_N):
        self.scans = {name: ScoreScan(bool(better)) for name, better in higher_is_better.items()}
        self.owners = dict(owners)
        self.worst_n = worst_n
        self.position = 0

    def add(self, row: Mapping[str, Any]) -> None:
        position = self.position
        self.position += 1
        scores = row.get("scores") or {}
        errors = row.get("errors") or {}
        for name, scan in self.scans.items():
            alias = self.owners[name]
            value = scores.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                scan.values.append(float(value))
                if self.worst_n > 0 and scan.could_keep(float(value)):
                    shown = {
                        "id": row.get("id"),
                        "score": float(value),
                        "fields": row.get("fields") or {},
                        "detail": (row.get("detail") or {}).get(alias),
                    }
                    scan.keep(float(value), row.get("id"), position, shown, self.worst_n)
            elif alias in errors and len(scan.errors) < 5:
                scan.errors.append((row.get("id"), str(errors[alias])))


def scan_samples(path: Path, aggregate: Mapping[str, Any], worst_n: int = WORST_N) -> dict[str, ScoreScan]:
    """One pass over samples.jsonl collecting, per score, what the report shows."""
    better = {name: bool(entry["higher_is_better"]) for name, entry in aggregate["metrics"].items()}
    scanner = SampleScanner(better, score_aliases(aggregate), worst_n)
    if path.exists():
        for _, row in numbered_rows(path):
            scanner.add(row)
    return scanner.scans


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON can hold it: non-finite numbers and other types become their text."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return str(value)
