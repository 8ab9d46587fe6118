"""The pluggy registry: built fresh, built-ins through the same hook as plugins, checked at registration."""

from __future__ import annotations

import types

import pytest

import rageval
from rageval.errors import ConfigError, PluginError
from rageval.metric import Metric, MetricInfo
from rageval.metrics import BUILTIN_PLUGINS
from rageval.registry import build_registry


class Echo(Metric):
    info = MetricInfo(name="echo", description="1 for every sample", fields=("prediction",), higher_is_better=True)

    def sample_statistics(self, sample):
        return (1.0,)

    def scores_from_totals(self, totals):
        return {"": float(totals[0])}


def plugin(*classes, name="thirdparty"):
    module = types.ModuleType(name)

    @rageval.hookimpl
    def rageval_metrics():
        return list(classes)

    module.rageval_metrics = rageval_metrics
    return module


def test_builtins_register_through_the_plugin_hook():
    registry = build_registry(entry_points=False)
    assert {"bleu", "chrf", "ter", "wer", "cer", "mer", "wil"} <= set(registry.names())
    assert registry.entry("bleu").plugin == "rageval"
    registered = registry.plugin_manager.get_plugins()
    assert {m.__name__ for m in registered} >= set(BUILTIN_PLUGINS)


def test_each_build_is_a_fresh_registry():
    with_plugin = build_registry(entry_points=False, plugins=[plugin(Echo)])
    without = build_registry(entry_points=False)
    assert "echo" in with_plugin and "echo" not in without


def test_third_party_plugin_metric_is_usable():
    registry = build_registry(entry_points=False, plugins=[plugin(Echo)])
    assert registry.get("echo") is Echo
    assert registry.entry("echo").plugin == "thirdparty"


def test_duplicate_name_names_both_plugins():
    class FakeBleu(Echo):
        info = MetricInfo(name="bleu", description="x", fields=("prediction",), higher_is_better=True)

    with pytest.raises(
        PluginError, match="metric 'bleu' is registered twice: by plugin 'rageval'.*by plugin 'thirdparty'"
    ):
        build_registry(entry_points=False, plugins=[plugin(FakeBleu)])


def test_unknown_metric_suggests_close_names():
    with pytest.raises(ConfigError, match="unknown metric 'blue'; did you mean 'bleu'"):
        build_registry(entry_points=False).get("blue")


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (["not a class"], "is not a rageval.Metric subclass"),
        ([dict], "is not a rageval.Metric subclass"),
    ],
)
def test_broken_contributions_name_the_plugin(returned, message):
    module = types.ModuleType("broken")

    @rageval.hookimpl
    def rageval_metrics():
        return returned

    module.rageval_metrics = rageval_metrics
    with pytest.raises(PluginError, match=f"plugin 'broken': .*{message}"):
        build_registry(entry_points=False, plugins=[module])


def test_metric_asking_for_an_unknown_field_is_rejected():
    class Odd(Echo):
        info = MetricInfo(name="odd", description="x", fields=("hypothesis",), higher_is_better=True)

    with pytest.raises(PluginError, match="plugin 'thirdparty': metric 'odd' asks for unknown fields"):
        build_registry(entry_points=False, plugins=[plugin(Odd)])


def test_metric_without_info_is_rejected():
    class NoInfo(Metric):
        pass

    with pytest.raises(PluginError, match="has no rageval.MetricInfo"):
        build_registry(entry_points=False, plugins=[plugin(NoInfo)])


def test_hook_with_unknown_argument_is_rejected_at_registration():
    module = types.ModuleType("badhook")

    @rageval.hookimpl
    def rageval_metrics(unexpected):
        return []

    module.rageval_metrics = rageval_metrics
    with pytest.raises(PluginError, match="plugin 'badhook'"):
        build_registry(entry_points=False, plugins=[module])


def test_hook_that_raises_names_the_plugin():
    module = types.ModuleType("explodes")

    @rageval.hookimpl
    def rageval_metrics():
        raise RuntimeError("boom")

    module.rageval_metrics = rageval_metrics
    with pytest.raises(PluginError, match="plugin 'explodes': rageval_metrics raised RuntimeError: boom"):
        build_registry(entry_points=False, plugins=[module])


def test_importing_rageval_registers_nothing_and_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, rageval; print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
