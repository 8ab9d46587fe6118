"""Datasets: read rows from files, saved ``datasets`` folders or the hub, and check them.

Files are read by streaming readers that know line numbers, so a broken JSON line or an
unreadable CSV row is reported with its file and line. A saved ``datasets`` folder is read
with :func:`datasets.load_from_disk`, a hub id with :func:`datasets.load_dataset` (online
only). :meth:`DataSource.scan` reads everything once before any scoring: it checks every row,
collects the columns and rejects duplicate ids, so a bad dataset fails before anything is
written.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rageval.config import DatasetConfig
from rageval.errors import ConfigError, DataError, PluginError, RagevalError
from rageval.sample import Sample

FILE_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
}
BUILTIN_FORMATS: tuple[str, ...] = ("jsonl", "json", "csv", "tsv", "parquet")
"""Format names ``dataset.format`` accepts without a plugin."""


def hub_offline() -> bool:
    flags = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    return any(os.environ.get(flag, "").strip().lower() in {"1", "true", "yes", "on"} for flag in flags)


def _format_of(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return FILE_FORMATS.get(suffixes[-1]) if suffixes else None


def _open_text(path: Path) -> TextIO:
    if path.suffix.lower() == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with _open_text(path) as handle:
        line_number = 0
        try:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield line_number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"{path}: line {line_number}: invalid JSON: {exc.msg} (column {exc.colno})"
                    ) from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: line {line_number + 1}: not UTF-8 text ({exc.reason})") from None
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: cannot read: {exc}") from None


def _read_json(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        with _open_text(path) as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    if not text.lstrip().startswith("["):
        yield from _read_jsonl(path)
        return
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    yield from enumerate(records, start=1)


def _read_delimited(path: Path, delimiter: str) -> Iterator[tuple[int, Any]]:
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            if len(set(header)) != len(header):
                dupes = sorted({h for h in header if header.count(h) > 1})
                raise DataError(f"{path}: line 1: duplicate column names {dupes}")
            for row in reader:
                line_number = reader.line_num
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}: line {line_number}: {len(row)} fields where the header has {len(header)}")
                yield line_number, dict(zip(header, row))
        except csv.Error as exc:
            raise DataError(f"{path}: line {reader.line_num}: unreadable CSV: {exc}") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: line {reader.line_num + 1}: not UTF-8 text ({exc.reason})") from None


def _read_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        position = 0
        for batch in parquet.iter_batches(batch_size=4096):
            for record in batch.to_pylist():
                position += 1
                yield position, record
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path}: unreadable Parquet file: {exc}") from None


def _read_saved_dataset(path: Path, split: str | None) -> Iterator[tuple[int, Any]]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise DataError(f"{path}: cannot load the saved dataset: {exc}") from None
    yield from _iterate_hf(loaded, split, str(path))


def _iterate_hf(loaded: Any, split: str | None, where: str) -> Iterator[tuple[int, Any]]:
    if isinstance(loaded, Mapping):
        splits = list(loaded.keys())
        if split is None:
            if len(splits) != 1:
                raise DataError(f"{where}: has splits {splits}: set dataset.split to one of them")
            split = splits[0]
        if split not in loaded:
            raise DataError(f"{where}: no split {split!r}; splits: {', '.join(splits)}")
        loaded = loaded[split]
    yield from enumerate(loaded, start=1)


def _read_hub(name: str, split: str | None) -> Iterator[tuple[int, Any]]:
    import datasets

    if split is None:
        raise DataError(f"dataset.split: required for the hub dataset {name!r}")
    try:
        loaded = datasets.load_dataset(name, split=split, streaming=True)
    except Exception as exc:
        raise DataError(f"cannot load the hub dataset {name!r} split {split!r}: {exc}") from None
    yield from _iterate_hf(loaded, split, name)


@dataclass
class ScanResult:
    """What a full read of the dataset found."""

    columns: list[str]
    n_rows: int


def _plugin_format(config: DatasetConfig, path: Path, loaders: Mapping[str, Any]) -> str | None:
    """The plugin format that reads ``path``: ``dataset.format`` or the file's extension."""
    if config.format is not None:
        if config.format in BUILTIN_FORMATS:
            return None
        if config.format not in loaders:
            from rageval.registry import suggest

            known = [*BUILTIN_FORMATS, *sorted(loaders)]
            raise ConfigError(
                f"dataset.format: unknown format {config.format!r}{suggest(config.format, known)} "
                f"Formats: {', '.join(known)} (plugins add more)"
            )
        return config.format
    extension = path.suffix[1:].lower()
    return extension if extension in loaders and not path.is_dir() else None


