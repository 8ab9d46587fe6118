"""Run a task: stream batches through every metric, write rows as they finish, aggregate.

Every sample is accounted for in every metric: scored (statistics kept) or failed (reason
kept in its row, counted in ``n_errors``). A metric that raises on a batch fails that
batch's rows for that metric only; the other metrics and batches carry on.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rageval.aggregate import MetricAccumulator
from rageval.errors import ConfigError, RagevalError, RunError
from rageval.metric import Failed, Outcome, distribution_version
from rageval.reports.files import atomic_write_text, to_json
from rageval.reports.markdown import render_markdown
from rageval.sample import Sample
from rageval.task import ConfiguredMetric, Task

SAMPLES_FILE = "samples.jsonl"
AGGREGATE_FILE = "aggregate.json"
REPORT_FILE = "report.md"
RUN_FILES = (SAMPLES_FILE, AGGREGATE_FILE, REPORT_FILE)

ProgressFn = Callable[[int], None]


@dataclass
class RunResult:
    output_dir: Path
    aggregate: dict[str, Any]


def default_output_dir(task: Task) -> Path:
    if task.config.output:
        return Path(task.config.output)
    return Path("runs") / task.config.name


def prepare_output_dir(path: Path, overwrite: bool) -> None:
    """Make ``path`` ready for a new run; refuse to clobber anything that is not a run."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"output: {path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise ConfigError(f"output folder {path} is not empty: pass --overwrite to replace its run, or -o another")
        if not any((path / name).exists() for name in RUN_FILES):
            raise ConfigError(f"output folder {path} is not empty and holds no rageval run: refusing to overwrite it")
        for name in RUN_FILES:
            (path / name).unlink(missing_ok=True)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create output folder {path}: {exc.strerror or exc}") from None


def library_versions(task: Task) -> dict[str, str]:
    versions = {"rageval": distribution_version("rageval"), "python": platform.python_version()}
    for configured in task.metrics:
        for library in configured.metric.info.libraries:
            versions[library] = distribution_version(library)
    return versions


def score_batch_safely(configured: ConfiguredMetric, batch: list[Sample]) -> list[Outcome]:
    """The metric's outcomes for a batch; a metric that raises fails this batch's rows only."""
    try:
        outcomes = configured.metric.score_batch(batch)
    except RagevalError:
        raise
    except Exception as exc:
        reason = f"metric {configured.alias!r} raised {type(exc).__name__}: {exc}"
        return [Failed(reason) for _ in batch]
    if len(outcomes) != len(batch):
        reason = f"metric {configured.alias!r} returned {len(outcomes)} outcomes for {len(batch)} samples"
        return [Failed(reason) for _ in batch]
    return outcomes


def compute_signatures(task: Task) -> dict[str, str]:
    signatures = {}
    for configured in task.metrics:
        try:
            signatures[configured.alias] = configured.metric.signature()
        except RagevalError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"metrics[{configured.position}]: metric {configured.name!r} cannot be set up: {type(exc).__name__}: {exc}"
            ) from exc
    return signatures


@contextmanager
def _samples_file(path: Path) -> Iterator[TextIO]:
    try:
        handle = open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None
    with handle:
        yield handle


def run_task(
    task: Task,
    output_dir: Path | None = None,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], ProgressFn] | None = None,
) -> RunResult:
    """Score the task's dataset with its metrics and write the run's files to ``output_dir``.

    ``progress``, when given, is called once with the number of rows and returns a
    function called with the number of rows each finished batch held.
    """
    started = time.perf_counter()
    scan = task.source.scan()
    field_columns = task.field_columns(scan)
    signatures = compute_signatures(task)
    output_dir = Path(output_dir) if output_dir is not None else default_output_dir(task)
    prepare_output_dir(output_dir, overwrite)

    n_rows = scan.n_rows
    advance = progress(n_rows, len(task.metrics)) if progress else None
    accumulators = [MetricAccumulator(configured) for configured in task.metrics]
    n_samples = 0
    with _samples_file(output_dir / SAMPLES_FILE) as samples_out:
        for batch in task.source.batches(task.config.batch_size, field_columns):
            per_metric = [score_batch_safely(acc.configured, batch) for acc in accumulators]
            lines = []
            for position, sample in enumerate(batch):
                row: dict[str, Any] = {"id": sample.id, "scores": {}, "errors": {}, "stats": {}}
                details = {}
                for acc, outcomes in zip(accumulators, per_metric):
                    record = acc.add(sample.id, outcomes[position])
                    row["scores"].update(record.scores)
                    alias = acc.configured.alias
                    if record.error is not None:
                        row["errors"][alias] = record.error
                    if record.stats is not None:
                        row["stats"][alias] = record.stats
                    if record.detail is not None:
                        details[alias] = record.detail
                if details:
                    row["detail"] = details
                lines.append(to_json(row))
            try:
                samples_out.write("\n".join(lines) + "\n")
                samples_out.flush()
            except OSError as exc:
                raise RunError(f"cannot write {output_dir / SAMPLES_FILE}: {exc.strerror or exc}") from None
            n_samples += len(batch)
            if advance:
                advance(len(batch))

    bootstrap = task.config.bootstrap
    metrics: dict[str, Any] = {}
    details: dict[str, Any] = {}
    warnings: list[str] = []
    for acc in accumulators:
        alias = acc.configured.alias
        metrics.update(acc.summary(bootstrap.resamples, bootstrap.seed, signatures[alias]))
        extra = acc.details()
        if extra:
            details[alias] = extra
            warnings += [f"{alias}: {text}" for text in extra.get("warnings", [])]
    aggregate = {
        "name": task.config.name,
        "config": task.config.model_dump(mode="json", by_alias=True),
        "versions": library_versions(task),
        "n_samples": n_samples,
        "bootstrap": {"resamples": bootstrap.resamples, "seed": bootstrap.seed, "method": "percentile"},
        "metrics": metrics,
        "details": details,
        "warnings": warnings,
        "counters": dict(task.context.counters),
        "elapsed_seconds": round(time.perf_counter() - started, 3),
    }
    write_aggregate(output_dir, aggregate)
    return RunResult(output_dir, aggregate)


def write_aggregate(output_dir: Path, aggregate: dict[str, Any]) -> None:
    try:
        atomic_write_text(output_dir / AGGREGATE_FILE, to_json(aggregate, indent=2) + "\n")
        atomic_write_text(output_dir / REPORT_FILE, render_markdown(aggregate))
    except OSError as exc:
        raise RunError(f"cannot write the reports in {output_dir}: {exc.strerror or exc}") from None
