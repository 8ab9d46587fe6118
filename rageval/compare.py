"""``rageval compare``: runs of the same dataset, sample by sample, with paired significance tests.

Each run folder holds its config (in aggregate.json) and each sample's statistics (in
samples.jsonl), so the metrics are rebuilt from the registry and every score is recomputed on
the samples all runs share: deltas against the first run, paired bootstrap intervals and
p-values, and approximate randomization p-values (see :mod:`rageval.significance`).

Runs are refused, with the reason, when they cover different sample ids, when a metric's
signature differs, or when shared samples have different references or inputs; ``force``
compares them anyway and says so in every output.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rageval.aggregate import id_sort_key
from rageval.config import parse_config
from rageval.context import RunContext
from rageval.errors import ConfigError, DataError, RagevalError
from rageval.metric import finite_or_none, stack_statistics
from rageval.registry import Registry
from rageval.reports.files import to_json
from rageval.reports.samples import numbered_rows
from rageval.significance import PairedBootstrap, paired_bootstrap, paired_randomization
from rageval.stats import bootstrap_scores, percentile_interval
from rageval.task import ConfiguredMetric, configure_metrics

ANCHOR_FIELDS = ("references", "source", "question", "label", "relevant_ids", "text")
"""Fields that define a sample rather than a system's output: they must match between runs."""


@dataclass
class RunData:
    """What comparing needs of one run folder."""

    path: Path
    label: str
    aggregate: dict[str, Any]
    metrics: dict[str, ConfiguredMetric]
    ids: dict[str, Any] = field(default_factory=dict)
    """Sort key of each sample id -> the id itself."""
    stats: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    """Metric alias -> sample key -> the sample's statistics."""
    anchors: dict[str, str] = field(default_factory=dict)
    """Sample key -> a digest of its references and inputs, for rows that record them."""

    def score_owner(self, name: str) -> ConfiguredMetric | None:
        for configured in self.metrics.values():
            if any(score == name for score, _ in configured.score_names()):
                return configured
        return None


def _digest(fields: dict[str, Any]) -> str:
    anchored = {name: fields[name] for name in ANCHOR_FIELDS if name in fields}
    return hashlib.blake2b(to_json(anchored).encode("utf-8"), digest_size=16).hexdigest()


