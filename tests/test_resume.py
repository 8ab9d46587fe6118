"""Resumable runs: killed at any point and resumed, the result equals an uninterrupted run."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import read_jsonl, run_cli, write_jsonl

from rageval.config import parse_config
from rageval.errors import ConfigError
from rageval.runner import run_task
from rageval.task import build_task

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "under",
    "mat",
    "table",
    "quickly",
    "slowly",
    "red",
    "blue",
    "house",
    "garden",
]


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        ref = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        hyp = " ".join(w if rng.random() > 0.3 else rng.choice(WORDS) for w in ref.split())
        rows.append({"id": f"u{i:05d}", "hyp": hyp, "ref": ref})
    return rows


def write_config(folder: Path, n_rows: int, metrics: str = "[bleu, chrf, wer]", batch_size: int = 40) -> Path:
    write_jsonl(folder / "data.jsonl", synthetic_rows(n_rows))
    config = folder / "task.yaml"
    config.write_text(
        f"name: resume\ndataset:\n  path: data.jsonl\n  id_column: id\n  columns: {{prediction: hyp, references: ref}}\n"
        f"metrics: {metrics}\nbatch_size: {batch_size}\nbootstrap: {{resamples: 100, seed: 5}}\n"
    )
    return config


def comparable(aggregate: dict) -> dict:
    return {k: v for k, v in aggregate.items() if k not in ("timing", "config")}


def wait_for_rows(path: Path, timeout: float = 60.0) -> None:
    """Block until the run has written some rows, so a signal lands mid-run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} was never written")


def rageval_command() -> list[str]:
    script = Path(sys.executable).parent / "rageval"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rageval.cli"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    config = write_config(folder, 4000)
    result = run_cli("run", str(config), "-o", str(folder / "out"), "-q")
    assert result.returncode == 0, result.stderr
    return config, json.loads((folder / "out" / "aggregate.json").read_text())


@pytest.mark.parametrize("delay", [0.05, 0.6, 1.2, 2.0])
def test_sigkill_at_any_point_then_resume_equals_uninterrupted(uninterrupted, tmp_path, delay):
    config, expected = uninterrupted
    out = tmp_path / "out"
    process = subprocess.Popen([*rageval_command(), "run", str(config), "-o", str(out), "-q"])
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = run_cli("run", str(config), "-o", str(out), "-q", "--resume")
    assert result.returncode == 0, result.stderr
    rows = read_jsonl(out / "samples.jsonl")
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == 4000
    assert comparable(json.loads((out / "aggregate.json").read_text())) == comparable(expected)


def test_partly_written_last_line_is_repaired(uninterrupted, tmp_path):
    config, expected = uninterrupted
    out = tmp_path / "out"
    assert run_cli("run", str(config), "-o", str(out), "-q").returncode == 0
    lines = (out / "samples.jsonl").read_text().splitlines(keepends=True)
    (out / "samples.jsonl").write_text("".join(lines[:1234]) + lines[1234][:25])
    (out / "aggregate.json").unlink()
    result = run_cli("run", str(config), "-o", str(out), "-q", "--resume")
    assert result.returncode == 0, result.stderr
    aggregate = json.loads((out / "aggregate.json").read_text())
    assert comparable(aggregate) == comparable(expected)
    assert aggregate["timing"]["samples_resumed"] == 1234
    assert aggregate["timing"]["samples_scored"] == 4000 - 1234


def small_task(folder: Path, registry, **changes):
    write_jsonl(folder / "data.jsonl", synthetic_rows(50))
    raw = {
        "name": "r",
        "dataset": {
            "path": str(folder / "data.jsonl"),
            "id_column": "id",
            "columns": {"prediction": "hyp", "references": "ref"},
        },
        "metrics": ["bleu", "wer"],
        "batch_size": 7,
        **changes,
    }
    return build_task(parse_config(raw), registry, folder)


