"""Slices: every metric per metadata value, each slice's corpus score exact on that slice's rows."""

from __future__ import annotations

import json

import jiwer
import pytest
import sacrebleu
from helpers import run_cli, write_jsonl

from rageval.config import parse_config
from rageval.errors import ConfigError, DataError
from rageval.runner import run_task
from rageval.task import build_task

ROWS = [
    {"id": "a", "hyp": "the cat sat on the mat", "refs": ["the cat is on the mat"], "lang": "en", "kind": "q", "n": 1},
    {"id": "b", "hyp": "a quick brown fox", "refs": ["the quick brown fox"], "lang": "en", "kind": "s", "n": 2},
    {"id": "c", "hyp": "hallo welt wie geht", "refs": ["hallo welt wie geht es"], "lang": "de", "kind": "q", "n": 1},
    {"id": "d", "hyp": "ein kleiner test hier", "refs": ["ein kleiner test"], "lang": "de", "kind": "s", "n": None},
    {
        "id": "e",
        "hyp": "many words in this sentence",
        "refs": ["many words in the sentence"],
        "lang": "en",
        "kind": "q",
    },
    {"id": "f", "hyp": None, "refs": ["broken"], "lang": "fr", "kind": "q", "n": 1},
    {"id": "g", "hyp": "ça marche très bien", "refs": ["ça marche bien"], "lang": "fr", "kind": "s", "n": 2},
]


def make_task(tmp_path, registry, rows=ROWS, **changes):
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    raw = {
        "name": "slices",
        "dataset": {"path": str(data), "id_column": "id", "columns": {"prediction": "hyp", "references": "refs"}},
        "metrics": ["bleu", "wer"],
        "bootstrap": {"resamples": 100, "seed": 1},
        "group_by": ["lang", "kind"],
        **changes,
    }
    return build_task(parse_config(raw), registry, tmp_path)


def scored(rows, **where):
    return [r for r in rows if r["hyp"] is not None and all(r.get(k) == v for k, v in where.items())]


def test_a_slice_score_is_the_corpus_score_of_its_rows(tmp_path, registry):
    aggregate = run_task(make_task(tmp_path, registry), tmp_path / "out").aggregate
    slices = aggregate["slices"]
    assert list(slices) == ["lang", "kind"]
    assert sorted(slices["lang"]) == ["de", "en", "fr"]
    for column, value in [("lang", "en"), ("lang", "de"), ("lang", "fr"), ("kind", "q"), ("kind", "s")]:
        rows = scored(ROWS, **{column: value})
        bleu = slices[column][value]["bleu"]
        expected = sacrebleu.corpus_bleu([r["hyp"] for r in rows], [[r["refs"][0] for r in rows]]).score
        assert bleu["value"] == pytest.approx(expected, abs=1e-9)
        sentence = [sacrebleu.sentence_bleu(r["hyp"], r["refs"]).score for r in rows]
        assert bleu["mean"] == pytest.approx(sum(sentence) / len(sentence), abs=1e-9)
        wer = slices[column][value]["wer"]
        assert wer["value"] == pytest.approx(jiwer.wer([r["refs"][0] for r in rows], [r["hyp"] for r in rows]))
        assert bleu["n"] == wer["n"] == len(rows)
        low, high = bleu["ci95"]
        assert low <= high
    assert slices["lang"]["fr"]["bleu"]["n_errors"] == 1
    assert slices["lang"]["en"]["bleu"]["n_errors"] == 0
    assert slices["kind"]["q"]["wer"]["n_errors"] == 1
    everything = scored(ROWS)
    whole = sacrebleu.corpus_bleu([r["hyp"] for r in everything], [[r["refs"][0] for r in everything]]).score
    assert aggregate["metrics"]["bleu"]["value"] == pytest.approx(whole, abs=1e-9)


def test_values_that_are_not_strings_are_keyed_as_json(tmp_path, registry):
    aggregate = run_task(make_task(tmp_path, registry, group_by=["n"]), tmp_path / "out").aggregate
    by_n = aggregate["slices"]["n"]
    assert sorted(by_n) == ["1", "2", "null"]
    assert by_n["null"]["bleu"]["n"] == 2  # d has n: null, e has no n at all
    assert by_n["1"]["bleu"]["n"] == 2 and by_n["1"]["bleu"]["n_errors"] == 1


