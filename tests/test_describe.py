"""``rageval describe METRIC``: fields, parameters with types and defaults, scores, signature, plugin, version."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from helpers import run_cli
from pydantic import Field

from rageval.metric import Metric, MetricInfo, MetricParams
from rageval.plugins import describe_metric, describe_params, describe_type
from rageval.registry import RegisteredMetric, build_registry


def test_describe_bleu_as_json():
    result = run_cli("describe", "bleu", "--json")
    assert result.returncode == 0, result.stderr
    described = json.loads(result.stdout)
    assert described["name"] == "bleu"
    assert described["plugin"] == "rageval" and described["plugin_version"] == "0.1.0"
    assert described["fields"] == ["prediction", "references"]
    assert described["higher_is_better"] is True
    assert described["scores"] == [{"name": "bleu", "higher_is_better": True, "description": described["description"]}]
    params = {p["name"]: p for p in described["parameters"]}
    assert params["tokenize"]["type"] == "string" and params["tokenize"]["default"] == "13a"
    assert "intl" in params["tokenize"]["allowed"]
    assert params["max_ngram_order"] == {
        "name": "max_ngram_order",
        "type": "integer",
        "required": False,
        "default": 4,
        "allowed": None,
        "constraints": [">= 1", "<= 9"],
        "description": "highest n-gram order",
    }
    assert params["smooth_value"]["type"] == "number or null" and params["smooth_value"]["default"] is None
    assert described["signature"].startswith("bleu|case:mixed|eff:no|tok:13a|smooth:exp|sacrebleu:")
    assert described["citation"].startswith("Papineni")


def test_describe_a_plugin_metric_as_text():
    result = run_cli("describe", "citation_presence")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("citation_presence: Share of answers that cite")
    assert "  plugin: rageval-checks 0.1.0" in lines
    assert "  fields: prediction, retrieved_ids" in lines
    assert "  higher is better: yes" in lines
    assert (
        "    citation_presence.valid (higher is better): share of citations that name a retrieved id, over all citations"
        in lines
    )
    assert any(line.startswith("    positions (boolean; default true): ") for line in lines)
    assert any(
        line.startswith("  signature: citation_presence|pattern:") and "rageval-checks:0.1.0" in line for line in lines
    )


def test_describe_a_metric_with_a_required_parameter():
    described = json.loads(run_cli("describe", "regex_match", "--json").stdout)
    pattern = next(p for p in described["parameters"] if p["name"] == "pattern")
    assert pattern["required"] is True and pattern["default"] is None
    assert described["signature"] == "(depends on the required parameters: pattern)"
    text = run_cli("describe", "regex_match").stdout
    assert "    pattern (string; required): a Python regular expression" in text
    assert '    expect (string; default "match"; one of "match", "no_match"): ' in text


def test_unknown_metric_suggests_and_exits_2():
    result = run_cli("describe", "blue")
    assert result.returncode == 2
    assert result.stderr.startswith("rageval: error: unknown metric 'blue'; did you mean 'bleu'?")
    assert run_cli("describe").returncode == 2


def test_describe_without_plugins_does_not_know_plugin_metrics():
    result = run_cli("describe", "readability", "--no-plugins")
    assert result.returncode == 2 and "unknown metric 'readability'" in result.stderr


@pytest.mark.parametrize(
    ("annotation", "words"),
    [
        (int, "integer"),
        (float | None, "number or null"),
        (list[str], "list of string"),
        (dict[str, float], "mapping of string to number"),
        (Literal["a", "b"], "string"),
        (Literal["a", 1] | None, "string or integer or null"),
        (list[int | str] | None, "list of integer or string or null"),
        (bool, "boolean"),
    ],
)
def test_types_in_words(annotation, words):
    assert describe_type(annotation) == words


class Params(MetricParams):
    mode: Literal["fast", "exact"] | None = Field(None, description="how")
    weights: list[float] = Field(default_factory=lambda: [0.5, 0.5], description="per part")
    name: str = Field(min_length=2)


class Described(Metric):
    info = MetricInfo(
        name="described",
        description="d",
        fields=("prediction",),
        higher_is_better=False,
        params=Params,
        examples=({"prediction": "x"},),
    )


def test_described_parameters_call_default_factories_and_list_literals_inside_optionals():
    params = {p["name"]: p for p in describe_params(Params)}
    assert params["mode"]["allowed"] == ["fast", "exact"] and params["mode"]["type"] == "string or null"
    assert params["weights"]["default"] == [0.5, 0.5]
    assert params["name"]["required"] is True and params["name"]["constraints"] == ["length >= 2"]
    described = describe_metric(RegisteredMetric(Described, "mine", None))
    assert described["examples"] == [{"prediction": "x"}]
    assert described["signature"] == "(depends on the required parameters: name)"


def test_signature_that_fails_is_reported_not_raised():
    class Broken(Metric):
        info = MetricInfo(name="broken", description="b", fields=("prediction",), higher_is_better=True)

        def signature(self):
            raise RuntimeError("model revision unknown offline")

    described = describe_metric(RegisteredMetric(Broken, "mine", None))
    assert described["signature"] == "(unavailable: RuntimeError: model revision unknown offline)"


def test_every_registered_metric_can_be_described():
    for entry in build_registry():
        described = describe_metric(entry)
        json.dumps(described)
        assert described["scores"] and described["plugin"]
