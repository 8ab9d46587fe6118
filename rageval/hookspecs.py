"""The hooks a rageval plugin implements: the whole plugin contract in one module.

A plugin is any object or module with functions marked ``@rageval.hookimpl`` whose names
are hooks below. Built-in metrics are plugins too: :mod:`rageval.registry` registers the
modules in :data:`rageval.metrics.BUILTIN_PLUGINS` through the same ``register()`` call that
third-party plugins, found through the entry-point group ``rageval``, go through.

Example (a module named in a distribution's ``[project.entry-points.rageval]`` table)::

    import rageval

    class LengthRatio(rageval.Metric):
        info = rageval.MetricInfo(name="length_ratio", ...)
        ...

    @rageval.hookimpl
    def rageval_metrics():
        return [LengthRatio]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from rageval.config import DatasetConfig
    from rageval.metric import Metric

DatasetLoader = Callable[[Path, "DatasetConfig"], Iterable[tuple[int, dict[str, Any]]]]
"""Reads the file or folder at a path into ``(position, row)`` pairs, position counting from 1."""

ReportWriter = Callable[[Path, dict[str, Any]], None]
"""Writes a report into a run's output folder, given the folder and the aggregate."""

PROJECT = "rageval"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def rageval_metrics() -> list[type[Metric]]:
    """Return the metric classes this plugin contributes.

    Each class subclasses :class:`rageval.Metric` and carries a :class:`rageval.MetricInfo`
    whose ``name`` is unique across all installed plugins. Classes are checked when the
    registry is built; a class that breaks the contract is an error naming the plugin.
    """


@hookspec
def rageval_dataset_loaders() -> dict[str, DatasetLoader]:
    """Return dataset formats this plugin reads, as ``{format name: loader}``.

    A config picks a format with ``dataset.format: NAME``; without it, a file whose extension
    is ``.NAME`` goes to the loader of that name. The loader gets the resolved path (a file or
    a folder) and the dataset config, and yields ``(position, row)`` pairs: ``position`` (from 1)
    is how errors point at a record, ``row`` a mapping of column name to value. Dotted column
    names are fine; ``dataset.columns`` maps canonical fields to them.

    Names are lowercase letters, digits, ``-`` and ``_``, and may not be a built-in format
    (jsonl, json, csv, tsv, parquet) or another plugin's. A loader that raises anything but a
    :class:`rageval.DataError` is reported as a failure of the plugin, by name.
    """


@hookspec
def rageval_report_writers() -> dict[str, ReportWriter]:
    """Return report writers this plugin offers, as ``{writer name: writer}``.

    A config turns writers on with ``reports: [NAME, ...]``; none runs unless named. A writer
    is called after ``samples.jsonl`` and ``aggregate.json`` are in the output folder, with the
    folder and the aggregate (the content of aggregate.json), and writes its own files there.
    A writer that raises fails the run with an error naming the writer and its plugin.
    """