def test_resume_of_a_finished_run_scores_nothing_again(tmp_path, registry):
    task = small_task(tmp_path, registry)
    first = run_task(task, tmp_path / "out").aggregate
    again = run_task(small_task(tmp_path, registry), tmp_path / "out", resume=True).aggregate
    assert again["timing"]["samples_scored"] == 0 and again["timing"]["samples_resumed"] == 50
    assert comparable(again) == comparable(first)


def test_resume_refuses_other_parameters(tmp_path, registry):
    run_task(small_task(tmp_path, registry), tmp_path / "out")
    changed = small_task(tmp_path, registry, metrics=[{"name": "bleu", "params": {"lowercase": True}}, "wer"])
    with pytest.raises(ConfigError, match="--resume: metric 'bleu' differs from the run"):
        run_task(changed, tmp_path / "out", resume=True)
    with pytest.raises(ConfigError, match=r"scored metrics \['bleu', 'wer'\], this config names \['bleu'\]"):
        run_task(small_task(tmp_path, registry, metrics=["bleu"]), tmp_path / "out", resume=True)


def test_resume_refuses_other_data(tmp_path, registry):
    run_task(small_task(tmp_path, registry), tmp_path / "out")
    task = small_task(tmp_path, registry)
    with open(tmp_path / "data.jsonl", "a") as handle:
        handle.write(json.dumps({"id": "new", "hyp": "x", "ref": "y"}) + "\n")
    with pytest.raises(ConfigError, match=r"--resume: the dataset differs .*content changed"):
        run_task(task, tmp_path / "out", resume=True)


def test_resume_refuses_a_folder_that_is_not_a_run(tmp_path, registry):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds no resumable run"):
        run_task(small_task(tmp_path, registry), tmp_path / "out", resume=True)


def test_resume_into_an_empty_folder_starts_a_new_run(tmp_path, registry):
    result = run_task(small_task(tmp_path, registry), tmp_path / "new", resume=True)
    assert result.aggregate["timing"]["samples_scored"] == 50


def test_process_pool_gives_the_same_results_as_one_process(tmp_path, registry):
    local = run_task(small_task(tmp_path / "a", registry), tmp_path / "a" / "out").aggregate
    pooled_task = small_task(tmp_path / "b", registry, executor="processes", workers=2)
    pooled = run_task(pooled_task, tmp_path / "b" / "out").aggregate
    assert comparable(pooled)["metrics"] == comparable(local)["metrics"]
    assert read_jsonl(tmp_path / "a" / "out" / "samples.jsonl") == read_jsonl(tmp_path / "b" / "out" / "samples.jsonl")


def test_ctrl_c_leaves_a_resumable_run(uninterrupted, tmp_path):
    config, expected = uninterrupted
    out = tmp_path / "out"
    process = subprocess.Popen(
        [*rageval_command(), "run", str(config), "-o", str(out), "-q"], stderr=subprocess.PIPE, text=True
    )
    wait_for_rows(out / "samples.jsonl")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert process.returncode == 130
    assert "--resume" in stderr and "Traceback" not in stderr
    result = run_cli("run", str(config), "-o", str(out), "-q", "--resume")
    assert result.returncode == 0, result.stderr
    assert comparable(json.loads((out / "aggregate.json").read_text())) == comparable(expected)


def test_sigterm_is_a_clear_error_and_resumable(uninterrupted, tmp_path):
    config, expected = uninterrupted
    out = tmp_path / "out"
    process = subprocess.Popen(
        [*rageval_command(), "run", str(config), "-o", str(out), "-q"], stderr=subprocess.PIPE, text=True
    )
    wait_for_rows(out / "samples.jsonl")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert process.returncode == 1
    assert stderr.startswith("rageval: error: terminated (SIGTERM)") and "--resume" in stderr
    assert run_cli("run", str(config), "-o", str(out), "-q", "--resume").returncode == 0
    assert comparable(json.loads((out / "aggregate.json").read_text())) == comparable(expected)
