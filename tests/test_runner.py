"""The run: rows for every sample, exact aggregates, errors kept per sample, outputs written safely."""

from __future__ import annotations

import json
import random

import pytest
import sacrebleu
from helpers import read_jsonl, write_jsonl

from rageval.config import parse_config
from rageval.errors import ConfigError, DataError
from rageval.runner import run_task
from rageval.task import build_task

ROWS = [
    {"id": f"s{i}", "hyp": hyp, "refs": refs, "lang": lang}
    for i, (hyp, refs, lang) in enumerate(
        [
            ("the cat sat on the mat", ["the cat is on the mat"], "en"),
            ("a quick brown fox", ["the quick brown fox", "a fast brown fox"], "en"),
            ("", ["empty output"], "de"),
            ("hello world", ["hello world"], "de"),
            ("one two three", ["one two three four"], "fr"),
            ("ça marche très bien", ["ça marche bien"], "fr"),
            ("many words in this sentence here", ["many words in the sentence there"], "en"),
        ]
    )
]


def make_task(tmp_path, registry, rows=ROWS, **changes):
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    raw = {
        "name": "unit",
        "dataset": {"path": str(data), "id_column": "id", "columns": {"prediction": "hyp", "references": "refs"}},
        "metrics": ["bleu", "chrf", "wer"],
        "bootstrap": {"resamples": 200, "seed": 3},
        **changes,
    }
    return build_task(parse_config(raw), registry, tmp_path)


def test_rows_and_aggregate(tmp_path, registry):
    result = run_task(make_task(tmp_path, registry), tmp_path / "out")
    rows = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert [r["id"] for r in rows] == [r["id"] for r in ROWS]
    assert set(rows[0]) >= {"id", "scores", "errors", "stats"}
    assert set(rows[0]["scores"]) == {"bleu", "chrf", "wer"}
    aggregate = json.loads((tmp_path / "out" / "aggregate.json").read_text())
    assert aggregate == result.aggregate
    assert aggregate["n_samples"] == len(ROWS)
    assert set(aggregate) >= {"name", "config", "versions", "n_samples", "metrics"}
    bleu = aggregate["metrics"]["bleu"]
    assert set(bleu) >= {"value", "mean", "n", "n_errors", "ci95", "higher_is_better", "signature"}
    hyps = [r["hyp"] for r in ROWS]
    refs = [[r["refs"][k] if k < len(r["refs"]) else None for r in ROWS] for k in range(2)]
    assert bleu["value"] == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-9)
    sentence = [sacrebleu.sentence_bleu(r["hyp"], r["refs"]).score for r in ROWS]
    assert bleu["mean"] == pytest.approx(sum(sentence) / len(sentence), abs=1e-9)
    assert [row["scores"]["bleu"] for row in rows] == pytest.approx(sentence, abs=1e-9)
    low, high = bleu["ci95"]
    assert low <= high
    assert aggregate["metrics"]["wer"]["higher_is_better"] is False
    assert "| bleu ↑ |" in (tmp_path / "out" / "report.md").read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "aggregate.json",
        "report.html",
        "report.md",
        "run.json",
        "samples.jsonl",
    ]


def test_unscorable_values_are_errors_in_their_rows_and_counted(tmp_path, registry):
    rows = [*ROWS, {"id": "bad1", "hyp": None, "refs": ["x"]}, {"id": "bad2", "hyp": "x", "refs": []}]
    rows.append({"id": "bad3", "hyp": "x y", "refs": ["x y", None]})
    rows.append({"id": "bad4", "hyp": 7, "refs": "seven"})
    result = run_task(make_task(tmp_path, registry, rows), tmp_path / "out")
    out = {r["id"]: r for r in read_jsonl(tmp_path / "out" / "samples.jsonl")}
    assert len(out) == len(rows)
    assert out["bad1"]["errors"]["bleu"] == "prediction must be a string, got null"
    assert out["bad2"]["errors"]["wer"] == "references is an empty list"
    assert out["bad3"]["errors"]["chrf"] == "references[1] must be a string, got null"
    assert out["bad4"]["scores"]["bleu"] is None and "bleu" not in out["bad4"]["stats"]
    for name, n_errors in [("bleu", 4), ("chrf", 4), ("wer", 5)]:
        entry = result.aggregate["metrics"][name]
        assert entry["n"] + entry["n_errors"] == len(rows)
        assert entry["n_errors"] == n_errors
    clean = run_task(make_task(tmp_path / "clean", registry), tmp_path / "clean_out").aggregate
    assert result.aggregate["metrics"]["bleu"]["value"] == clean["metrics"]["bleu"]["value"]


