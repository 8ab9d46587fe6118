"""The on-disk cache of model outputs: embeddings, NLI probabilities and token NLLs, kept across runs.

One SQLite file (``model-outputs.sqlite3``) in the cache folder holds every model's outputs.
A row's key is the sha256 of what decides the value: the kind of output, the model's identity
(revision or weights hash, plus a hash of its config and tokenizer files), every setting that
changes the number (device type, dtype, input length, windowing, library versions), and the
input text. Values are numpy arrays stored as raw bytes with their dtype and shape, and a
checksum; nothing is pickled, so a cache file from elsewhere cannot run code.

What can go wrong never stops a run or yields a wrong value:

- a file that is not SQLite, or is another program's database, is moved aside (with a warning)
  and a new one started;
- a row whose bytes do not match its dtype, shape or checksum is ignored, computed again and
  replaced;
- any SQLite error during the run (disk full, a locked or damaged file) turns the cache off
  for the rest of the run, with a warning; a damaged file is moved aside for the next run.

Several runs can share the file at once: it is in WAL mode, writers wait for each other, and a
value another run wrote first is kept (``INSERT OR IGNORE``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CACHE_FILE = "model-outputs.sqlite3"
ENV_DIR = "RAGEVAL_CACHE_DIR"
MAGIC = "rageval-model-outputs"
SCHEMA_VERSION = "1"

Counter = Callable[[str, int], None]
Warn = Callable[[str], None]

_SQLITE_HEADER = b"SQLite format 3\x00"
_DTYPES = frozenset({"<f4", "<f8", ">f4", ">f8"})
_TIMEOUT_S = 30.0
_CHUNK = 500
_DAMAGED = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outputs ("
    "key BLOB PRIMARY KEY, dtype TEXT NOT NULL, shape TEXT NOT NULL, data BLOB NOT NULL, meta TEXT, "
    "checksum INTEGER NOT NULL)",
)
_COLUMNS = "key, dtype, shape, data, meta, checksum"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/rageval``, else ``~/.cache/rageval``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "rageval"


def resolve_cache_dir(enabled: bool, configured: str | None, base_dir: Path | None) -> Path | None:
    """The cache folder a run uses, or ``None`` when the cache is off.

    The config's ``cache.dir`` wins (relative to the config's folder), then ``RAGEVAL_CACHE_DIR``,
    then the default.
    """
    if not enabled:
        return None
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return path.resolve()
    from_env = os.environ.get(ENV_DIR, "").strip()
    if from_env:
        return Path(from_env).expanduser().resolve()
    return default_cache_dir()


@dataclass(frozen=True)
class Entry:
    """One cached output: an array and, when the model needs it, a little JSON (token strings, flags)."""

    array: np.ndarray
    meta: Any = None


Input = Hashable
"""A text, or a tuple of texts (an NLI premise and hypothesis)."""


def _input_bytes(item: Input) -> bytes:
    if isinstance(item, str):
        return b"s" + item.encode("utf-8", "surrogatepass")
    if isinstance(item, tuple) and all(isinstance(part, str) for part in item):
        parts = [part.encode("utf-8", "surrogatepass") for part in item]
        return b"t" + b"".join(len(part).to_bytes(8, "big") + part for part in parts)
    raise TypeError(f"a cache input is a string or a tuple of strings, got {type(item).__name__}")


def _checksum(key: bytes, dtype: str, shape: str, data: bytes, meta: str | None) -> int:
    value = zlib.crc32(key)
    for part in (dtype.encode(), shape.encode(), data, (meta or "").encode()):
        value = zlib.crc32(part, value)
    return value


def _encode(key: bytes, entry: Entry) -> tuple[bytes, str, str, bytes, str | None, int]:
    array = np.asarray(entry.array)
    dtype = array.dtype.str
    if dtype not in _DTYPES:
        raise ValueError(f"the model cache stores float32 or float64 arrays, got {array.dtype}")
    shape = json.dumps(list(array.shape))
    data = array.tobytes(order="C")
    meta = None if entry.meta is None else json.dumps(entry.meta, separators=(",", ":"))
    return key, dtype, shape, data, meta, _checksum(key, dtype, shape, data, meta)


def _decode(row: Sequence[Any]) -> Entry | None:
    """The entry a row holds, or ``None`` when any part of it does not add up."""
    try:
        key, dtype, shape_text, data, meta_text, checksum = row
        if dtype not in _DTYPES or not isinstance(data, bytes):
            return None
        if _checksum(bytes(key), dtype, shape_text, data, meta_text) != checksum:
            return None
        shape = json.loads(shape_text)
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            return None
        kind = np.dtype(dtype)
        if len(data) != math.prod(shape) * kind.itemsize:
            return None
        array = np.frombuffer(data, dtype=kind).reshape(shape).astype(kind.newbyteorder("="))
        return Entry(array, None if meta_text is None else json.loads(meta_text))
    except (ValueError, TypeError, RecursionError):
        return None


class ModelCache:
    """The cache file of one folder, opened on first use and shared by every model of a run.

    ``warn`` receives each problem once as a line for the user; ``count`` adds to the run's
    counters (``cache.rebuilt``, ``cache.bad_rows``, ``cache.errors``).
    """

    def __init__(self, folder: Path, *, warn: Warn | None = None, count: Counter | None = None) -> None:
        self.path = Path(folder) / CACHE_FILE
        self._warn = warn or (lambda text: None)
        self.count = count or (lambda name, n: None)
        self._connection: sqlite3.Connection | None = None
        self._off = False
        self._bad: set[bytes] = set()
        self._lock = threading.Lock()

    def for_model(self, label: str, identity: Mapping[str, Any]) -> ModelOutputs:
        """The outputs of one model, named ``label`` in counters and identified by ``identity``."""
        return ModelOutputs(self, label, dict(identity))

    def fetch(self, keys: Sequence[bytes]) -> dict[bytes, Entry]:
        """The valid entries stored under ``keys``; an invalid row is left out and replaced at the next store."""
        rows: list[Sequence[Any]] = []
        with self._lock:
            connection = self._connect()
            if connection is None:
                return {}
            try:
                for start in range(0, len(keys), _CHUNK):
                    chunk = list(keys[start : start + _CHUNK])
                    marks = ",".join("?" * len(chunk))
                    rows += connection.execute(
                        f"SELECT {_COLUMNS} FROM outputs WHERE key IN ({marks})", chunk
                    ).fetchall()
            except sqlite3.Error as exc:
                self._failed(exc)
                return {}
        found: dict[bytes, Entry] = {}
        bad = 0
        for row in rows:
            key = bytes(row[0])
            entry = _decode(row)
            if entry is None:
                bad += 1
                self._bad.add(key)
            else:
                found[key] = entry
        if bad:
            self.count("cache.bad_rows", bad)
        return found

    def reject(self, key: bytes) -> None:
        """Mark a row whose value the model found unusable, so the next store replaces it."""
        self._bad.add(key)
        self.count("cache.bad_rows", 1)

    def store(self, items: Sequence[tuple[bytes, Entry]]) -> None:
        """Write entries in one transaction; an entry another run already wrote is kept as it is."""
        if not items:
            return
        rows = [_encode(key, entry) for key, entry in items]
        with self._lock:
            connection = self._connect()
            if connection is None:
                return
            fresh = [row for row in rows if row[0] not in self._bad]
            replacing = [row for row in rows if row[0] in self._bad]
            marks = ",".join("?" * 6)
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    connection.executemany(f"INSERT OR IGNORE INTO outputs ({_COLUMNS}) VALUES ({marks})", fresh)
                    connection.executemany(f"INSERT OR REPLACE INTO outputs ({_COLUMNS}) VALUES ({marks})", replacing)
                    connection.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._failed(exc)
                return
            self._bad.difference_update(row[0] for row in replacing)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._connection.close()
                self._connection = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._off:
            return None
        if self._connection is not None:
            return self._connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _exclusive(self.path.with_name(self.path.name + ".lock")):
                problem, connection = _open_checked(self.path)
                if problem is not None:
                    aside = _move_aside(self.path)
                    self._warn(f"model cache {self.path} {problem}: moved it to {aside.name} and started a new one")
                    self.count("cache.rebuilt", 1)
                    problem, connection = _open_checked(self.path)
                    if problem is not None:
                        raise sqlite3.DatabaseError(problem)
        except (OSError, sqlite3.Error) as exc:
            self._off = True
            self.count("cache.errors", 1)
            self._warn(f"model cache {self.path} cannot be used ({_reason(exc)}); this run computes every model output")
            return None
        self._connection = connection
        return connection

    def _failed(self, exc: sqlite3.Error) -> None:
        """Turn the cache off for this run; move a damaged file aside so that the next run starts afresh."""
        self._off = True
        self.count("cache.errors", 1)
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None
        note = ""
        if getattr(exc, "sqlite_errorname", "") in _DAMAGED:
            with contextlib.suppress(OSError), _exclusive(self.path.with_name(self.path.name + ".lock")):
                note = f"; moved it to {_move_aside(self.path).name}"
        self._warn(f"model cache {self.path} failed ({_reason(exc)}){note}; the rest of this run does without it")


@dataclass(frozen=True)
class ModelOutputs:
    """One model's part of the cache."""

    cache: ModelCache
    label: str
    identity: dict[str, Any]

    def space(self, kind: str, *, counted: bool = True, **setting: Any) -> CacheSpace:
        """The outputs of ``kind`` under ``setting`` (everything besides the input that changes them).

        ``counted=False`` keeps the space out of the hit and miss counters: for what a model is
        (its input limit, token counts), as opposed to what it computes.
        """
        described = json.dumps({"kind": kind, "model": self.identity, **setting}, sort_keys=True, default=str)
        return CacheSpace(self.cache, self.label, hashlib.sha256(described.encode()).digest(), counted)