@dataclass
class DataSource:
    """A dataset as the config describes it: where, how to read it, which rows."""

    config: DatasetConfig
    location: str
    kind: str
    _scan: ScanResult | None = field(default=None, repr=False)
    loader: Any = field(default=None, repr=False)
    """The plugin loader (a ``RegisteredExtension``) when ``kind`` is ``"plugin"``."""

    @classmethod
    def open(cls, config: DatasetConfig, base_dir: Path, loaders: Mapping[str, Any] | None = None) -> DataSource:
        """Locate the dataset; a missing file is a :class:`DataError` naming it.

        ``loaders`` are the plugin dataset loaders by format name (``Registry.loaders``).
        """
        loaders = loaders or {}
        raw = Path(os.path.expanduser(config.path))
        path = raw if raw.is_absolute() else base_dir / raw
        plugin_format = _plugin_format(config, path, loaders)
        if plugin_format is not None:
            if not path.exists():
                raise DataError(f"dataset.path: not found: {path}")
            return cls(config, str(path), "plugin", loader=loaders[plugin_format])
        if config.format is not None:
            if not path.is_file():
                raise DataError(f"dataset.path: file not found: {path} (dataset.format {config.format!r} reads a file)")
            return cls(config, str(path), config.format)
        if path.is_dir():
            if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
                return cls(config, str(path), "saved")
            raise DataError(f"dataset.path: {path} is a folder but not one saved by datasets (no dataset_info.json)")
        if path.exists():
            kind = _format_of(path)
            if kind is None:
                known = ", ".join(sorted(FILE_FORMATS))
                raise DataError(
                    f"dataset.path: cannot tell the format of {path}; use one of {known} (optionally .gz), "
                    "or set dataset.format"
                )
            return cls(config, str(path), kind)
        looks_like_hub_id = (
            _format_of(raw) is None
            and not raw.is_absolute()
            and not config.path.startswith((".", "~"))
            and config.path.count("/") <= 1
        )
        if looks_like_hub_id:
            if hub_offline():
                raise DataError(
                    f"dataset.path: {config.path!r} is not a local file, and as a hub dataset it needs the network, "
                    "which HF_HUB_OFFLINE/HF_DATASETS_OFFLINE turn off: save it with datasets and point dataset.path "
                    "at the folder"
                )
            return cls(config, config.path, "hub")
        raise DataError(f"dataset.path: file not found: {path}")

    def _raw_rows(self) -> Iterator[tuple[int, Any]]:
        path = Path(self.location)
        if self.kind == "jsonl":
            return _read_jsonl(path)
        if self.kind == "json":
            return _read_json(path)
        if self.kind in ("csv", "tsv"):
            return _read_delimited(path, "," if self.kind == "csv" else "\t")
        if self.kind == "parquet":
            return _read_parquet(path)
        if self.kind == "saved":
            return _read_saved_dataset(path, self.config.split)
        if self.kind == "plugin":
            return self._plugin_rows(path)
        return _read_hub(self.location, self.config.split)

    def _plugin_rows(self, path: Path) -> Iterator[tuple[int, Any]]:
        loader = self.loader
        where = f"plugin {loader.plugin!r}: dataset loader {loader.name!r}"
        try:
            for item in loader.function(path, self.config):
                if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int)):
                    raise PluginError(f"{where} yielded {item!r} for {path}; expected (position, row) pairs")
                yield item
        except RagevalError:
            raise
        except Exception as exc:
            raise PluginError(f"{where} failed on {path}: {type(exc).__name__}: {exc}") from exc

    def _where(self, line: int) -> str:
        unit = "line" if self.kind in ("jsonl", "csv", "tsv") else "record"
        return f"{self.location}: {unit} {line}"

    def rows(self) -> Iterator[tuple[Any, dict[str, Any]]]:
        """``(id, row)`` pairs in dataset order, at most ``limit`` of them."""
        id_column = self.config.id_column
        limit = self.config.limit
        count = 0
        for line, row in self._raw_rows():
            if limit is not None and count >= limit:
                return
            if not isinstance(row, dict):
                raise DataError(f"{self._where(line)}: expected an object of columns, got {type(row).__name__}")
            if id_column is None:
                sample_id: Any = count
            else:
                if id_column not in row:
                    raise DataError(f"{self._where(line)}: no id column {id_column!r} (dataset.id_column)")
                sample_id = row[id_column]
                if isinstance(sample_id, bool) or not isinstance(sample_id, (str, int)):
                    raise DataError(
                        f"{self._where(line)}: id {sample_id!r} in column {id_column!r} must be a string or an integer"
                    )
            count += 1
            yield sample_id, row

    def scan(self) -> ScanResult:
        """Read every row once: check structure and id uniqueness, collect the columns."""
        if self._scan is not None:
            return self._scan
        columns: dict[str, None] = {}
        seen: set[Any] = set()
        n_rows = 0
        for sample_id, row in self.rows():
            for key in row:
                if key not in columns:
                    columns[key] = None
            if self.config.id_column is not None:  # ids are str or int, which never compare equal
                if sample_id in seen:
                    raise DataError(
                        f"{self.location}: duplicate id {sample_id!r} in column {self.config.id_column!r}; "
                        "ids must be unique"
                    )
                seen.add(sample_id)
            n_rows += 1
        if n_rows == 0:
            raise DataError(f"{self.location}: the dataset has no rows")
        self._scan = ScanResult(list(columns), n_rows)
        return self._scan

    def batches(self, batch_size: int, field_columns: Mapping[str, str]) -> Iterator[list[Sample]]:
        """Samples in batches of ``batch_size``, canonical fields taken from ``field_columns``."""
        batch: list[Sample] = []
        for sample_id, row in self.rows():
            batch.append(Sample.from_row(sample_id, row, field_columns))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
