"""The ``json-traces`` dataset format: RAG traces as nested JSON, flattened into dotted columns.

A RAG logger writes one JSON object per request, with nested fields::

    {"trace_id": "t1", "input": {"question": "..."},
     "retrieval": {"documents": [{"id": "d1", "text": "..."}, {"id": "d2", "text": "..."}]},
     "output": {"answer": "..."}}

The path is a JSON Lines file of such objects or a folder of ``.json`` files, one trace each
(read in file-name order). Each trace becomes a row whose columns are the dotted paths of its
values (``input.question``, ``output.answer``); a list of objects also gives, per key, the
list of that key's values (``retrieval.documents[].id`` is ``["d1", "d2"]``), so
``dataset.columns`` maps canonical fields straight onto nested data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rageval import DataError


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """The dotted-path columns of a JSON value (see the module docstring)."""
    columns: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            columns.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        columns[prefix] = value
        flattened = [flatten(item) for item in value]
        for key in dict.fromkeys(key for item in flattened for key in item):
            columns[f"{prefix}[].{key}"] = [item.get(key) for item in flattened]
    else:
        columns[prefix] = value
    return columns


def _trace(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"{where}: a trace must be a JSON object, got {type(value).__name__}")
    return flatten(value)


def read_traces(path: Path, config: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(position, row)`` pairs of the traces in a JSON Lines file or a folder of JSON files."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json" and p.is_file())
        if not files:
            raise DataError(f"{path}: the folder holds no .json trace files")
        for position, file in enumerate(files, start=1):
            try:
                value = json.loads(file.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise DataError(f"{file}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise DataError(f"{file}: cannot read: {exc}") from None
            yield position, _trace(value, str(file))
        return
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {line_number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
            yield line_number, _trace(value, f"{path}: line {line_number}")