class CacheSpace:
    """Outputs of one kind, one model and one setting, looked up by input; counts hits and misses."""

    def __init__(self, cache: ModelCache, label: str, namespace: bytes, counted: bool = True) -> None:
        self.cache = cache
        self.label = label
        self.namespace = namespace
        self.counted = counted

    def key(self, item: Input) -> bytes:
        return hashlib.sha256(self.namespace + _input_bytes(item)).digest()

    def load(self, items: Sequence[Input], check: Callable[[Entry], bool] | None = None) -> dict[Input, Entry]:
        """The stored entries of the distinct ``items``; one failing ``check`` is a miss and is replaced later."""
        keys = {self.key(item): item for item in dict.fromkeys(items)}
        stored = self.cache.fetch(list(keys))
        found: dict[Input, Entry] = {}
        for key, item in keys.items():
            entry = stored.get(key)
            if entry is None:
                continue
            if check is not None and not check(entry):
                self.cache.reject(key)
                continue
            found[item] = entry
        if found and self.counted:
            self.cache.count(f"{self.label}.cache_hits", len(found))
        if len(keys) > len(found) and self.counted:
            self.cache.count(f"{self.label}.cache_misses", len(keys) - len(found))
        return found

    def save(self, entries: Mapping[Input, Entry]) -> None:
        self.cache.store([(self.key(item), entry) for item, entry in entries.items()])