def test_one_metric_failing_leaves_the_others_scoring(tmp_path, registry):
    rows = [{"id": "a", "hyp": "x", "refs": ["x", "y"]}, {"id": "b", "hyp": "z", "refs": ["z"]}]
    result = run_task(make_task(tmp_path, registry, rows), tmp_path / "out")
    out = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert out[0]["errors"] == {"wer": "this metric takes one reference per sample, got 2"}
    assert out[0]["scores"]["bleu"] is not None
    assert result.aggregate["metrics"]["wer"]["n"] == 1


def test_results_do_not_depend_on_batch_size_or_row_order(tmp_path, registry):
    reference = run_task(make_task(tmp_path / "a", registry, batch_size=64), tmp_path / "a_out").aggregate
    shuffled = ROWS[:]
    random.Random(7).shuffle(shuffled)
    for batch_size, rows in [(1, ROWS), (3, shuffled), (2, shuffled)]:
        where = tmp_path / f"b{batch_size}"
        other = run_task(make_task(where, registry, rows, batch_size=batch_size), where / "out").aggregate
        for name, entry in reference["metrics"].items():
            assert other["metrics"][name]["value"] == entry["value"]
            assert other["metrics"][name]["ci95"] == entry["ci95"]
            assert other["metrics"][name]["mean"] == pytest.approx(entry["mean"], abs=1e-12)


def test_bootstrap_is_seeded_and_can_be_turned_off(tmp_path, registry):
    first = run_task(make_task(tmp_path / "1", registry), tmp_path / "1" / "out").aggregate
    again = run_task(make_task(tmp_path / "2", registry), tmp_path / "2" / "out").aggregate
    assert first["metrics"]["bleu"]["ci95"] == again["metrics"]["bleu"]["ci95"]
    other_seed = make_task(tmp_path / "3", registry, bootstrap={"resamples": 200, "seed": 4})
    assert (
        run_task(other_seed, tmp_path / "3" / "out").aggregate["metrics"]["bleu"]["ci95"]
        != first["metrics"]["bleu"]["ci95"]
    )
    off = make_task(tmp_path / "4", registry, bootstrap={"resamples": 0})
    assert run_task(off, tmp_path / "4" / "out").aggregate["metrics"]["bleu"]["ci95"] is None


def test_field_without_a_column_fails_before_anything_is_written(tmp_path, registry):
    task = make_task(
        tmp_path, registry, dataset={"path": str(tmp_path / "data.jsonl"), "columns": {"prediction": "hyp"}}
    )
    with pytest.raises(DataError) as caught:
        run_task(task, tmp_path / "out")
    message = str(caught.value)
    assert "metric 'bleu' needs field 'references'" in message and "metric 'wer' needs field 'references'" in message
    assert "Dataset columns: id, hyp, refs, lang" in message
    assert not (tmp_path / "out").exists()


def test_mapping_to_a_column_that_does_not_exist(tmp_path, registry):
    dataset = {"path": str(tmp_path / "data.jsonl"), "columns": {"prediction": "hyps", "references": "refs"}}
    with pytest.raises(
        DataError, match="dataset.columns.prediction: the dataset has no column 'hyps'; did you mean 'hyp'"
    ):
        run_task(make_task(tmp_path, registry, dataset=dataset), tmp_path / "out")


def test_existing_output_needs_overwrite_and_must_be_a_run(tmp_path, registry):
    task = make_task(tmp_path, registry)
    run_task(task, tmp_path / "out")
    with pytest.raises(ConfigError, match="is not empty: pass --overwrite"):
        run_task(task, tmp_path / "out")
    run_task(task, tmp_path / "out", overwrite=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="holds no rageval run: refusing to overwrite it"):
        run_task(task, tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize(
    ("name", "folder"), [("../../escape", "escape"), ("a/b\\c", "a_b_c"), ("..", "run"), ("ok-1.2", "ok-1.2")]
)
def test_default_output_folder_stays_inside_runs(tmp_path, registry, monkeypatch, name, folder):
    monkeypatch.chdir(tmp_path)
    result = run_task(make_task(tmp_path, registry, name=name))
    assert result.output_dir == tmp_path.joinpath("runs", folder).relative_to(tmp_path)
    assert (tmp_path / "runs" / folder / "aggregate.json").exists()
