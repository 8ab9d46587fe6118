"""The exceptions rageval raises for problems a user can fix.

::

    RagevalError              one line naming what to fix; exit code 1 unless a subclass says 2
    ├── ConfigError           the task config or a command-line option is wrong      (exit 2)
    ├── DataError             the dataset is missing, malformed or lacks a column    (exit 2)
    ├── PluginError           a plugin failed to load or breaks the metric contract  (exit 2)
    └── RunError              a run started and could not finish                     (exit 1)

The library raises these; only :mod:`rageval.cli` turns them into exit codes.
A problem with one sample is never an exception that escapes a run: it becomes an
error in that sample's row (see :class:`rageval.metric.InvalidSample`).
"""

from __future__ import annotations


class RagevalError(Exception):
    """Base class of every error a user can cause."""

    exit_code = 1


class ConfigError(RagevalError):
    """The task config, a ``--set`` override or a command-line option is invalid."""

    exit_code = 2


class DataError(RagevalError):
    """The dataset cannot be read or does not fit the config."""

    exit_code = 2


class PluginError(RagevalError):
    """A plugin could not be loaded, or what it registers breaks the contract."""

    exit_code = 2


class RunError(RagevalError):
    """A run that had started failed (an unwritable output folder, say)."""

    exit_code = 1
