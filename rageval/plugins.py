"""Plugins from a user's side: the local plugin modules a config names, and what a metric declares.

A config's ``plugins:`` list names the user's own code: a ``.py`` file (relative to the
config's folder) or a dotted module name importable from ``sys.path``. Loading is explicit:
nothing is imported that neither a config nor an installed entry point names. Each failure
is one :class:`PluginError` line naming the plugin as the config wrote it.

:func:`describe_metric` gathers everything a metric declares (fields, parameters with types
and defaults, scores, signature, plugin and version) for ``rageval describe``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python

from rageval.errors import PluginError, RagevalError
from rageval.hookspecs import PROJECT

if TYPE_CHECKING:
    from rageval.registry import RegisteredMetric, Registry

_MARKER = f"{PROJECT}_impl"


def _is_plugin_code(filename: str) -> bool:
    """Not importlib's machinery nor this module: the frames a plugin author can act on."""
    machinery = Path(importlib.__file__).parent
    return not filename.startswith("<") and filename != __file__ and machinery not in Path(filename).parents


def _error_text(exc: BaseException, path: Path | None = None) -> str:
    """``Type: message (file, line N)``: the line in the plugin's code (``path`` when given) that failed."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({Path(exc.filename or '?').name}, line {exc.lineno})"
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if (Path(frame.filename) == path if path else _is_plugin_code(frame.filename))
    ]
    where = f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    return f"rageval_local_plugin_{stem}_{digest}"


def _import_file(spec_text: str, path: Path, where: str) -> types.ModuleType:
    if not path.is_file():
        raise PluginError(f"{where}: plugin file not found: {path}")
    name = _module_name(path)
    cached = sys.modules.get(name)
    if cached is not None and getattr(cached, "__file__", None) == str(path):
        return cached
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{where}: plugin {spec_text!r} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        del sys.modules[name]
        raise PluginError(f"{where}: plugin {spec_text!r} failed to import: {_error_text(exc, path)}") from exc
    return module


def _import_dotted(spec_text: str, where: str) -> types.ModuleType:
    if not all(part.isidentifier() for part in spec_text.split(".")):
        raise PluginError(f"{where}: {spec_text!r} is neither a .py file nor a dotted module name")
    try:
        return importlib.import_module(spec_text)
    except (Exception, SystemExit) as exc:
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name == spec_text.split(".")[0]:
            hint = "; a file beside the config is named by its path, e.g. 'my_metrics.py'"
        raise PluginError(f"{where}: plugin {spec_text!r} failed to import: {_error_text(exc)}{hint}") from exc


def load_local_plugin(spec_text: str, base_dir: Path, where: str = "plugins") -> types.ModuleType:
    """Import one local plugin: a ``.py`` path (relative to ``base_dir``) or a dotted module name."""
    if spec_text.endswith(".py"):
        raw = Path(spec_text).expanduser()
        module = _import_file(spec_text, (raw if raw.is_absolute() else base_dir / raw).resolve(), where)
    else:
        module = _import_dotted(spec_text, where)
    if not any(hasattr(value, _MARKER) for value in vars(module).values()):
        raise PluginError(
            f"{where}: plugin {spec_text!r} defines no rageval hook; mark a function such as "
            "rageval_metrics with @rageval.hookimpl"
        )
    return module


def load_local_plugins(specs: Sequence[str], base_dir: Path) -> dict[str, types.ModuleType]:
    """The modules of a config's ``plugins:`` list, keyed by the text the config wrote."""
    return {spec: load_local_plugin(spec, base_dir, f"plugins[{position}]") for position, spec in enumerate(specs)}


def with_local_plugins(registry: Registry, specs: Sequence[str], base_dir: Path) -> Registry:
    """``registry`` plus the local plugins ``specs`` name (``registry`` itself when there are none)."""
    if not specs:
        return registry
    return registry.with_plugins(load_local_plugins(specs, base_dir))


def describe_type(annotation: Any) -> str:
    """A parameter's type in words: ``integer``, ``string or null``, ``list of string``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is Literal:
        kinds = list(dict.fromkeys(describe_type(type(value)) for value in args))
        return " or ".join(kinds)
    if origin is Union or isinstance(annotation, types.UnionType):
        return " or ".join(dict.fromkeys(describe_type(arg) for arg in args))
    if origin in (list, tuple, set, frozenset, Sequence) or (origin is not None and origin.__name__ == "Sequence"):
        return f"list of {describe_type(args[0])}" if args else "list"
    if origin in (dict, Mapping):
        return f"mapping of {describe_type(args[0])} to {describe_type(args[1])}" if args else "mapping"
    if annotation is Any:
        return "any"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "mapping", list: "list"}
    if isinstance(annotation, type):
        return names.get(annotation, annotation.__name__)
    return str(annotation)


def _allowed(annotation: Any) -> list[Any] | None:
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    values = [value for arg in get_args(annotation) for value in (_allowed(arg) or [])]
    return values or None


_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "min_length": "length >=", "max_length": "length <="}


def _constraints(metadata: Sequence[Any]) -> list[str]:
    found = []
    for item in metadata:
        for attribute, symbol in _BOUNDS.items():
            value = getattr(item, attribute, None)
            if value is not None:
                found.append(f"{symbol} {value}")
    return found


def describe_params(params: type[BaseModel]) -> list[dict[str, Any]]:
    """Each parameter of a metric: name, type, default (or required), allowed values, bounds, description."""
    described = []
    for name, info in params.model_fields.items():
        required = info.is_required()
        default = None if required else info.get_default(call_default_factory=True)
        described.append(
            {
                "name": info.alias or name,
                "type": describe_type(info.annotation),
                "required": required,
                "default": None if default is PydanticUndefined else to_jsonable_python(default, fallback=repr),
                "allowed": _allowed(info.annotation),
                "constraints": _constraints(info.metadata),
                "description": info.description or "",
            }
        )
    return described


def default_signature(entry: RegisteredMetric) -> str:
    """The signature of the metric with its default parameters, or why there is none."""
    required = [name for name, info in entry.info.params.model_fields.items() if info.is_required()]
    if required:
        return f"(depends on the required parameters: {', '.join(required)})"
    try:
        return entry.cls().signature()
    except RagevalError as exc:
        return f"(unavailable: {exc})"
    except Exception as exc:
        return f"(unavailable: {type(exc).__name__}: {exc})"


def describe_metric(entry: RegisteredMetric) -> dict[str, Any]:
    """Everything a registered metric declares, as JSON-ready data."""
    info = entry.info
    return {
        "name": info.name,
        "description": info.description,
        "plugin": entry.plugin,
        "plugin_version": entry.plugin_version,
        "fields": list(info.fields),
        "any_of": [list(group) for group in getattr(info, "any_of", ())],
        "higher_is_better": info.higher_is_better,
        "scores": [
            {
                "name": f"{info.name}.{spec.key}" if spec.key else info.name,
                "higher_is_better": spec.higher_is_better,
                "description": spec.description,
            }
            for spec in info.score_specs()
        ],
        "parameters": describe_params(info.params),
        "signature": default_signature(entry),
        "libraries": list(info.libraries),
        "citation": info.citation,
        "examples": to_jsonable_python(list(getattr(info, "examples", ())), fallback=repr),
    }
