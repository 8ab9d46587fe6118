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

from rageval.context import RunContext
from rageval.executors.local import ScoredBatch, score_with_all
from rageval.sample import Sample

_WORKER: dict[str, Any] = {}


def _start_worker(config: dict[str, Any], base_dir: str, entry_points: bool) -> None:
    from rageval.config import parse_config
    from rageval.registry import build_registry
    from rageval.task import build_task

    task = build_task(parse_config(config), build_registry(entry_points=entry_points), Path(base_dir))
    _WORKER["metrics"] = task.metrics
    _WORKER["context"] = task.context


def _score_in_worker(
    batch: list[Sample],
) -> tuple[list[list[Any]], dict[str, float], dict[str, int], list[str]]:
    """The batch's outcomes, each metric's time, and what the worker's context counted and warned about meanwhile."""
    context: RunContext = _WORKER["context"]
    counted = dict(context.counters)
    warned = len(context.warnings)
    seconds: dict[str, float] = {}
    outcomes = score_with_all(_WORKER["metrics"], batch, seconds)
    counters = {
        name: value - counted.get(name, 0) for name, value in context.counters.items() if value != counted.get(name, 0)
    }
    return outcomes, seconds, counters, context.warnings[warned:]


class ProcessExecutor:
    """Scores batches in ``workers`` processes; results come back in dataset order.

    What the workers' own contexts count (encoded texts, cache hits) and warn about is added to
    ``context``, the parent's, so it reaches aggregate.json as with the local executor.
    """

    def __init__(
        self,
        config: dict[str, Any],
        base_dir: Path,
        workers: int,
        entry_points: bool = True,
        context: RunContext | None = None,
    ):
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(config, str(base_dir), entry_points),
        )
        self.window = 2 * workers
        self.seconds: dict[str, float] = {}
        self.context = context

    def map(self, batches: Iterable[list[Sample]]) -> Iterator[ScoredBatch]:
        in_flight: deque[tuple[list[Sample], Future]] = deque()
        for batch in batches:
            in_flight.append((batch, self.pool.submit(_score_in_worker, batch)))
            if len(in_flight) >= self.window:
                yield self._collect(*in_flight.popleft())
        while in_flight:
            yield self._collect(*in_flight.popleft())

    def _collect(self, batch: list[Sample], future: Future) -> ScoredBatch:
        outcomes, seconds, counters, warnings = future.result()
        for alias, spent in seconds.items():
            self.seconds[alias] = self.seconds.get(alias, 0.0) + spent
        if self.context is not None:
            self.context.absorb(counters, warnings)
        return batch, outcomes

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
