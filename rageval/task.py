"""A config resolved into something runnable: metric instances, the data source, field mapping.

Everything here is checked before any scoring: unknown metrics, bad parameters, duplicate
score names, fields no column provides. Each problem is one error line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from rageval.config import TaskConfig, describe_validation_error, load_config
from rageval.context import RunContext
from rageval.data import DataSource, ScanResult
from rageval.errors import ConfigError, DataError, RagevalError
from rageval.metric import Metric, ScoreSpec, score_name
from rageval.registry import RegisteredExtension, Registry, build_registry, suggest


@dataclass(frozen=True)
class ConfiguredMetric:
    """A metric instance as the config set it up, with the name its scores go under."""

    alias: str
    metric: Metric
    plugin: str
    position: int

    @property
    def name(self) -> str:
        return self.metric.info.name

    def score_names(self) -> list[tuple[str, ScoreSpec]]:
        return [(score_name(self.alias, spec), spec) for spec in self.metric.info.score_specs()]


@dataclass
class Task:
    """A validated task: the config, its metrics and its dataset."""

    config: TaskConfig
    base_dir: Path
    metrics: list[ConfiguredMetric]
    source: DataSource
    context: RunContext
    reports: list[RegisteredExtension] = field(default_factory=list)
    """Plugin report writers the config's ``reports:`` selects, in its order."""

    def field_columns(self, scan: ScanResult) -> dict[str, str]:
        """Canonical field -> column for every field that metrics need or the config maps.

        Raises :class:`DataError` listing every metric field that no column provides.
        """
        mapping = dict(self.config.dataset.columns)
        columns = set(scan.columns)
        for fld, column in mapping.items():
            if column not in columns:
                raise DataError(
                    f"dataset.columns.{fld}: the dataset has no column {column!r}{suggest(column, columns)} "
                    f"Columns: {', '.join(scan.columns)}"
                )
        resolved: dict[str, str] = {}
        missing: list[str] = []
        for configured in self.metrics:
            for fld in configured.metric.info.fields:
                column = mapping.get(fld, fld)
                if column in columns:
                    resolved[fld] = column
                else:
                    missing.append(f"metric {configured.alias!r} needs field {fld!r}")
            for group in configured.metric.info.any_of:
                present = [fld for fld in group if mapping.get(fld, fld) in columns]
                for fld in present:
                    resolved[fld] = mapping.get(fld, fld)
                if not present:
                    either = " or ".join(repr(fld) for fld in group)
                    missing.append(f"metric {configured.alias!r} needs field {either}")
        if missing:
            unique = list(dict.fromkeys(missing))
            raise DataError(
                f"{'; '.join(unique)}: map each to a column in dataset.columns. "
                f"Dataset columns: {', '.join(scan.columns)}"
            )
        for fld, column in mapping.items():
            resolved.setdefault(fld, column)
        return resolved


def configure_metrics(config: TaskConfig, registry: Registry, context: RunContext) -> list[ConfiguredMetric]:
    """Instantiate every metric the config names, with validated parameters."""
    configured: list[ConfiguredMetric] = []
    owners: dict[str, str] = {}
    for position, entry in enumerate(config.metrics):
        where = f"metrics[{position}]"
        if entry.name not in registry:
            raise ConfigError(
                f"{where}.name: unknown metric {entry.name!r}{suggest(entry.name, registry.names())} "
                f"Available: {', '.join(registry.names())}"
            )
        registered = registry.entry(entry.name)
        info = registered.info
        try:
            params = info.params.model_validate(entry.params)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, info.params, (where, "params"))) from None
        try:
            metric = registered.cls(params=params, context=context)
        except RagevalError:
            raise
        except Exception as exc:
            raise ConfigError(f"{where}: metric {entry.name!r} cannot be set up: {type(exc).__name__}: {exc}") from exc
        item = ConfiguredMetric(entry.alias, metric, registered.plugin, position)
        for name, _spec in item.score_names():
            if name in owners:
                raise ConfigError(
                    f"{where}: score {name!r} is already reported by {owners[name]}; give one of them another name "
                    f"with 'as:'"
                )
            owners[name] = where
        configured.append(item)
    return configured


def select_reports(config: TaskConfig, registry: Registry) -> list[RegisteredExtension]:
    """The report writers ``reports:`` names; an unknown name suggests close ones."""
    selected = []
    for position, name in enumerate(config.reports):
        if name not in registry.writers:
            available = ", ".join(sorted(registry.writers)) or "none (install or name a plugin that adds one)"
            raise ConfigError(
                f"reports[{position}]: unknown report writer {name!r}{suggest(name, registry.writers)} "
                f"Available: {available}"
            )
        selected.append(registry.writers[name])
    return selected


def run_context(config: TaskConfig, base_dir: Path) -> RunContext:
    """A run's context as the config sets it: relative model paths and ``cache.dir`` start at ``base_dir``."""
    from rageval.models.cache import resolve_cache_dir

    cache_dir = resolve_cache_dir(config.cache.enabled, config.cache.dir, base_dir)
    return RunContext(base_dir=base_dir, cache_dir=cache_dir)


def build_task(
    config: TaskConfig,
    registry: Registry,
    base_dir: Path,
    context: RunContext | None = None,
) -> Task:
    """Resolve a config; the local plugins it names (``plugins:``) join ``registry`` first.

    Without ``context``, a new one starts at ``base_dir`` with the config's cache settings; a
    given context keeps its own cache settings and gets ``base_dir`` if it has none.
    """
    from rageval.plugins import with_local_plugins

    registry = with_local_plugins(registry, config.plugins, base_dir)
    if context is None:
        context = run_context(config, base_dir)
    elif context.base_dir is None:
        context.base_dir = base_dir
    metrics = configure_metrics(config, registry, context)
    source = DataSource.open(config.dataset, base_dir, registry.loaders)
    return Task(config, base_dir, metrics, source, context, select_reports(config, registry))


def load_task(
    path: str | Path,
    registry: Registry | None = None,
    overrides: Sequence[str] = (),
    context: RunContext | None = None,
) -> Task:
    """Read a config file and resolve it; dataset paths are relative to the config's folder.

    Without ``registry``, one is built with the installed plugins (entry points).
    """
    config = load_config(path, overrides)
    registry = registry if registry is not None else build_registry()
    return build_task(config, registry, Path(path).resolve().parent, context)
