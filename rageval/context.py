"""What the metrics of one run share: resources loaded once (a model), the run's settings and counters."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class RunContext:
    """Per-run shared state; built by the runner, handed to every metric it builds.

    ``shared`` holds resources keyed by what identifies them (a model's path and settings),
    so two metrics naming the same model load it once. Nothing here is process-global.
    """

    base_dir: Path | None = None
    """The config's folder: relative model paths start here (at the working directory when ``None``)."""
    cache_dir: Path | None = None
    """The folder of the on-disk cache of model outputs; ``None`` turns that cache off."""
    shared: dict[Hashable, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """Problems the run got past (a cache file rebuilt), each once; reported in aggregate.json."""
    _lock: Any = field(default_factory=threading.RLock, repr=False)
    """Reentrant: a resource's factory may ask for another resource (a model for its fingerprint)."""

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

    def warn(self, text: str) -> None:
        """Record a warning for the run's reports and the command line; a repeated text is kept once."""
        with self._lock:
            if text not in self.warnings:
                self.warnings.append(text)

    def absorb(self, counters: Mapping[str, int], warnings: Sequence[str] = ()) -> None:
        """Add what a worker process's own context counted and warned about while scoring."""
        for name, amount in counters.items():
            self.count(name, amount)
        for text in warnings:
            self.warn(text)
