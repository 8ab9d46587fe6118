"""Task presets: `task:` fills in default metrics, checked against the registry; `rageval presets` lists them."""

from __future__ import annotations

import dataclasses
import json

import pytest
from helpers import REPO, run_cli

from rageval import cli
from rageval.config import parse_config
from rageval.context import RunContext
from rageval.errors import ConfigError
from rageval.presets import PRESETS, PresetMetric, check_preset_metrics
from rageval.runner import run_task
from rageval.sample import CANONICAL_FIELDS
from rageval.task import configure_metrics, load_task

BASE = {"name": "t", "dataset": {"path": "data.jsonl"}}
TASKS = ["translation", "asr", "rag", "qa", "retrieval", "classification", "regression", "language-modeling"]


def config_error(raw):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_every_task_of_the_issue_has_a_preset():
    assert list(PRESETS) == TASKS
    for preset in PRESETS.values():
        assert preset.metrics and preset.why.endswith(".")
        assert set(preset.fields) | set(preset.optional_fields) <= set(CANONICAL_FIELDS)
        labels = [metric.label for metric in preset.metrics]
        assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("name", TASKS)
def test_registered_presets_declare_exactly_the_fields_their_metrics_read(name, registry):
    preset = PRESETS[name]
    if preset.missing_metrics(registry.names()):
        pytest.skip(f"metrics of {name!r} not registered yet: {preset.missing_metrics(registry.names())}")
    infos = [registry.get(metric.name).info for metric in preset.metrics]
    required = {fld for info in infos for fld in info.fields}
    alternatives = [set(group) for info in infos for group in info.any_of]
    assert required <= set(preset.fields)
    assert all(group & set(preset.fields) for group in alternatives)
    assert set(preset.fields) <= required | set().union(*alternatives)


@pytest.mark.parametrize("name", TASKS)
def test_a_task_without_metrics_gets_the_preset_metrics(name, registry):
    config = parse_config({**BASE, "task": name})
    assert config.task == name
    assert [m.model_dump(by_alias=True, exclude_defaults=True) for m in config.metrics] == PRESETS[name].entries()
    missing = PRESETS[name].missing_metrics(registry.names())
    if missing:
        with pytest.raises(ConfigError, match=f"task: preset {name!r} needs metric"):
            check_preset_metrics(config.task, [m.name for m in config.metrics], registry.names())
        return
    check_preset_metrics(config.task, [m.name for m in config.metrics], registry.names())
    configured = configure_metrics(config, registry, RunContext())
    assert [m.alias for m in configured] == [m.label for m in PRESETS[name].metrics]


def test_metrics_given_beside_a_task_are_used_as_written():
    config = parse_config({**BASE, "task": "qa", "metrics": ["rouge"]})
    assert config.task == "qa" and [m.name for m in config.metrics] == ["rouge"]
    check_preset_metrics("qa", ["rouge"], [])  # the preset's own metrics are not needed


def test_neither_metrics_nor_task_is_one_error_line():
    message = config_error(BASE)
    assert message == (
        "config: metrics: required key is missing; list metrics, or set task: to a preset "
        "(translation, asr, rag, qa, retrieval, classification, regression, language-modeling)"
    )
    assert config_error({**BASE, "metrics": None, "task": None}) == message


def test_unknown_task_suggests_the_close_preset():
    message = config_error({**BASE, "task": "retreival"})
    assert message.startswith("config: task: 'retreival' is not allowed; did you mean 'retrieval'?")
    assert "(and" not in message


@pytest.mark.parametrize("value", [["qa"], 3, {"name": "qa"}])
def test_task_that_is_not_a_name_is_one_error(value):
    assert config_error({**BASE, "task": value}).startswith("config: task: ")


def test_a_preset_whose_metric_is_not_registered_names_it():
    names = [m.name for m in PRESETS["translation"].metrics]
    with pytest.raises(ConfigError) as caught:
        check_preset_metrics("translation", names, ["bleu", "chrf"])
    assert str(caught.value) == (
        "task: preset 'translation' needs metric 'ter', which no loaded plugin registers: "
        "install a plugin that provides it, or list metrics: yourself"
    )


def test_the_command_line_reports_a_missing_preset_metric(monkeypatch, tmp_path, capsys):
    patched = dataclasses.replace(PRESETS["regression"], metrics=(PresetMetric("mae"), PresetMetric("no_such_metric")))
    monkeypatch.setitem(PRESETS, "regression", patched)
    (tmp_path / "data.jsonl").write_text('{"label": 1, "prediction": 2}\n', encoding="utf-8")
    (tmp_path / "c.yaml").write_text("name: t\ntask: regression\ndataset: {path: data.jsonl}\n", encoding="utf-8")
    assert cli.main(["validate", str(tmp_path / "c.yaml"), "--no-plugins"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rageval: error: task: preset 'regression' needs metric 'no_such_metric'")


def test_presets_command_lists_metrics_fields_and_reasons():
    done = run_cli("presets", "--json", "--no-plugins")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert [e["task"] for e in entries] == TASKS
    retrieval = entries[TASKS.index("retrieval")]
    assert {"name": "ndcg_at_k", "as": "ndcg@10", "params": {"k": 10}} in retrieval["metrics"]
    assert retrieval["fields"] == ["retrieved_ids", "relevant_ids"] and retrieval["missing_metrics"] == []
    assert all(e["why"] for e in entries)


def test_presets_table_names_every_preset(capsys):
    assert cli.main(["presets", "--no-plugins"]) == 0
    out = capsys.readouterr().out
    for name in TASKS:
        assert name in out


@pytest.mark.parametrize(
    ("config", "scores"),
    [
        ("qa.yaml", ["exact_match", "token_f1", "rouge.rouge1", "rouge.rouge2", "rouge.rougeL", "rouge.rougeLsum"]),
        ("retrieval.yaml", ["ndcg@5", "ndcg@10", "recall@5", "recall@10", "precision@5", "hit_rate@1", "mrr"]),
        ("regression.yaml", ["rmse", "mae", "r2"]),
    ],
)
def test_example_configs_run_without_sample_errors(config, scores, registry, tmp_path):
    task = load_task(REPO / "configs" / config, registry, ["bootstrap.resamples=0"])
    result = run_task(task, tmp_path / "out")
    metrics = result.aggregate["metrics"]
    assert list(metrics) == scores
    assert result.aggregate["n_samples"] >= 30
    for entry in metrics.values():
        assert entry["n_errors"] == 0 and entry["value"] is not None
