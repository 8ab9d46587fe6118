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

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from rageval.metric import Metric

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