def load_run(path: str | Path, registry: Registry, label: str | None = None) -> RunData:
    """Read a run folder: its aggregate, its rows' statistics, and its metrics rebuilt from the config."""
    folder = Path(path)
    aggregate_path = folder / "aggregate.json"
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such run folder; pass folders that 'rageval run' wrote")
    if not aggregate_path.exists():
        raise ConfigError(f"{folder}: not a finished rageval run (no aggregate.json); finish it with 'rageval run'")
    try:
        aggregate = json.loads(aggregate_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{aggregate_path}: unreadable ({exc})") from None
    if not isinstance(aggregate, dict) or not isinstance(aggregate.get("config"), dict):
        raise DataError(f"{aggregate_path}: not a rageval aggregate (no 'config')")
    try:
        config = parse_config(aggregate["config"], str(aggregate_path))
        configured = configure_metrics(config, registry, RunContext())
    except RagevalError as exc:
        raise type(exc)(f"{folder}: cannot rebuild its metrics: {exc}") from None
    run = RunData(folder, label or folder.name, aggregate, {c.alias: c for c in configured})
    samples = folder / "samples.jsonl"
    if not samples.exists():
        raise ConfigError(f"{folder}: no samples.jsonl; compare needs the per-sample statistics a run writes")
    for alias in run.metrics:
        run.stats[alias] = {}
    for number, row in numbered_rows(samples, DataError):
        key = id_sort_key(row["id"])
        if key in run.ids:
            raise DataError(f"{samples}: line {number} repeats sample id {row['id']!r}")
        run.ids[key] = row["id"]
        for alias, values in (row.get("stats") or {}).items():
            if alias in run.stats:
                run.stats[alias][key] = values
        if isinstance(row.get("fields"), dict):
            run.anchors[key] = _digest(row["fields"])
    return run


def _labels(paths: Sequence[str | Path]) -> list[str]:
    """Short names for the runs: folder names, the full path where two share a name, numbered if still equal."""
    names = [Path(p).name or str(p) for p in paths]
    labels = [name if names.count(name) == 1 else str(path) for name, path in zip(names, paths)]
    return [
        label if labels[:i].count(label) == 0 else f"{label} ({labels[:i].count(label) + 1})"
        for i, label in enumerate(labels)
    ]


def _example(keys: set[str], run: RunData) -> str:
    first = min(keys)
    return json.dumps(run.ids.get(first, first), ensure_ascii=False)


def find_problems(runs: Sequence[RunData], scores: Sequence[str]) -> list[str]:
    """Why these runs are not comparable (empty when they are)."""
    base = runs[0]
    problems = []
    for run in runs[1:]:
        missing = set(base.ids) - set(run.ids)
        extra = set(run.ids) - set(base.ids)
        if missing or extra:
            parts = []
            if missing:
                parts.append(
                    f"{run.label} lacks {len(missing)} of {base.label}'s samples (e.g. id {_example(missing, base)})"
                )
            if extra:
                parts.append(
                    f"{run.label} has {len(extra)} samples {base.label} lacks (e.g. id {_example(extra, run)})"
                )
            problems.append(" and ".join(parts))
        shared = [key for key in base.anchors if key in run.anchors]
        different = [key for key in shared if base.anchors[key] != run.anchors[key]]
        if different:
            problems.append(
                f"{len(different)} of the {len(shared)} shared samples have other references or inputs in {run.label} "
                f"than in {base.label} (e.g. id {_example(set(different), base)}): these are different datasets"
            )
    seen = set()
    for name in scores:
        base_entry = base.aggregate["metrics"][name]
        for run in runs[1:]:
            entry = run.aggregate["metrics"][name]
            owner = base.score_owner(name)
            alias = owner.alias if owner else name
            if entry["signature"] != base_entry["signature"] and (alias, run.label) not in seen:
                seen.add((alias, run.label))
                problems.append(
                    f"metric {alias!r} differs: {base_entry['signature']} in {base.label}, "
                    f"{entry['signature']} in {run.label}"
                )
    return problems


@dataclass
class _MetricComparison:
    """Every run's scores of one metric on the rows all runs scored, and the tests against the first."""

    n: int
    values: list[dict[str, float | None]]
    intervals: list[dict[str, list[float] | None]]
    paired: list[dict[str, PairedBootstrap]]
    randomization: list[dict[str, float | None]]

    def entry(self, index: int, label: str, key: str) -> dict[str, Any]:
        paired = self.paired[index].get(key)
        return {
            "run": label,
            "value": self.values[index].get(key),
            "ci95": self.intervals[index].get(key),
            "delta": paired.delta if paired else None,
            "delta_ci95": paired.ci95 if paired else None,
            "p_bootstrap": paired.p_value if paired else None,
            "p_randomization": self.randomization[index].get(key),
        }


def _compare_metric(
    runs: Sequence[RunData],
    configured: Sequence[ConfiguredMetric],
    shared: Sequence[str],
    signatures: Sequence[str],
    resamples: int,
    trials: int,
    seed: int,
) -> _MetricComparison:
    aliases = [c.alias for c in configured]
    rows = [key for key in shared if all(key in run.stats[alias] for run, alias in zip(runs, aliases))]
    stacked = [stack_statistics([run.stats[alias][key] for key in rows]) for run, alias in zip(runs, aliases)]
    metrics = [c.metric for c in configured]
    result = _MetricComparison(len(rows), [], [], [], [])
    for index, (metric, stats) in enumerate(zip(metrics, stacked)):
        corpus = metric.corpus_scores(stats) if rows else {}
        result.values.append({key: finite_or_none(value) for key, value in corpus.items()})
        draws = bootstrap_scores(metric, stats, resamples, seed) if rows and resamples else {}
        result.intervals.append({key: percentile_interval(values) for key, values in draws.items()})
        paired: dict[str, PairedBootstrap] = {}
        randomization: dict[str, float | None] = {}
        if index and rows:
            paired = paired_bootstrap(metrics[0], stacked[0], metric, stats, resamples, seed)
            if signatures[index] == signatures[0] and stats.shape == stacked[0].shape:
                randomization = paired_randomization(metrics[0], stacked[0], stats, trials, seed)
        result.paired.append(paired)
        result.randomization.append(randomization)
    return result


def compare_runs(
    paths: Sequence[str | Path],
    registry: Registry,
    *,
    resamples: int = 1000,
    trials: int = 10000,
    seed: int = 0,
    force: bool = False,
) -> dict[str, Any]:
    """Compare runs against the first; a JSON-serialisable result (see docs/reports.md)."""
    if len(paths) < 2:
        raise ConfigError("compare needs at least two run folders; the first is the baseline")
    if resamples < 0 or trials < 0:
        raise ConfigError("--resamples and --trials must be 0 or more")
    runs = [load_run(path, registry, label) for path, label in zip(paths, _labels(paths))]
    names = [name for name in runs[0].aggregate["metrics"] if all(name in r.aggregate["metrics"] for r in runs)]
    warnings = []
    for name in dict.fromkeys(n for run in runs for n in run.aggregate["metrics"] if n not in names):
        holders = ", ".join(run.label for run in runs if name in run.aggregate["metrics"])
        warnings.append(f"score {name!r} is only in {holders}; it is left out")
    if not names:
        listed = "; ".join(f"{r.label}: {', '.join(r.aggregate['metrics']) or 'none'}" for r in runs)
        raise ConfigError(f"the runs share no score to compare ({listed})")
    problems = find_problems(runs, names)
    if problems and not force:
        raise ConfigError("not comparable: " + "; ".join(problems) + " (pass --force to compare anyway)")
    warnings = [f"FORCED COMPARISON: {p}" for p in problems] + warnings
    shared = [key for key in sorted(runs[0].ids) if all(key in r.ids for r in runs)]
    if not shared:
        raise ConfigError("the runs share no sample id; there is nothing to compare")

    scores: dict[str, Any] = {}
    computed: dict[tuple[str, ...], _MetricComparison] = {}
    for name in names:
        owners = [run.score_owner(name) for run in runs]
        if any(owner is None for owner in owners):
            warnings.append(f"score {name!r}: its metric is not in every run's config; it is left out")
            continue
        configured = [owner for owner in owners if owner is not None]
        aliases = tuple(owner.alias for owner in configured)
        signatures = [run.aggregate["metrics"][name]["signature"] for run in runs]
        if aliases not in computed:
            computed[aliases] = _compare_metric(runs, configured, shared, signatures, resamples, trials, seed)
        result = computed[aliases]
        key = next(spec.key for score, spec in configured[0].score_names() if score == name)
        base_entry = runs[0].aggregate["metrics"][name]
        scores[name] = {
            "metric": base_entry.get("metric"),
            "higher_is_better": bool(base_entry["higher_is_better"]),
            "signature": signatures[0],
            "n": result.n,
            "n_excluded": len(shared) - result.n,
            "runs": [result.entry(index, run.label, key) for index, run in enumerate(runs)],
        }
    return {
        "runs": [
            {"label": r.label, "path": str(r.path), "name": r.aggregate.get("name"), "n_samples": len(r.ids)}
            for r in runs
        ],
        "baseline": runs[0].label,
        "n_shared": len(shared),
        "settings": {"resamples": resamples, "trials": trials, "seed": seed},
        "forced": bool(problems),
        "warnings": warnings,
        "scores": scores,
    }


COMPARE_HEADERS = ["score", "run", "value", "95% CI", "delta", "delta 95% CI", "p (bootstrap)", "p (rand.)", "n"]


def format_p(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" + (" *" if value < 0.05 else "")


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.4f}"


def compare_rows(result: dict[str, Any]) -> list[list[str]]:
    """Table rows shared by the terminal, Markdown and HTML outputs of a comparison."""
    from rageval.reports.markdown import format_interval, format_number

    rows = []
    for name, score in result["scores"].items():
        arrow = "↑" if score["higher_is_better"] else "↓"
        for index, entry in enumerate(score["runs"]):
            rows.append(
                [
                    f"{name} {arrow}" if index == 0 else "",
                    entry["run"],
                    format_number(entry["value"]),
                    format_interval(entry["ci95"]),
                    "baseline" if index == 0 else _signed(entry["delta"]),
                    "" if index == 0 else format_interval(entry["delta_ci95"]),
                    "" if index == 0 else format_p(entry["p_bootstrap"]),
                    "" if index == 0 else format_p(entry["p_randomization"]),
                    str(score["n"]),
                ]
            )
    return rows


def compare_footnote(result: dict[str, Any]) -> str:
    settings = result["settings"]
    return (
        f"{result['n_shared']} shared samples; baseline {result['baseline']}; delta = run − baseline; "
        f"paired bootstrap ({settings['resamples']} resamples) and approximate randomization "
        f"({settings['trials']} trials), seed {settings['seed']}; * p < 0.05."
    )


def render_compare_markdown(result: dict[str, Any]) -> str:
    lines = ["# Comparison", ""]
    lines += [f"> **Warning:** {text}" for text in result["warnings"]]
    if result["warnings"]:
        lines.append("")
    lines += ["| " + " | ".join(COMPARE_HEADERS) + " |", "|" + "|".join("---" for _ in COMPARE_HEADERS) + "|"]
    for row in compare_rows(result):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    lines += ["", compare_footnote(result), ""]
    return "\n".join(lines)


def compare_table(result: dict[str, Any]) -> Any:
    """The comparison as a rich table for the terminal."""
    from rich.table import Table

    table = Table(title=f"comparison against {result['baseline']}", caption=compare_footnote(result))
    for header in COMPARE_HEADERS:
        table.add_column(header, justify="left" if header in ("score", "run") else "right")
    for row in compare_rows(result):
        table.add_row(*row)
    return table
