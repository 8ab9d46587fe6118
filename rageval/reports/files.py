"""Atomic file writes and the JSON encoding every output file uses."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any

from rageval.errors import RunError

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


def _without_following_links(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o666)


def open_run_file(path: Path, mode: str) -> IO[Any]:
    """Open a file of a run's output folder to write it (``"w"``, ``"a"`` text; ``"rb+"`` bytes).

    Never through a symbolic link, and never a FIFO or device: a link planted in an output folder
    would send rows, or a resume's repair, to a file outside it. Fails with one :class:`RunError` line.
    """
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None
    if found is not None and not stat.S_ISREG(found.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(found.st_mode) else "not a regular file"
        raise RunError(f"cannot write {path}: it is {kind}; remove it (rageval writes only regular files there)")
    try:
        if "b" in mode:
            return open(path, mode, opener=_without_following_links)
        return open(path, mode, encoding="utf-8", opener=_without_following_links)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link planted between the check and the open
            raise RunError(f"cannot write {path}: it is a symbolic link; remove it") from None
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None


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
