"""The metric registry: built on request from plugins, never filled at import time.

:func:`build_registry` makes a fresh pluggy ``PluginManager``, registers the built-in plugin
modules and, unless told not to, the entry points of the group ``rageval`` (installed
third-party plugins), then collects every ``rageval_metrics`` hook result and checks it.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy
from pydantic import BaseModel

from rageval import hookspecs
from rageval.errors import ConfigError, PluginError
from rageval.metric import Metric, MetricInfo, distribution_version
from rageval.sample import CANONICAL_FIELDS

BUILTIN_PLUGIN_NAME = "rageval"


@dataclass(frozen=True)
class RegisteredMetric:
    """A metric class and the plugin that contributed it."""

    cls: type[Metric]
    plugin: str
    plugin_version: str | None = None

    @property
    def info(self) -> MetricInfo:
        return self.cls.info


@dataclass(frozen=True)
class RegisteredExtension:
    """A dataset loader or report writer and the plugin that contributed it."""

    name: str
    function: Callable[..., Any]
    plugin: str
    plugin_version: str | None = None


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A ``did you mean`` phrase for a mistyped name, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def check_metric_class(cls: Any, plugin: str) -> None:
    """Raise :class:`PluginError` naming ``plugin`` when ``cls`` breaks the metric contract."""
    where = f"plugin {plugin!r}"
    if not (inspect.isclass(cls) and issubclass(cls, Metric)):
        raise PluginError(f"{where}: rageval_metrics returned {cls!r}, which is not a rageval.Metric subclass")
    info = getattr(cls, "info", None)
    if not isinstance(info, MetricInfo):
        raise PluginError(f"{where}: metric class {cls.__name__} has no rageval.MetricInfo in its 'info' attribute")
    if not info.name or not info.name.replace("_", "").replace("-", "").isalnum():
        raise PluginError(f"{where}: metric name {info.name!r} must be letters, digits, '_' or '-'")
    unknown = [f for f in (*info.fields, *(f for group in info.any_of for f in group)) if f not in CANONICAL_FIELDS]
    if unknown:
        raise PluginError(
            f"{where}: metric {info.name!r} asks for unknown fields {unknown}; canonical fields: {', '.join(CANONICAL_FIELDS)}"
        )
    if not (inspect.isclass(info.params) and issubclass(info.params, BaseModel)):
        raise PluginError(f"{where}: metric {info.name!r} params must be a pydantic model class")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise PluginError(f"{where}: metric {info.name!r} leaves abstract methods unimplemented: {missing}")
    keys = [spec.key for spec in info.score_specs()]
    if len(set(keys)) != len(keys):
        raise PluginError(f"{where}: metric {info.name!r} declares the same score key twice: {keys}")


class Registry:
    """Metrics by name, with the plugin each came from. Read-only once built."""

    def __init__(
        self,
        plugin_manager: pluggy.PluginManager,
        metrics: dict[str, RegisteredMetric],
        loaders: Mapping[str, RegisteredExtension] | None = None,
        writers: Mapping[str, RegisteredExtension] | None = None,
    ):
        self.plugin_manager = plugin_manager
        self._metrics = dict(metrics)
        self.loaders: Mapping[str, RegisteredExtension] = dict(loaders or {})
        """Dataset loaders from ``rageval_dataset_loaders``, by format name."""
        self.writers: Mapping[str, RegisteredExtension] = dict(writers or {})
        """Report writers from ``rageval_report_writers``, by name."""
        self.build_options: dict[str, Any] = {}
        """The :func:`build_registry` arguments this registry was built with."""

    def __contains__(self, name: object) -> bool:
        return name in self._metrics

    def __iter__(self) -> Iterator[RegisteredMetric]:
        return iter(self._metrics[name] for name in sorted(self._metrics))

    def __len__(self) -> int:
        return len(self._metrics)

    def names(self) -> list[str]:
        return sorted(self._metrics)

    def entry(self, name: str) -> RegisteredMetric:
        try:
            return self._metrics[name]
        except KeyError:
            raise ConfigError(
                f"unknown metric {name!r}{suggest(name, self._metrics)} Available: {', '.join(self.names())}"
            ) from None

    def get(self, name: str) -> type[Metric]:
        """The metric class registered as ``name``; unknown names suggest close ones."""
        return self.entry(name).cls

    def with_plugins(self, named_plugins: Mapping[str, object]) -> Registry:
        """This registry plus ``named_plugins`` (name -> module), built anew; ``self`` if all are in it."""
        if all(self.plugin_manager.is_registered(plugin) for plugin in named_plugins.values()):
            return self
        options = dict(self.build_options) or {"entry_points": True}
        merged = {**options.get("named_plugins", {}), **named_plugins}
        return build_registry(**{**options, "named_plugins": merged})


def _plugin_label(pm: pluggy.PluginManager, plugin: object) -> tuple[str, str | None]:
    for candidate, dist in pm.list_plugin_distinfo():
        if candidate is plugin:
            return dist.project_name, dist.version
    name = pm.get_name(plugin) or repr(plugin)
    return name, None


def builtin_plugin_modules() -> list[ModuleType]:
    from rageval.metrics import BUILTIN_PLUGINS

    return [importlib.import_module(name) for name in BUILTIN_PLUGINS]


def build_registry(
    *,
    entry_points: bool = True,
    plugins: Iterable[object] = (),
    builtins: bool = True,
    named_plugins: Mapping[str, object] | None = None,
) -> Registry:
    """Build a registry from the built-in plugins, installed entry points and ``plugins``.

    ``entry_points=False`` turns off autoloading of installed plugins (as pytest's
    ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``); ``plugins`` are extra plugin objects or modules;
    ``named_plugins`` are registered under the given names (a local plugin under the path
    its config wrote), which errors and ``rageval metrics`` show.
    """
    plugins = list(plugins)
    named_plugins = dict(named_plugins or {})
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if builtins:
        for module in builtin_plugin_modules():
            pm.register(module, name=f"{BUILTIN_PLUGIN_NAME}:{module.__name__.rsplit('.', 1)[-1]}")
    if entry_points:
        try:
            pm.load_setuptools_entrypoints(hookspecs.PROJECT)
        except Exception as exc:  # a broken third-party plugin must name itself
            raise PluginError(f"an installed rageval plugin failed to load: {type(exc).__name__}: {exc}") from exc
    for plugin in plugins:
        _register(pm, plugin)
    for name, plugin in named_plugins.items():
        if not pm.is_registered(plugin):
            _register(pm, plugin, name)
    _check_hook_names(pm)
    registry = Registry(pm, _collect(pm), *_collect_extensions(pm))
    registry.build_options = {
        "entry_points": entry_points,
        "plugins": plugins,
        "builtins": builtins,
        "named_plugins": named_plugins,
    }
    return registry


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None = None) -> None:
    name = name or getattr(plugin, "__name__", None) or repr(plugin)
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise PluginError(f"plugin {name!r}: {detail}") from exc
    except ValueError as exc:
        raise PluginError(f"plugin {name!r} is registered twice: {exc}") from exc


def _collect(pm: pluggy.PluginManager) -> dict[str, RegisteredMetric]:
    metrics: dict[str, RegisteredMetric] = {}
    for impl in pm.hook.rageval_metrics.get_hookimpls():
        label, version = _plugin_label(pm, impl.plugin)
        if label.startswith(f"{BUILTIN_PLUGIN_NAME}:"):
            label, version = BUILTIN_PLUGIN_NAME, distribution_version("rageval")
        try:
            classes = impl.function()
        except Exception as exc:
            raise PluginError(f"plugin {label!r}: rageval_metrics raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(classes, (list, tuple)):
            raise PluginError(f"plugin {label!r}: rageval_metrics must return a list of metric classes")
        for cls in classes:
            check_metric_class(cls, label)
            name = cls.info.name
            if name in metrics:
                raise PluginError(
                    f"metric {name!r} is registered twice: by plugin {metrics[name].plugin!r} "
                    f"({metrics[name].cls.__module__}) and by plugin {label!r} ({cls.__module__})"
                )
            metrics[name] = RegisteredMetric(cls, label, version)
    return metrics


def _check_hook_names(pm: pluggy.PluginManager) -> None:
    """A hook implementation with no hookspec (a misspelt hook name) is an error naming its plugin."""
    known = [name for name in dir(hookspecs) if name.startswith(f"{hookspecs.PROJECT}_")]
    for name, caller in vars(pm.hook).items():
        if name.startswith("_") or caller.spec is not None:
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            label, _ = _plugin_label(pm, impl.plugin)
            raise PluginError(
                f"plugin {label!r}: unknown hook {name!r}{suggest(name, known)} Hooks: {', '.join(known)}"
            )


EXTENSION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _collect_extensions(
    pm: pluggy.PluginManager,
) -> tuple[dict[str, RegisteredExtension], dict[str, RegisteredExtension]]:
    from rageval.data import BUILTIN_FORMATS

    loaders = _collect_named(pm, "rageval_dataset_loaders", "dataset loader", reserved=BUILTIN_FORMATS)
    writers = _collect_named(pm, "rageval_report_writers", "report writer", reserved=())
    return loaders, writers


def _collect_named(
    pm: pluggy.PluginManager, hook: str, what: str, reserved: Iterable[str]
) -> dict[str, RegisteredExtension]:
    found: dict[str, RegisteredExtension] = {}
    reserved = set(reserved)
    for impl in getattr(pm.hook, hook).get_hookimpls():
        label, version = _plugin_label(pm, impl.plugin)
        if label.startswith(f"{BUILTIN_PLUGIN_NAME}:"):
            label, version = BUILTIN_PLUGIN_NAME, distribution_version("rageval")
        try:
            returned = impl.function()
        except Exception as exc:
            raise PluginError(f"plugin {label!r}: {hook} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(returned, Mapping):
            raise PluginError(f"plugin {label!r}: {hook} must return a dict of name -> function")
        for name, function in returned.items():
            if not isinstance(name, str) or not EXTENSION_NAME.match(name):
                raise PluginError(
                    f"plugin {label!r}: {what} name {name!r} must be lowercase letters, digits, '-' or '_'"
                )
            if not callable(function):
                raise PluginError(f"plugin {label!r}: {what} {name!r} is {function!r}, not a function")
            if name in reserved:
                raise PluginError(f"plugin {label!r}: {what} {name!r} would replace the built-in format of that name")
            if name in found:
                raise PluginError(
                    f"{what} {name!r} is registered twice: by plugin {found[name].plugin!r} and by plugin {label!r}"
                )
            found[name] = RegisteredExtension(name, function, label, version)
    return found
