"""The public names are exactly the documented ones, and each exists."""

import rageval

EXPECTED = {
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
}


def test_public_names():
    assert set(rageval.__all__) == EXPECTED
    for name in rageval.__all__:
        assert hasattr(rageval, name), name


def test_exception_tree_and_exit_codes():
    for cls in (rageval.ConfigError, rageval.DataError, rageval.PluginError, rageval.RunError):
        assert issubclass(cls, rageval.RagevalError)
    assert rageval.ConfigError.exit_code == rageval.DataError.exit_code == rageval.PluginError.exit_code == 2
    assert rageval.RunError.exit_code == 1


def test_version_matches_distribution():
    from importlib.metadata import version

    assert rageval.__version__ == version("rageval")
