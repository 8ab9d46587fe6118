"""Strict task configs: every mistake is one line naming the YAML path, the value and what is allowed."""

from __future__ import annotations

import pytest

from rageval.config import apply_override, load_config, parse_config
from rageval.errors import ConfigError
from rageval.task import build_task

BASE = {"name": "t", "dataset": {"path": "data.jsonl"}, "metrics": ["bleu"]}


def config(**changes):
    raw = {**BASE, **changes}
    return parse_config(raw)


def error_of(raw, registry=None, tmp_path=None):
    with pytest.raises(ConfigError) as caught:
        parsed = parse_config(raw)
        if registry is not None:
            build_task(parsed, registry, tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_metric_names_and_entries_are_both_accepted():
    parsed = config(metrics=["bleu", {"name": "chrf", "as": "chrf++", "params": {"word_order": 2}}])
    assert [m.alias for m in parsed.metrics] == ["bleu", "chrf++"]
    assert parsed.bootstrap.resamples == 1000 and parsed.bootstrap.seed == 0
    assert parsed.batch_size == 256


def test_unknown_top_level_key_suggests_the_close_one():
    message = error_of({**BASE, "batchsize": 8})
    assert message.startswith("config: batchsize: unknown key; did you mean 'batch_size'?")
    assert "Allowed keys: name, dataset, metrics" in message


def test_unknown_nested_key_names_its_path():
    message = error_of({**BASE, "dataset": {"path": "x", "colums": {}}})
    assert "dataset.colums: unknown key; did you mean 'columns'?" in message


def test_unknown_canonical_field_in_columns():
    message = error_of({**BASE, "dataset": {"path": "x", "columns": {"predicton": "hyp"}}})
    assert "dataset.columns.predicton: 'predicton' is not allowed; did you mean 'prediction'?" in message


def test_missing_required_key():
    assert "dataset: required key is missing" in error_of({"name": "t", "metrics": ["bleu"]})


def test_wrong_type_names_the_value():
    message = error_of({**BASE, "batch_size": "many"})
    assert message.startswith("config: batch_size:") and "'many'" in message


def test_unknown_metric_suggests_and_lists_available(registry, tmp_path):
    message = error_of({**BASE, "metrics": ["bleu", "chfr"]}, registry, tmp_path)
    assert message.startswith("metrics[1].name: unknown metric 'chfr'; did you mean 'chrf'?")
    assert "Available: " in message and "wer" in message


def test_bad_parameter_value_names_path_value_and_allowed_values(registry, tmp_path):
    raw = {**BASE, "metrics": ["chrf", {"name": "bleu", "params": {"tokenize": "13b"}}]}
    message = error_of(raw, registry, tmp_path)
    assert message.startswith("metrics[1].params.tokenize: '13b' is not allowed; did you mean '13a'?")
    assert "'intl'" in message and "'char'" in message


def test_unknown_parameter_lists_the_metric_parameters(registry, tmp_path):
    raw = {**BASE, "metrics": [{"name": "bleu", "params": {"lowercased": True}}]}
    message = error_of(raw, registry, tmp_path)
    assert message.startswith("metrics[0].params.lowercased: unknown key; did you mean 'lowercase'?")


def test_out_of_range_parameter(registry, tmp_path):
    raw = {**BASE, "metrics": [{"name": "chrf", "params": {"char_order": 0}}]}
    assert error_of(raw, registry, tmp_path).startswith("metrics[0].params.char_order: Input should be greater")


def test_two_metrics_reporting_the_same_name_need_as(registry, tmp_path):
    raw = {**BASE, "metrics": ["chrf", {"name": "chrf", "params": {"word_order": 2}}]}
    message = error_of(raw, registry, tmp_path)
    assert "score 'chrf' is already reported by metrics[0]" in message and "'as:'" in message


def test_overrides_are_data_and_reach_lists(tmp_path):
    raw = {**BASE, "metrics": ["bleu"]}
    apply_override(raw, "metrics.0.params.tokenize=intl")
    apply_override(raw, "batch_size=8")
    apply_override(raw, "dataset.limit=5")
    apply_override(raw, "name=[1, 2]")
    with pytest.raises(ConfigError, match="name: Input should be a valid string"):
        parse_config(raw)
    apply_override(raw, "name=run 2")
    parsed = parse_config(raw)
    assert parsed.metrics[0].params == {"tokenize": "intl"}
    assert parsed.batch_size == 8 and parsed.dataset.limit == 5


def test_override_values_are_never_constructed_as_objects():
    with pytest.raises(ConfigError, match="value is not valid YAML: could not determine a constructor"):
        apply_override({}, "name=!!python/object/apply:os.system ['echo hacked']")


def test_override_without_equals_sign():
    with pytest.raises(ConfigError, match="expected dotted.key=value"):
        apply_override({}, "batch_size")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "invalid YAML"),
        ("name: a\nname: b\n", "duplicate key 'name' at line 2"),
        ("!!python/object/apply:os.system ['echo hacked']\n", "invalid YAML"),
        ("- just\n- a list\n", "the top level must be a mapping"),
    ],
)
def test_yaml_problems_are_one_line(tmp_path, text, expected):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
