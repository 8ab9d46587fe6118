"""A bounded in-memory memo of model outputs keyed by the exact input, shared for one run."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

import numpy as np

V = TypeVar("V")


def _nbytes(value: object) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, tuple):
        return sum(_nbytes(part) for part in value) + 64
    return 64


class Memo(Generic[V]):
    """Values by key, the least recently used dropped once they hold more than ``max_bytes``.

    Within the budget every input is computed once per run; past it, old entries are computed
    again when asked for, which changes nothing but time.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._bytes = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> V:
        value = self._items[key]
        self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        if key in self._items:
            self._bytes -= _nbytes(self._items.pop(key))
        self._items[key] = value
        self._bytes += _nbytes(value)
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= _nbytes(dropped)

    def missing(self, keys: list[Hashable]) -> list[Hashable]:
        """The distinct keys not held, in first-seen order."""
        return [key for key in dict.fromkeys(keys) if key not in self._items]
