"""Score batches in a pool of worker processes, each holding its own metric instances.

Workers rebuild the task from its config once (models load once per worker), then score
whole batches. The parent reads the dataset, keeps a bounded number of batches in flight
and yields results in dataset order, so memory stays bounded and output order is stable.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from rageval.executors.local import ScoredBatch, score_with_all
from rageval.sample import Sample

_WORKER: dict[str, Any] = {}


def _start_worker(config: dict[str, Any], base_dir: str, entry_points: bool) -> None:
    from rageval.config import parse_config
    from rageval.registry import build_registry
    from rageval.task import build_task

    task = build_task(parse_config(config), build_registry(entry_points=entry_points), Path(base_dir))
    _WORKER["metrics"] = task.metrics


def _score_in_worker(batch: list[Sample]) -> tuple[list[list[Any]], dict[str, float]]:
    seconds: dict[str, float] = {}
    return score_with_all(_WORKER["metrics"], batch, seconds), seconds


class ProcessExecutor:
    """Scores batches in ``workers`` processes; results come back in dataset order."""

    def __init__(self, config: dict[str, Any], base_dir: Path, workers: int, entry_points: bool = True):
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(config, str(base_dir), entry_points),
        )
        self.window = 2 * workers
        self.seconds: dict[str, float] = {}

    def map(self, batches: Iterable[list[Sample]]) -> Iterator[ScoredBatch]:
        in_flight: deque[tuple[list[Sample], Future]] = deque()
        for batch in batches:
            in_flight.append((batch, self.pool.submit(_score_in_worker, batch)))
            if len(in_flight) >= self.window:
                yield self._collect(*in_flight.popleft())
        while in_flight:
            yield self._collect(*in_flight.popleft())

    def _collect(self, batch: list[Sample], future: Future) -> ScoredBatch:
        outcomes, seconds = future.result()
        for alias, spent in seconds.items():
            self.seconds[alias] = self.seconds.get(alias, 0.0) + spent
        return batch, outcomes

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
