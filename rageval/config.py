"""Task configs: YAML read with the safe loader into strict pydantic models.

Every problem becomes one :class:`ConfigError` line that names the YAML path
(``metrics[1].params.tokenize``), the bad value, and the allowed values or a close name.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from rageval.errors import ConfigError
from rageval.presets import PRESET_NAMES, PRESETS
from rageval.sample import CANONICAL_FIELDS

CanonicalField = Literal[CANONICAL_FIELDS]  # type: ignore[valid-type]
PresetName = Literal[PRESET_NAMES]  # type: ignore[valid-type]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(StrictModel):
    path: str = Field(description="a .jsonl/.json/.csv/.tsv/.parquet file, a folder saved by datasets, or a hub id")
    split: str | None = Field(None, description="split of a saved DatasetDict or hub dataset")
    limit: int | None = Field(None, gt=0, description="score only the first N rows")
    id_column: str | None = Field(None, description="column holding sample ids (default: the row index)")
    columns: dict[CanonicalField, str] = Field(
        default_factory=dict, description="canonical field -> the dataset's column name"
    )
    format: str | None = Field(
        None, description="read the path as this format: jsonl, json, csv, tsv, parquet or a plugin's"
    )


class MetricConfig(StrictModel):
    name: str
    as_: str | None = Field(None, alias="as", description="name the scores are reported under")
    params: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def alias(self) -> str:
        return self.as_ or self.name


class BootstrapConfig(StrictModel):
    resamples: int = Field(1000, ge=0, le=100_000, description="0 turns confidence intervals off")
    seed: int = Field(0, ge=0)


class RayConfig(StrictModel):
    """Where ``executor: ray`` runs; read only by that executor, which imports Ray."""

    address: str | None = Field(
        None,
        min_length=1,
        description="cluster to join: 'auto' or the head's 'host:port'; null starts a local instance",
    )
    num_cpus: int | None = Field(
        None, ge=1, description="CPUs of the local instance (address: null); default: all of this machine's"
    )
    actors: int = Field(2, ge=1, le=1024, description="scoring actors; each loads the metrics' models once")
    num_gpus: float = Field(0, ge=0, le=64, description="GPUs each actor reserves (a fraction shares a GPU)")
    runtime_env: dict[str, Any] | None = Field(
        None, description="Ray runtime environment for the run (pip, working_dir, env_vars), passed to ray.init"
    )

    @field_validator("address")
    @classmethod
    def _not_ray_client(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("ray://"):
            raise ValueError(
                "Ray Data cannot run through Ray Client (ray://); run rageval on a cluster node with address: auto, "
                "or submit it with 'ray job submit'"
            )
        return value

    @field_validator("num_cpus")
    @classmethod
    def _local_only(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("address") not in (None, "local"):
            raise ValueError("num_cpus sizes a local instance; a cluster at an address has its own CPUs")
        return value


class CacheConfig(StrictModel):
    """The on-disk cache of model outputs (embeddings, NLI probabilities, token NLLs) shared by runs."""

    enabled: bool = Field(True, description="read and write the cache; false computes every model output")
    dir: str | None = Field(
        None,
        min_length=1,
        description="the cache's folder, relative to this config's folder "
        "(default: $RAGEVAL_CACHE_DIR, else $XDG_CACHE_HOME/rageval or ~/.cache/rageval)",
    )


MISSING_METRICS = (
    f"metrics: required key is missing; list metrics, or set task: to a preset ({', '.join(PRESET_NAMES)})"
)


class TaskConfig(StrictModel):
    name: str = Field(min_length=1)
    dataset: DatasetConfig
    metrics: Annotated[list[MetricConfig], Field(min_length=1)] | None = Field(
        None, description="metrics to run (default: those of the task preset)"
    )
    task: PresetName | None = Field(None, description="a preset (see 'rageval presets') whose metrics are the default")
    output: str | None = Field(None, description="output folder (default: runs/<name>)")
    batch_size: int = Field(256, gt=0, le=1_000_000)
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    plugins: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="local plugins to load: a .py file (relative to this config's folder) or a dotted module name",
    )
    reports: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="extra report writers from plugins to run after the built-in reports"
    )
    executor: Literal["local", "processes", "ray"] = Field("local", description="where batches are scored")
    workers: int = Field(2, ge=1, le=256, description="worker processes for executor: processes")
    ray: RayConfig = Field(default_factory=RayConfig, description="options of executor: ray")
    cache: CacheConfig = Field(default_factory=CacheConfig, description="the on-disk cache of model outputs")
    group_by: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="dataset columns to report every metric per value of (slices)"
    )

    @field_validator("group_by", mode="before")
    @classmethod
    def _one_column_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("group_by")
    @classmethod
    def _unique_columns(cls, value: list[str]) -> list[str]:
        repeated = sorted({column for column in value if value.count(column) > 1})
        if repeated:
            raise ValueError(f"column {repeated[0]!r} is listed twice")
        return value

    @field_validator("cache", mode="before")
    @classmethod
    def _cache_switch(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value

    @field_validator("metrics", mode="before")
    @classmethod
    def _names_to_entries(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="before")
    @classmethod
    def _preset_metrics(cls, data: Any) -> Any:
        if (
            isinstance(data, Mapping)
            and data.get("metrics") is None
            and isinstance(data.get("task"), str)
            and data["task"] in PRESETS
        ):
            return {**data, "metrics": PRESETS[data["task"]].entries()}
        return data

    @model_validator(mode="after")
    def _metrics_or_task(self) -> TaskConfig:
        if self.metrics is None:
            raise ValueError(MISSING_METRICS)
        return self


def _yaml_path(loc: Sequence[str | int]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model whose field list applies at ``loc`` (for 'did you mean')."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        fld = current.model_fields.get(part)
        if fld is None:
            fld = next((f for f in current.model_fields.values() if f.alias == part), None)
        if fld is None:
            return None
        annotation = fld.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def describe_validation_error(error: ValidationError, model: type[BaseModel], prefix: Sequence[str | int] = ()) -> str:
    """One line for a pydantic error: the YAML path, the bad value, what is allowed."""
    messages = []
    for item in error.errors():
        loc = [*prefix, *item["loc"]]
        kind = item["type"]
        where = _yaml_path(loc)
        if kind == "extra_forbidden":
            key = str(loc[-1])
            parent = _model_at(model, item["loc"][:-1])
            allowed = _field_names(parent) if parent else []
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            messages.append(f"{where}: unknown key{hint} Allowed keys: {', '.join(allowed)}")
        elif kind == "missing":
            messages.append(f"{where}: required key is missing")
        elif kind == "literal_error":
            allowed = item.get("ctx", {}).get("expected", "")
            bad = item.get("input")
            options = [a.strip().strip("'") for a in allowed.replace(" or ", ",").split(",") if a.strip()]
            close = difflib.get_close_matches(str(bad), options, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            messages.append(f"{where}: {bad!r} is not allowed{hint} Allowed: {allowed}")
        else:
            messages.append(f"{where}: {item['msg']} (got {item.get('input')!r})")
    first = messages[0]
    more = len(messages) - 1
    return first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply one ``--set dotted.key=value``; the value is parsed as YAML data, never code."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment!r}: expected dotted.key=value")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {assignment!r}: value is not valid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"--set {key.strip()}: the value is nested too deeply") from None
    check_expanded_size(value, f"--set {key.strip()}")
    parts = key.strip().split(".")
    node: Any = raw
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"--set {key}: {part!r} is not an index of the list at {'.'.join(parts[:depth])}")
            index = int(part)
            if last:
                node[index] = value
            else:
                if isinstance(node[index], str):
                    node[index] = {"name": node[index]}
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"--set {key}: {'.'.join(parts[:depth])} is not a mapping or a list")


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that also refuses duplicate keys, which YAML otherwise resolves silently."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with the safe loader; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = yaml.load(text, Loader=_StrictSafeLoader)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    check_expanded_size(data, str(path))
    return data


MAX_CONFIG_VALUES = 100_000
"""Values a config may hold with its YAML aliases expanded: a few aliases cannot make it huge ("billion laughs")."""


def check_expanded_size(data: Any, where: str) -> None:
    """Refuse data whose aliases (one object reached many times) expand it past :data:`MAX_CONFIG_VALUES`."""
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:
        if not isinstance(value, (dict, list)):
            return 1
        if id(value) in sizes:
            return sizes[id(value)]
        sizes[id(value)] = 1  # a value that holds itself is counted once
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        total = 1 + sum(size(item) for item in items)
        if total > MAX_CONFIG_VALUES:
            raise ConfigError(
                f"{where}: more than {MAX_CONFIG_VALUES:,} values once YAML aliases are expanded (a 'billion laughs' "
                "document?); write the data out instead of repeating aliases"
            )
        sizes[id(value)] = total
        return total

    size(data)


def parse_config(raw: Any, source: str = "config") -> TaskConfig:
    """Validate raw YAML data into a :class:`TaskConfig`."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping of keys (name, dataset, metrics, ...)")
    if raw.get("metrics") is None and raw.get("task") is None:
        raise ConfigError(f"{source}: {MISSING_METRICS}")
    try:
        return TaskConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc, TaskConfig)}") from None


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TaskConfig:
    """Read, override and validate a task config file."""
    path = Path(path)
    raw = read_yaml(path)
    if isinstance(raw, dict):
        for assignment in overrides:
            apply_override(raw, assignment)
    return parse_config(raw, str(path))


__all__ = [
    "CANONICAL_FIELDS",
    "BootstrapConfig",
    "CacheConfig",
    "DatasetConfig",
    "MetricConfig",
    "RayConfig",
    "TaskConfig",
    "apply_override",
    "describe_validation_error",
    "load_config",
    "parse_config",
]
