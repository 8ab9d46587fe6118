"""Run a task: stream batches through every metric, write rows as they finish, aggregate.

Every sample is accounted for in every metric: scored (statistics kept) or failed (reason
kept in its row, counted in ``n_errors``). A metric that raises on a batch fails that
batch's rows for that metric only; the other metrics and batches carry on.
"""

from __future__ import annotations

import gc
import json
import platform
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rageval.aggregate import MetricAccumulator, SampleRecord, bootstrap_accumulators
from rageval.errors import ConfigError, RagevalError, RunError
from rageval.executors import LocalExecutor, ProcessExecutor, RayExecutor
from rageval.metric import distribution_version
from rageval.reports.files import atomic_write_text, open_run_file, to_json
from rageval.reports.html import render_html_report
from rageval.reports.markdown import render_markdown
from rageval.reports.samples import SampleScanner, ScoreScan, json_safe
from rageval.resume import (
    MANIFEST_FILE,
    PreviousRows,
    build_manifest,
    check_resumable,
    read_previous_rows,
    repair_samples_file,
    write_manifest,
)
from rageval.sample import CANONICAL_FIELDS, Sample
from rageval.slices import SliceTracker, check_group_by, group_key, slices_entry
from rageval.task import Task

SAMPLES_FILE = "samples.jsonl"
AGGREGATE_FILE = "aggregate.json"
REPORT_FILE = "report.md"
HTML_REPORT_FILE = "report.html"
RUN_FILES = (SAMPLES_FILE, AGGREGATE_FILE, REPORT_FILE, "run.json", HTML_REPORT_FILE)

ProgressFn = Callable[[int], None]


@dataclass
class RunResult:
    output_dir: Path
    aggregate: dict[str, Any]


def safe_file_name(name: str) -> str:
    """``name`` as one path component: no separators, no ``..``, no NUL or control characters."""
    cleaned = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "run"
    return cleaned[:120]


def default_output_dir(task: Task) -> Path:
    """The config's ``output``, else ``runs/<name>`` with the name made a safe folder name."""
    if task.config.output:
        return Path(task.config.output)
    return Path("runs") / safe_file_name(task.config.name)


def holds_a_run(path: Path) -> bool:
    """Whether ``path`` holds a rageval run: the run.json manifest every run writes first (a file of the
    same name as a report is not enough; those may be the user's own)."""
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "manifest_version" in manifest


def prepare_output_dir(path: Path, overwrite: bool) -> None:
    """Make ``path`` ready for a new run; refuse to clobber anything that is not a run."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"output: {path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise ConfigError(f"output folder {path} is not empty: pass --overwrite to replace its run, or -o another")
        if not holds_a_run(path):
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
def _samples_file(path: Path, mode: str) -> Iterator[TextIO]:
    handle = open_run_file(path, mode)
    try:
        yield handle
    except BaseException:
        with suppress(OSError):  # closing flushes again; a full disk fails again: keep the first error
            handle.close()
        raise
    try:
        handle.close()
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def rare_full_collections(oldest: int = 1000) -> Iterator[None]:
    """Collect the oldest generation rarely while a run scores.

    Every batch allocates and frees hundreds of thousands of container objects (sacrebleu's
    n-gram tuples, rows); with Python's default thresholds the collector then walks the whole
    heap every few batches, which cost a third of a lexical run's overhead over direct library
    calls. Young generations are still collected as usual, so short-lived cycles are freed.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], oldest))
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def make_executor(task: Task) -> LocalExecutor | ProcessExecutor | RayExecutor:
    if task.config.executor == "processes":
        config = task.config.model_dump(mode="json", by_alias=True)
        return ProcessExecutor(config, task.base_dir, task.config.workers, context=task.context)
    if task.config.executor == "ray":
        config = task.config.model_dump(mode="json", by_alias=True)
        return RayExecutor(config, task.base_dir, task.config.ray, task.context)
    return LocalExecutor(task.metrics)


def _row(
    sample: Sample, field_names: Sequence[str], aliases: Sequence[str], records: Sequence[SampleRecord]
) -> dict[str, Any]:
    """One samples.jsonl row: the sample's mapped fields and what each metric made of it."""
    row: dict[str, Any] = {"id": sample.id, "scores": {}, "errors": {}, "stats": {}}
    row["fields"] = {n: json_safe(value) for n in field_names if (value := getattr(sample, n)) is not None}
    details = {}
    for alias, record in zip(aliases, records):
        row["scores"].update(record.scores)
        if record.error is not None:
            row["errors"][alias] = record.error
        if record.stats is not None:
            row["stats"][alias] = record.stats
        if record.detail is not None:
            details[alias] = record.detail
    if details:
        row["detail"] = details
    return row


