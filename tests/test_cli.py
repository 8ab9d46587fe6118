"""The real `rageval` command in a subprocess: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest
from helpers import REPO, read_jsonl, run_cli, write_jsonl


def one_line_error(result, code=2):
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rageval: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def config(tmp_path):
    write_jsonl(
        tmp_path / "data.jsonl",
        [
            {"id": "a", "hyp": "the cat sat", "ref": "the cat sat down"},
            {"id": "b", "hyp": "a dog", "ref": "the dog"},
            {"id": "c", "hyp": None, "ref": "nothing"},
        ],
    )
    path = tmp_path / "task.yaml"
    path.write_text(
        "name: cli\ndataset:\n  path: data.jsonl\n  id_column: id\n"
        "  columns: {prediction: hyp, references: ref}\nmetrics: [bleu, wer]\nbootstrap: {resamples: 50}\n"
    )
    return path


@pytest.mark.parametrize("name", ["translation", "asr"])
def test_example_configs_run(tmp_path, name):
    result = run_cli("run", str(REPO / "configs" / f"{name}.yaml"), "-o", str(tmp_path / name))
    assert result.returncode == 0, result.stderr
    aggregate = json.loads((tmp_path / name / "aggregate.json").read_text())
    assert aggregate["n_samples"] >= 30
    first_score = next(iter(aggregate["metrics"]))
    assert first_score in result.stdout and "95% CI" in result.stdout
    assert all(entry["n_errors"] == 0 for entry in aggregate["metrics"].values())


def test_run_writes_outputs_and_prints_the_table(config, tmp_path):
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "bleu" in result.stdout and "wer" in result.stdout
    rows = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[2]["errors"] == {
        "bleu": "prediction must be a string, got null",
        "wer": "prediction must be a string, got null",
    }
    assert "scoring" not in result.stderr  # no progress bar when stderr is not a terminal


def test_quiet_prints_nothing(config, tmp_path):
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_json_format_and_limit_and_set(config, tmp_path):
    result = run_cli(
        "run",
        str(config),
        "-o",
        str(tmp_path / "out"),
        "--limit",
        "2",
        "--set",
        "metrics.0.params.lowercase=true",
        "--format",
        "json",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    aggregate = json.loads(result.stdout)
    assert aggregate["n_samples"] == 2
    assert "case:lc" in aggregate["metrics"]["bleu"]["signature"]


def test_default_output_is_runs_slash_name(config, tmp_path):
    result = run_cli("run", str(config), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs" / "cli" / "aggregate.json").exists()


def test_existing_output_refused_without_overwrite(config, tmp_path):
    assert run_cli("run", str(config), "-o", str(tmp_path / "out"), "-q").returncode == 0
    line = one_line_error(run_cli("run", str(config), "-o", str(tmp_path / "out"), "-q"))
    assert "pass --overwrite" in line
    assert run_cli("run", str(config), "-o", str(tmp_path / "out"), "-q", "--overwrite").returncode == 0


@pytest.mark.parametrize(
    ("yaml_text", "data", "expected"),
    [
        ("metrics: [bleu, chfr]\n", None, "metrics[1].name: unknown metric 'chfr'; did you mean 'chrf'?"),
        (
            "metrics: [{name: bleu, params: {tokenize: 13b}}]\n",
            None,
            "metrics[0].params.tokenize: '13b' is not allowed",
        ),
        ("metrics: [bleu]\nbatchsize: 3\n", None, "batchsize: unknown key; did you mean 'batch_size'?"),
        ("metrics: [bleu, ter]\n", '{"id": "a", "hyp": "x"}\n', "metric 'bleu' needs field 'references'"),
        (
            "metrics: [bleu]\n",
            '{"id": "a", "hyp": "x", "ref": "y"}\n{"id": "b", "hyp": \n',
            "data.jsonl: line 2: invalid JSON",
        ),
        (
            "metrics: [bleu]\n",
            '{"id": "a", "hyp": "x", "ref": "y"}\n{"id": "a", "hyp": "x", "ref": "y"}\n',
            "duplicate id 'a'",
        ),
    ],
)
def test_bad_config_or_data_exit_2_with_one_line_and_write_nothing(tmp_path, yaml_text, data, expected):
    write_jsonl(tmp_path / "data.jsonl", [{"id": "a", "hyp": "x", "ref": "y"}])
    if data is not None:
        (tmp_path / "data.jsonl").write_text(data)
    config = tmp_path / "task.yaml"
    config.write_text(
        "name: bad\ndataset:\n  path: data.jsonl\n  id_column: id\n  columns: {prediction: hyp, references: ref}\n"
        if "needs field" not in expected
        else "name: bad\ndataset:\n  path: data.jsonl\n  id_column: id\n  columns: {prediction: hyp}\n"
    )
    config.write_text(config.read_text() + yaml_text)
    line = one_line_error(run_cli("run", str(config), "-o", str(tmp_path / "out")))
    assert expected in line
    assert not (tmp_path / "out").exists()


def test_missing_data_file_is_named(tmp_path):
    config = tmp_path / "task.yaml"
    config.write_text("name: x\ndataset: {path: nowhere.jsonl}\nmetrics: [bleu]\n")
    line = one_line_error(run_cli("run", str(config), "-o", str(tmp_path / "out")))
    assert "file not found" in line and "nowhere.jsonl" in line
    assert not (tmp_path / "out").exists()


def test_missing_config_file(tmp_path):
    assert "config file not found" in one_line_error(run_cli("run", str(tmp_path / "nope.yaml")))


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("run", str(tmp_path / "nope.yaml"), "--debug")
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_usage_errors_exit_2(config):
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("run").returncode == 2
    assert "--limit must be a positive number" in one_line_error(run_cli("run", str(config), "--limit", "0"))


def test_failed_run_exits_1(config, tmp_path):
    (tmp_path / "afile").write_text("x")
    line = one_line_error(run_cli("run", str(config), "-o", str(tmp_path / "afile" / "out")), code=1)
    assert "cannot create output folder" in line


def test_validate_checks_without_scoring(config, tmp_path):
    result = run_cli("validate", str(config))
    assert result.returncode == 0, result.stderr
    assert "valid; 3 rows" in result.stdout and "bleu|" in result.stdout
    assert not (tmp_path / "runs").exists()
    config.write_text(config.read_text().replace("references: ref", "references: reff"))
    assert "dataset.columns.references: the dataset has no column 'reff'" in one_line_error(
        run_cli("validate", str(config))
    )


def test_metrics_listing():
    result = run_cli("metrics", "--json")
    assert result.returncode == 0, result.stderr
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert entries["bleu"]["plugin"] == "rageval"
    assert entries["bleu"]["fields"] == ["prediction", "references"]
    assert entries["wer"]["higher_is_better"] is False
    assert entries["chrf"]["description"]
    table = run_cli("metrics")
    assert table.returncode == 0 and "bleu" in table.stdout


def test_progress_bar_on_a_terminal_only(config, tmp_path):
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "rageval"
    primary, secondary = pty.openpty()
    try:
        process = subprocess.run(
            [str(script), "run", str(config), "-o", str(tmp_path / "out")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=120,
            env=dict(os.environ, COLUMNS="120", TERM="xterm"),
        )
        os.close(secondary)
        secondary = None
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if secondary is not None:
            os.close(secondary)
        os.close(primary)
    assert process.returncode == 0
    assert "scoring" in b"".join(chunks).decode("utf-8", "replace")
