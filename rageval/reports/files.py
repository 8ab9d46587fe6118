"""Atomic file writes and the JSON encoding every output file uses."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text with unicode kept; NaN and infinities are refused, never written.

    A lone surrogate (data can hold one through a JSON escape such as ``\\ud800``) has no UTF-8
    form: it is kept as that same escape, so the text encodes and reads back equal.
    """
    if indent is None:
        text = _ENCODER.encode(value)
    else:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=indent)
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    Readers see the old file or the new one, never a partial write.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
