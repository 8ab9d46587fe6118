"""What makes a run resumable: its manifest, and reading back the rows it already wrote.

A run folder holds ``run.json`` (written before the first row) with fingerprints of what
decides the per-sample results: the metrics and their signatures, the dataset's mapping and
content. ``--resume`` refuses a folder whose fingerprints differ from the new run's, then
reads ``samples.jsonl`` back: rows are complete JSON lines; a partly written last line (a
process killed mid-write) is cut off, and its sample is scored again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rageval.errors import ConfigError, RunError
from rageval.metric import Failed, Outcome, Scored
from rageval.reports.files import atomic_write_text, open_run_file, to_json
from rageval.reports.samples import numbered_rows
from rageval.task import Task

MANIFEST_FILE = "run.json"
MANIFEST_VERSION = 1


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _hash_path(path: Path) -> str:
    """sha256 of a file, or of every file under a folder with its relative name."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file != path:
            digest.update(str(file.relative_to(path)).encode("utf-8") + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def dataset_fingerprint(task: Task) -> dict[str, Any]:
    dataset = task.config.dataset
    content = _hash_path(Path(task.source.location)) if task.source.kind != "hub" else task.source.location
    return {
        "location": task.source.location,
        "content": content,
        "split": dataset.split,
        "id_column": dataset.id_column,
        "columns": dict(dataset.columns),
    }


def metrics_fingerprint(signatures: dict[str, str], task: Task) -> dict[str, Any]:
    return {
        configured.alias: {
            "name": configured.name,
            "params": configured.metric.params.model_dump(mode="json"),
            "signature": signatures[configured.alias],
        }
        for configured in task.metrics
    }


def build_manifest(task: Task, signatures: dict[str, str]) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": task.config.name,
        "dataset": dataset_fingerprint(task),
        "metrics": metrics_fingerprint(signatures, task),
    }


def write_manifest(output_dir: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(output_dir / MANIFEST_FILE, to_json(manifest, indent=2) + "\n")


def check_resumable(output_dir: Path, manifest: dict[str, Any]) -> None:
    """Refuse to resume a run made with other metrics, parameters, library versions or data."""
    path = output_dir / MANIFEST_FILE
    if not path.exists():
        raise ConfigError(f"--resume: {output_dir} holds no resumable run (no {MANIFEST_FILE}); run without --resume")
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--resume: cannot read {path}: {exc}") from None
    old_metrics, new_metrics = previous.get("metrics", {}), manifest["metrics"]
    if list(old_metrics) != list(new_metrics):
        raise ConfigError(
            f"--resume: the run in {output_dir} scored metrics {list(old_metrics)}, this config names "
            f"{list(new_metrics)}; use another output folder or --overwrite"
        )
    for alias, new in new_metrics.items():
        old = old_metrics[alias]
        if old != new:
            raise ConfigError(
                f"--resume: metric {alias!r} differs from the run in {output_dir} "
                f"(was {old.get('signature')!r}, now {new['signature']!r}); use another output folder or --overwrite"
            )
    old_data, new_data = previous.get("dataset", {}), manifest["dataset"]
    if old_data != new_data:
        changed = sorted(k for k in set(old_data) | set(new_data) if old_data.get(k) != new_data.get(k))
        raise ConfigError(
            f"--resume: the dataset differs from the run in {output_dir} ({', '.join(changed)} changed); "
            "use another output folder or --overwrite"
        )


@dataclass
class PreviousRows:
    """Rows a resumed run already holds, as outcomes per metric alias and sample id."""

    outcomes: dict[Any, dict[str, Outcome]] = field(default_factory=dict)

    def __contains__(self, sample_id: Any) -> bool:
        return _key(sample_id) in self.outcomes

    def get(self, sample_id: Any) -> dict[str, Outcome]:
        return self.outcomes[_key(sample_id)]


def _key(sample_id: Any) -> tuple[bool, Any]:
    return (isinstance(sample_id, int), sample_id)


def repair_samples_file(path: Path) -> None:
    """Cut a partly written last line (no trailing newline) off ``samples.jsonl``."""
    if not path.exists():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with open_run_file(path, "rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        position = size
        chunk = 1 << 16
        while position > 0:
            start = max(0, position - chunk)
            handle.seek(start)
            block = handle.read(position - start)
            newline = block.rfind(b"\n")
            if newline != -1:
                handle.truncate(start + newline + 1)
                return
            position = start
        handle.truncate(0)
        handle.flush()
        os.fsync(handle.fileno())


def read_previous_rows(path: Path, aliases: list[str]) -> PreviousRows:
    """Outcomes of every row in ``samples.jsonl``, rebuilt from its statistics and errors."""
    previous = PreviousRows()
    if not path.exists():
        return previous
    for line_number, row in numbered_rows(path, lambda message: RunError(f"--resume: {message}")):
        outcomes: dict[str, Outcome] = {}
        stats, errors = row.get("stats", {}), row.get("errors", {})
        for alias in aliases:
            if alias in stats:
                outcomes[alias] = Scored(tuple(stats[alias]))
            elif alias in errors:
                outcomes[alias] = Failed(str(errors[alias]))
            else:
                raise RunError(
                    f"--resume: {path}: line {line_number} has neither statistics nor an error for {alias!r}"
                )
        previous.outcomes.setdefault(_key(row["id"]), outcomes)
    return previous