def remove_leftover_temporaries(output_dir: Path) -> None:
    """Delete the temporary files of atomic writes (``.run.json.<random>.tmp``) a killed run left behind,
    so that a run killed while writing run.json leaves a folder that can be resumed or overwritten."""
    if output_dir.is_dir():
        for name in RUN_FILES:
            for leftover in output_dir.glob(f".{name}.*.tmp"):
                leftover.unlink(missing_ok=True)


def _start_output(
    task: Task, output_dir: Path, manifest: dict[str, Any], overwrite: bool, resume: bool
) -> PreviousRows:
    """Prepare the output folder; for a resumed run, the rows it already holds."""
    samples_path = output_dir / SAMPLES_FILE
    aliases = [configured.alias for configured in task.metrics]
    remove_leftover_temporaries(output_dir)
    if resume and output_dir.is_dir() and any(output_dir.iterdir()):
        check_resumable(output_dir, manifest)
        repair_samples_file(samples_path)
        previous = read_previous_rows(samples_path, aliases)
        (output_dir / AGGREGATE_FILE).unlink(missing_ok=True)
        return previous
    prepare_output_dir(output_dir, overwrite)
    try:
        write_manifest(output_dir, manifest)
    except OSError as exc:
        raise RunError(f"cannot write in {output_dir}: {exc.strerror or exc}") from None
    return PreviousRows()


def run_task(
    task: Task,
    output_dir: Path | None = None,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: Callable[[int, int], ProgressFn] | None = None,
) -> RunResult:
    """Score the task's dataset with its metrics and write the run's files to ``output_dir``.

    With ``resume``, samples already in the folder's samples.jsonl are not scored again:
    their statistics are read back. ``progress``, when given, is called once with the
    number of rows and returns a function called with the rows each finished batch held.
    """
    started = time.perf_counter()
    scan = task.source.scan()
    field_columns = task.field_columns(scan)
    group_by = task.config.group_by
    check_group_by(group_by, scan.columns)
    signatures = compute_signatures(task)
    output_dir = Path(output_dir) if output_dir is not None else default_output_dir(task)
    previous = _start_output(task, output_dir, build_manifest(task, signatures), overwrite, resume)
    if len(previous.outcomes) > scan.n_rows:
        raise ConfigError(
            f"--resume: {output_dir} already holds {len(previous.outcomes)} samples, more than the "
            f"{scan.n_rows} rows this config selects (dataset.limit?)"
        )

    advance = progress(scan.n_rows, len(task.metrics)) if progress else None
    accumulators = [
        MetricAccumulator(configured, slices=SliceTracker(tuple(group_by)) if group_by else None)
        for configured in task.metrics
    ]

    def group_of(sample: Sample) -> tuple[str, ...]:
        return group_key(sample, group_by, field_columns) if group_by else ()

    aliases = [acc.configured.alias for acc in accumulators]
    field_names = [name for name in CANONICAL_FIELDS if name in field_columns]
    counts = {"scored": 0, "resumed": 0}

    def batches_to_score() -> Iterator[list[Sample]]:
        for batch in task.source.batches(task.config.batch_size, field_columns):
            todo = []
            done = []
            for sample in batch:
                if sample.id in previous:
                    done.append(sample)
                else:
                    todo.append(sample)
            if done:
                restored = [previous.get(sample.id) for sample in done]
                ids = [sample.id for sample in done]
                groups = [group_of(sample) for sample in done]
                for acc, alias in zip(accumulators, aliases):
                    acc.add_batch(ids, [outcomes[alias] for outcomes in restored], groups)
                counts["resumed"] += len(done)
            if len(todo) < len(batch) and advance:
                advance(len(batch) - len(todo))
            if todo:
                yield todo

    scanner = None if previous.outcomes else _report_scanner(accumulators)
    executor = make_executor(task)
    try:
        with (
            rare_full_collections(),
            _samples_file(output_dir / SAMPLES_FILE, "a" if previous.outcomes else "w") as samples_out,
        ):
            for batch, per_metric in executor.map(batches_to_score()):
                ids = [sample.id for sample in batch]
                groups = [group_of(sample) for sample in batch] if group_by else None
                records = [acc.add_batch(ids, outcomes, groups) for acc, outcomes in zip(accumulators, per_metric)]
                rows = [
                    _row(sample, field_names, aliases, [by_metric[i] for by_metric in records])
                    for i, sample in enumerate(batch)
                ]
                if scanner is not None:
                    for row in rows:
                        scanner.add(row)
                lines = [to_json(row) for row in rows]
                try:
                    samples_out.write("\n".join(lines) + "\n")
                    samples_out.flush()
                except OSError as exc:
                    raise RunError(f"cannot write {output_dir / SAMPLES_FILE}: {exc.strerror or exc}") from None
                counts["scored"] += len(batch)
                if advance:
                    advance(len(batch))
    finally:
        executor.close()

    elapsed = time.perf_counter() - started
    aggregate = build_aggregate(task, accumulators, signatures)
    aggregate["n_samples"] = counts["scored"] + counts["resumed"]
    aggregate["timing"] = {
        "seconds": round(elapsed, 3),
        "samples_scored": counts["scored"],
        "samples_resumed": counts["resumed"],
        "samples_per_second": round(counts["scored"] / elapsed, 1) if elapsed > 0 else None,
        "metric_seconds": {alias: round(spent, 3) for alias, spent in executor.seconds.items()},
    }
    write_aggregate(output_dir, aggregate, scanner.scans if scanner is not None else None)
    write_plugin_reports(task, output_dir, aggregate)
    return RunResult(output_dir, aggregate)