def test_a_slice_where_every_row_failed_is_reported_with_its_errors(tmp_path, registry):
    rows = [*ROWS, {"id": "z", "hyp": None, "refs": ["x"], "lang": "zz", "kind": "q"}]
    aggregate = run_task(make_task(tmp_path, registry, rows=rows, group_by="lang"), tmp_path / "out").aggregate
    assert aggregate["config"]["group_by"] == ["lang"]
    entry = aggregate["slices"]["lang"]["zz"]["bleu"]
    assert entry == {"value": None, "mean": None, "n": 0, "n_errors": 1, "n_undetermined": 0, "ci95": None}


def test_group_by_a_mapped_column_uses_the_field_value(tmp_path, registry):
    rows = [{"id": i, "prediction": p, "label": y} for i, (p, y) in enumerate([(1.0, 1), (2.5, 2), (0.5, 1), (3, 2)])]
    data = write_jsonl(tmp_path / "reg.jsonl", rows)
    raw = {"name": "r", "dataset": {"path": str(data)}, "metrics": ["mae"], "group_by": ["label"]}
    aggregate = run_task(build_task(parse_config(raw), registry, tmp_path), tmp_path / "out").aggregate
    assert aggregate["slices"]["label"]["1"]["mae"]["value"] == pytest.approx(0.25)
    assert aggregate["slices"]["label"]["2"]["mae"]["value"] == pytest.approx(0.75)


def test_without_group_by_there_are_no_slices_and_no_bootstrap_means_no_interval(tmp_path, registry):
    aggregate = run_task(make_task(tmp_path, registry, group_by=[]), tmp_path / "a").aggregate
    assert "slices" not in aggregate
    task = make_task(tmp_path, registry, bootstrap={"resamples": 0})
    aggregate = run_task(task, tmp_path / "b").aggregate
    assert aggregate["slices"]["lang"]["en"]["bleu"]["ci95"] is None


def test_a_group_by_column_the_dataset_lacks_fails_before_scoring(tmp_path, registry):
    task = make_task(tmp_path, registry, group_by=["lang", "langauge"])
    with pytest.raises(DataError) as caught:
        run_task(task, tmp_path / "out")
    message = str(caught.value)
    assert message.startswith("group_by[1]: the dataset has no column 'langauge'")
    assert "'lang'" in message and "\n" not in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        (["lang", "lang"], "group_by: Value error, column 'lang' is listed twice"),
        ([""], "group_by[0]"),
        ({"lang": 1}, "group_by"),
    ],
)
def test_bad_group_by_values_are_config_errors(tmp_path, registry, group_by, expected):
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        make_task(tmp_path, registry, group_by=group_by)


def test_resumed_run_has_the_slices_of_an_uninterrupted_one(tmp_path, registry):
    whole = run_task(make_task(tmp_path, registry), tmp_path / "whole").aggregate
    run_task(make_task(tmp_path, registry, dataset=_limited(tmp_path, 3)), tmp_path / "parts")
    resumed = run_task(make_task(tmp_path, registry), tmp_path / "parts", resume=True).aggregate
    assert resumed["slices"] == whole["slices"]


def _limited(tmp_path, limit):
    return {
        "path": str(tmp_path / "data.jsonl"),
        "id_column": "id",
        "columns": {"prediction": "hyp", "references": "refs"},
        "limit": limit,
    }


def test_cli_prints_and_writes_slices(tmp_path):
    write_jsonl(tmp_path / "data.jsonl", ROWS)
    config = tmp_path / "task.yaml"
    config.write_text(
        "name: s\ndataset:\n  path: data.jsonl\n  id_column: id\n  columns: {prediction: hyp, references: refs}\n"
        "metrics: [bleu]\ngroup_by: [lang]\nbootstrap: {resamples: 20}\n"
    )
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "by lang" in result.stdout
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## By lang" in report and "| de | bleu |" in report
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="slices"' in html and "bleu by lang" in html
    printed = json.loads(run_cli("run", str(config), "-o", str(tmp_path / "j"), "--format", "json", "-q").stdout)
    assert set(printed["slices"]["lang"]) == {"de", "en", "fr"}


def test_cli_validate_checks_group_by(tmp_path):
    write_jsonl(tmp_path / "data.jsonl", ROWS)
    config = tmp_path / "task.yaml"
    config.write_text(
        "name: s\ndataset:\n  path: data.jsonl\n  columns: {prediction: hyp, references: refs}\n"
        "metrics: [bleu]\ngroup_by: [speaker]\n"
    )
    result = run_cli("validate", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "rageval: error: group_by[0]: the dataset has no column 'speaker' Columns: id, hyp, refs, lang, kind, n"
    ]
