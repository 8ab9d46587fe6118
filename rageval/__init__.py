"""rageval: pluggable, exact, reproducible evaluation of RAG, translation and ASR outputs.

The public API is what ``__all__`` lists; every other module is an implementation detail
that may change. Importing rageval loads no model library (torch, transformers) and
registers nothing: a registry is built with :func:`build_registry`.
"""

from rageval.config import TaskConfig, load_config
from rageval.context import RunContext
from rageval.errors import ConfigError, DataError, PluginError, RagevalError, RunError
from rageval.hookspecs import hookimpl, hookspec
from rageval.metric import (
    Failed,
    Metric,
    MetricInfo,
    MetricParams,
    NoParams,
    Outcome,
    Scored,
    ScoreSpec,
)
from rageval.registry import Registry, build_registry
from rageval.runner import RunResult, run_task
from rageval.sample import CANONICAL_FIELDS, InvalidSample, Sample
from rageval.task import Task, build_task, load_task

__version__ = "0.1.0"

__all__ = [
    "CANONICAL_FIELDS",
    "ConfigError",
    "DataError",
    "Failed",
    "InvalidSample",
    "Metric",
    "MetricInfo",
    "MetricParams",
    "NoParams",
    "Outcome",
    "PluginError",
    "RagevalError",
    "Registry",
    "RunContext",
    "RunError",
    "RunResult",
    "Sample",
    "ScoreSpec",
    "Scored",
    "Task",
    "TaskConfig",
    "__version__",
    "build_registry",
    "build_task",
    "hookimpl",
    "hookspec",
    "load_config",
    "load_task",
    "run_task",
]
