"""What the metrics of one run share: resources loaded once (a model) and the run's settings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class RunContext:
    """Per-run shared state; built by the runner, handed to every metric it builds.

    ``shared`` holds resources keyed by what identifies them (a model's path and settings),
    so two metrics naming the same model load it once. Nothing here is process-global.
    """

    offline: bool = True
    shared: dict[Hashable, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def resource(self, key: Hashable, factory: Callable[[], T]) -> T:
        """The resource stored under ``key``, created by ``factory`` on first use."""
        with self._lock:
            if key not in self.shared:
                self.shared[key] = factory()
            return self.shared[key]

    def count(self, name: str, amount: int = 1) -> None:
        """Add to a run-wide counter (truncated inputs, cache hits) reported in aggregate.json."""
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + amount