def _open_checked(path: Path) -> tuple[str | None, sqlite3.Connection | None]:
    """``(problem, None)`` for a file to move aside, else ``(None, an open connection)``."""
    problem = _header_problem(path)
    if problem is not None:
        return problem, None
    connection = None
    try:
        connection = sqlite3.connect(str(path), timeout=_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL").fetchall()
        connection.execute("PRAGMA synchronous=NORMAL")
        problem = _schema_problem(connection)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and getattr(exc, "sqlite_errorname", "") not in _DAMAGED:
            if connection is not None:
                connection.close()
            raise
        problem = f"is not a readable SQLite database ({_reason(exc)})"
    if problem is not None and connection is not None:
        connection.close()
        connection = None
    return problem, connection


def _header_problem(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return None
    if head and head != _SQLITE_HEADER:
        return "is not an SQLite file"
    return None


def _schema_problem(connection: sqlite3.Connection) -> str | None:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        connection.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.executemany(
            "INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)", [("magic", MAGIC), ("schema", SCHEMA_VERSION)]
        )
        connection.execute("COMMIT")
        tables = {"meta", "outputs"}
    if "meta" not in tables:
        return "is not a rageval model cache (it has no meta table)"
    meta = dict(connection.execute("SELECT name, value FROM meta").fetchall())
    if meta.get("magic") != MAGIC:
        return "is not a rageval model cache"
    if meta.get("schema") != SCHEMA_VERSION:
        return f"has schema version {meta.get('schema')!r}; this rageval writes version {SCHEMA_VERSION}"
    if "outputs" not in tables:
        return "has no outputs table"
    return None


def _move_aside(path: Path) -> Path:
    """Rename the file (and its WAL and shared-memory files) out of the way; the new name is returned."""
    aside = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    if path.exists():
        os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    return aside


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an advisory lock on ``lock_path`` while a process checks or replaces the cache file.

    Without it, a second process could move aside the file the first one has just created.
    Where ``fcntl`` is missing (Windows) or the lock is not granted within the timeout, go on
    without it: the checks are still safe, only a rebuild may happen twice.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock_path, "a+b") as handle:
        deadline = time.monotonic() + _TIMEOUT_S
        locked = False
        while not locked:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return text or type(exc).__name__