def _report_scanner(accumulators: list[MetricAccumulator]) -> SampleScanner:
    """What report.html shows of each score, collected from the rows as the run writes them."""
    better: dict[str, bool] = {}
    owners: dict[str, str] = {}
    for acc in accumulators:
        for name, spec in acc.configured.score_names():
            better[name] = spec.higher_is_better
            owners[name] = acc.configured.alias
    return SampleScanner(better, owners)


def build_aggregate(task: Task, accumulators: list[MetricAccumulator], signatures: dict[str, str]) -> dict[str, Any]:
    """aggregate.json's content from the accumulated statistics."""
    bootstrap = task.config.bootstrap
    metrics: dict[str, Any] = {}
    details: dict[str, Any] = {}
    warned: dict[str, list[str]] = {}
    draws = bootstrap_accumulators(accumulators, bootstrap.resamples, bootstrap.seed)
    for acc, acc_draws in zip(accumulators, draws):
        alias = acc.configured.alias
        metrics.update(acc.summary(bootstrap.resamples, bootstrap.seed, signatures[alias], acc_draws))
        extra = acc.details()
        if extra:
            details[alias] = extra
            for text in extra.get("warnings", []):
                warned.setdefault(text, []).append(alias)
    return {
        "name": task.config.name,
        "config": task.config.model_dump(mode="json", by_alias=True),
        "versions": library_versions(task),
        "n_samples": 0,
        "bootstrap": {"resamples": bootstrap.resamples, "seed": bootstrap.seed, "method": "percentile"},
        "metrics": metrics,
        "details": details,
        "warnings": [f"{', '.join(aliases)}: {text}" for text, aliases in warned.items()] + task.context.warnings,
        "counters": dict(task.context.counters),
        **slices_entry(accumulators, bootstrap.resamples, bootstrap.seed),
    }


def write_aggregate(output_dir: Path, aggregate: dict[str, Any], scans: dict[str, ScoreScan] | None = None) -> None:
    """aggregate.json, report.md and report.html; ``scans`` spare report.html a pass over samples.jsonl."""
    try:
        atomic_write_text(output_dir / AGGREGATE_FILE, to_json(aggregate, indent=2) + "\n")
        atomic_write_text(output_dir / REPORT_FILE, render_markdown(aggregate))
        html = render_html_report(aggregate, output_dir / SAMPLES_FILE, scans=scans)
        atomic_write_text(output_dir / HTML_REPORT_FILE, html)
    except OSError as exc:
        raise RunError(f"cannot write the reports in {output_dir}: {exc.strerror or exc}") from None


def write_plugin_reports(task: Task, output_dir: Path, aggregate: dict[str, Any]) -> None:
    """Run the plugin report writers the config's ``reports:`` selects; a failure names the plugin."""
    for writer in task.reports:
        try:
            writer.function(output_dir, aggregate)
        except RagevalError:
            raise
        except Exception as exc:
            raise RunError(
                f"report writer {writer.name!r} of plugin {writer.plugin!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
