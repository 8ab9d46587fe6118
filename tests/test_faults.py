"""Injected faults: a metric that raises or breaks the contract, a model that will not load, an output
folder that cannot be written, a full disk, SIGTERM in the middle of a write.

Each fault is a clear one-line error with the exit code the CLI maps it to, or (for one metric's
failure) errors in that metric's rows only; a stopped run is completed by ``--resume`` with every
sample once. SIGKILL and SIGTERM at random moments are in test_resume.py.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from helpers import read_jsonl, run_cli, write_jsonl

from rageval.cli import main
from rageval.config import parse_config
from rageval.errors import RunError
from rageval.registry import build_registry
from rageval.runner import run_task
from rageval.task import build_task

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "under", "table"]
N_ROWS = 40


def rows(n: int = N_ROWS) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        ref = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(3 + i % 5))
        hyp = " ".join(word if (i + k) % 3 else "x" for k, word in enumerate(ref.split()))
        out.append({"id": f"u{i:02d}", "hyp": hyp, "ref": ref})
    return out


def project(folder: Path, metrics: str = "[bleu, wer, chrf]", extra: str = "") -> Path:
    write_jsonl(folder / "data.jsonl", rows())
    config = folder / "task.yaml"
    config.write_text(
        "name: faults\ndataset:\n  path: data.jsonl\n  id_column: id\n  columns: {prediction: hyp, references: ref}\n"
        f"metrics: {metrics}\nbatch_size: 6\nbootstrap: {{resamples: 50, seed: 2}}\n{extra}"
    )
    return config


def comparable(aggregate: dict) -> dict:
    return {key: value for key, value in aggregate.items() if key not in ("timing", "config")}


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["run", *args, "-q"])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rageval: error: "), err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


def assert_complete(out: Path, expected: dict) -> None:
    """Every sample once, in dataset order, and the aggregate of an uninterrupted run."""
    ids = [row["id"] for row in read_jsonl(out / "samples.jsonl")]
    assert ids == [row["id"] for row in rows()]
    assert comparable(json.loads((out / "aggregate.json").read_text())) == expected


@pytest.fixture
def uninterrupted(tmp_path: Path, capsys: pytest.CaptureFixture) -> tuple[Path, dict]:
    config = project(tmp_path)
    code, err = run(capsys, str(config), "-o", str(tmp_path / "clean"))
    assert code == 0, err
    return config, comparable(json.loads((tmp_path / "clean" / "aggregate.json").read_text()))


# A metric or plugin that raises or breaks the contract: its rows get the error, the run goes on.

FLAKY_PLUGIN = """
import rageval


class Flaky(rageval.Metric):
    info = rageval.MetricInfo(
        name="flaky", description="raises on the batch holding u09", fields=("prediction",), higher_is_better=True
    )

    def score_batch(self, samples):
        if any(sample.id == "u09" for sample in samples):
            raise RuntimeError("backend timed out")
        return [rageval.Scored((1.0, float(len(sample.prediction)))) for sample in samples]

    def scores_from_totals(self, totals):
        return {"": float(totals[1] / totals[0])}


@rageval.hookimpl
def rageval_metrics():
    return [Flaky]
"""


@pytest.mark.parametrize("executor", ["local", "processes"])
def test_a_metric_raising_mid_batch_fails_that_batch_for_that_metric_only(tmp_path, executor):
    (tmp_path / "flaky.py").write_text(FLAKY_PLUGIN)
    config = project(tmp_path, "[bleu, flaky, wer]", f"plugins: [flaky.py]\nexecutor: {executor}\n")
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    written = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert [row["id"] for row in written] == [row["id"] for row in rows()]
    failed = [row["id"] for row in written if "flaky" in row["errors"]]
    assert failed == ["u06", "u07", "u08", "u09", "u10", "u11"]  # the batch of 6 that holds u09
    for row in written:
        assert set(row["stats"]) == ({"bleu", "wer"} if row["id"] in failed else {"bleu", "flaky", "wer"})
        if row["id"] in failed:
            assert row["errors"] == {"flaky": "metric 'flaky' raised RuntimeError: backend timed out"}
    aggregate = json.loads((tmp_path / "out" / "aggregate.json").read_text())
    assert (aggregate["metrics"]["flaky"]["n"], aggregate["metrics"]["flaky"]["n_errors"]) == (N_ROWS - 6, 6)
    assert aggregate["metrics"]["bleu"]["n_errors"] == aggregate["metrics"]["wer"]["n_errors"] == 0
    report_row = next(line for line in (tmp_path / "out" / "report.md").read_text().splitlines() if "flaky" in line)
    assert report_row.split("|")[6].strip() == "6"  # the errors column
    table_row = next(line for line in result.stdout.splitlines() if "flaky" in line)
    assert table_row.split("│")[6].strip() == "6"


BROKEN_PLUGIN = """
import math
import rageval


class Broken(rageval.Metric):
    info = rageval.MetricInfo(name="broken", description="breaks the contract", fields=("prediction",), higher_is_better=True)

    def score_batch(self, samples):
        out = []
        for sample in samples:
            bad = WHEN
            out.append(BAD if bad else rageval.Scored((1.0, 1.0)))
        return COUNT(out)

    def scores_from_totals(self, totals):
        if totals[1] == 7.0:
            raise ZeroDivisionError("seven")
        return {"": float(totals[0] / totals[1])}


@rageval.hookimpl
def rageval_metrics():
    return [Broken]
"""
PER_SAMPLE = 'sample.prediction.startswith("the")'
PER_BATCH = 'any(other.id == "u06" for other in samples)'
CONTRACT_BREACHES = {
    "returns None": ("None", "out", PER_SAMPLE, "returned NoneType for a sample, not Scored or Failed"),
    "NaN statistic": ("rageval.Scored((math.nan, 1.0))", "out", PER_SAMPLE, "a statistic that is not a finite float"),
    "text statistic": ("rageval.Scored(('x', 1.0))", "out", PER_SAMPLE, "a statistic 'x' that is not a finite number"),
    "ragged batch": (
        "rageval.Scored((1.0,))",
        "out",
        PER_SAMPLE,
        "statistics of different lengths [1, 2] in one batch",
    ),
    "ragged run": ("rageval.Scored((1.0,))", "out", PER_BATCH, "returned 1 statistics, 2 before"),
    "score raises": ("rageval.Scored((1.0, 7.0))", "out", PER_SAMPLE, "raised ZeroDivisionError scoring this sample"),
    "one outcome short": ("rageval.Scored((1.0, 1.0))", "out[:-1]", PER_SAMPLE, "returned 5 outcomes for 6 samples"),
}


@pytest.mark.parametrize("breach", CONTRACT_BREACHES)
def test_a_plugin_breaking_the_contract_fails_its_own_rows_not_the_run(tmp_path, breach):
    bad, count, when, reason = CONTRACT_BREACHES[breach]
    plugin = BROKEN_PLUGIN.replace("BAD", bad).replace("COUNT(out)", count).replace("WHEN", when)
    (tmp_path / "broken.py").write_text(plugin)
    project(tmp_path)
    raw = {
        "name": "b",
        "dataset": {"path": "data.jsonl", "id_column": "id", "columns": {"prediction": "hyp", "references": "ref"}},
        "metrics": ["bleu", "broken"],
        "plugins": ["broken.py"],
        "batch_size": 6,
        "bootstrap": {"resamples": 20},
    }
    result = run_task(build_task(parse_config(raw), build_registry(entry_points=False), tmp_path), tmp_path / "out")
    written = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert [row["id"] for row in written] == [row["id"] for row in rows()]
    errors = [row["errors"].get("broken", "") for row in written]
    assert any(reason in error for error in errors), errors
    assert all("bleu" in row["stats"] for row in written)
    entry = result.aggregate["metrics"]["broken"]
    assert entry["n"] + entry["n_errors"] == N_ROWS and entry["n_errors"] == sum(bool(error) for error in errors)


RAISES_RAGEVAL_ERROR = """
import os
import rageval


class Remote(rageval.Metric):
    info = rageval.MetricInfo(name="remote", description="a scoring service", fields=("prediction",), higher_is_better=True)

    def score_batch(self, samples):
        if os.environ.get("REMOTE_DOWN") and any(sample.id == "u20" for sample in samples):
            raise rageval.RunError("the scoring service refused the API key")
        return [rageval.Scored((float(len(sample.prediction)),)) for sample in samples]

    def scores_from_totals(self, totals):
        return {"": float(totals[0])}


@rageval.hookimpl
def rageval_metrics():
    return [Remote]
"""


def test_a_metric_raising_a_rageval_error_stops_the_run_and_resume_completes_it(tmp_path, capsys, monkeypatch):
    (tmp_path / "remote.py").write_text(RAISES_RAGEVAL_ERROR)
    config = project(tmp_path, "[bleu, remote]", "plugins: [remote.py]\n")
    code, err = run(capsys, str(config), "-o", str(tmp_path / "clean"))
    assert code == 0, err
    expected = comparable(json.loads((tmp_path / "clean" / "aggregate.json").read_text()))
    monkeypatch.setenv("REMOTE_DOWN", "1")
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 1 and "the scoring service refused the API key" in one_line(err)
    assert len(read_jsonl(tmp_path / "out" / "samples.jsonl")) == 18  # the three batches before u20
    monkeypatch.delenv("REMOTE_DOWN")
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"), "--resume")
    assert code == 0, err
    assert [row["id"] for row in read_jsonl(tmp_path / "out" / "samples.jsonl")] == [row["id"] for row in rows()]
    assert comparable(json.loads((tmp_path / "out" / "aggregate.json").read_text())) == expected


# A model that fails to load.

MODEL_METRICS = [
    "answer_relevance",
    "context_recall",
    "context_relevance",
    "faithfulness",
    "perplexity",
    "semantic_similarity",
]


@pytest.mark.parametrize("metric", MODEL_METRICS)
def test_a_model_folder_that_does_not_exist_is_exit_2_before_anything_is_written(tmp_path, capsys, metric):
    config = project(tmp_path, f"[bleu, {{name: {metric}, params: {{model: ./no/such/model}}}}]")
    every_field = "{prediction: hyp, references: ref, question: hyp, contexts: ref, text: hyp}"
    config.write_text(config.read_text().replace("{prediction: hyp, references: ref}", every_field))
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    line = one_line(err)
    assert code == 2 and "params.model: model folder ./no/such/model does not exist" in line
    assert not (tmp_path / "out").exists()


NLI_ROWS = [
    {"id": f"q{i}", "answer": "the cat sat on the mat", "ctx": ["a dog ran in the park", "the cat sat on the mat"]}
    for i in range(5)
]


@pytest.mark.models
@pytest.mark.parametrize(
    "metric, executor",
    [("faithfulness", "local"), ("perplexity", "local"), ("faithfulness", "processes")],
)
def test_a_model_that_fails_to_load_is_one_line_and_resume_completes_the_run(
    tmp_path, capsys, monkeypatch, tiny_nli, tiny_gpt2, metric, executor
):
    pytest.importorskip("torch")
    model = tmp_path / "model"
    shutil.copytree(tiny_nli if metric == "faithfulness" else tiny_gpt2, model)
    good_config = (model / "config.json").read_text()
    (model / "config.json").write_text('{"model_type": "no-such-architecture"}')
    write_jsonl(tmp_path / "qa.jsonl", NLI_ROWS)
    params = "{scorer: nli, model: model, device: cpu}" if metric == "faithfulness" else "{model: model, device: cpu}"
    config = tmp_path / "task.yaml"
    config.write_text(
        "name: m\ndataset: {path: qa.jsonl, id_column: id, columns: {prediction: answer, contexts: ctx, text: answer}}\n"
        f"metrics: [{{name: {metric}, params: {params}}}]\nbatch_size: 2\nbootstrap: {{resamples: 0}}\n"
        f"executor: {executor}\nworkers: 2\n"
    )
    monkeypatch.chdir(tmp_path)  # relative model folders start at the working directory
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 1 and "model 'model' could not be loaded" in one_line(err)
    if metric == "perplexity":  # its signature needs the model: it fails before the output folder exists
        assert not (tmp_path / "out").exists()
    else:  # the embedding and NLI models load with the first batch: an empty, resumable run is left
        assert read_jsonl(tmp_path / "out" / "samples.jsonl") == []
    (model / "config.json").write_text(good_config)  # the fingerprint is of the weights: unchanged
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"), "--resume")
    assert code == 0, err
    assert [row["id"] for row in read_jsonl(tmp_path / "out" / "samples.jsonl")] == [r["id"] for r in NLI_ROWS]


# Output that cannot be written: a folder without permission, a full disk, SIGTERM mid-write.

_REAL_OPEN = builtins.open


def fail_opening_samples(monkeypatch: pytest.MonkeyPatch, make_file) -> None:
    """Route every open of samples.jsonl for writing through ``make_file(path, mode, encoding)``."""

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and Path(file).name == "samples.jsonl" and set(mode) & set("wa"):
            return make_file(file, mode, kwargs.get("encoding") or "utf-8")
        return _REAL_OPEN(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)


def test_an_output_file_without_write_permission_is_exit_1_and_resumable(uninterrupted, tmp_path, capsys, monkeypatch):
    config, expected = uninterrupted

    def denied(path: Any, mode: str, encoding: str) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    with monkeypatch.context() as patch:
        fail_opening_samples(patch, denied)
        code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 1 and one_line(err).endswith("samples.jsonl: Permission denied")
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"), "--resume")
    assert code == 0, err
    assert_complete(tmp_path / "out", expected)


def test_an_unwritable_run_manifest_is_exit_1(tmp_path, capsys, monkeypatch):
    config = project(tmp_path)

    def refuse(path: Path, text: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr("rageval.resume.atomic_write_text", refuse)
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 1 and "cannot write in" in one_line(err) and "Permission denied" in err
    assert not (tmp_path / "out" / "samples.jsonl").exists()
    monkeypatch.undo()
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 0, err


class SmallDisk(io.RawIOBase):
    """A file on a disk with ``capacity`` bytes free: a write beyond stores what fits, then fails with ENOSPC."""

    def __init__(self, path: Any, append: bool, capacity: int):
        super().__init__()
        self._file = _REAL_OPEN(path, "ab" if append else "wb", buffering=0)
        self._left = capacity

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        part = bytes(data[: self._left])
        self._file.write(part)
        self._left -= len(part)
        return len(part)

    def close(self) -> None:
        self._file.close()
        super().close()


@pytest.mark.parametrize("capacity", [0, 700, 2048, 5000])
def test_a_full_disk_is_exit_1_and_resume_completes_the_run(uninterrupted, tmp_path, capsys, monkeypatch, capacity):
    config, expected = uninterrupted

    def small_disk(path: Any, mode: str, encoding: str) -> Any:
        raw = SmallDisk(path, "a" in mode, capacity)
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding=encoding)

    with monkeypatch.context() as patch:
        fail_opening_samples(patch, small_disk)
        code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 1 and one_line(err).endswith("samples.jsonl: No space left on device")
    assert (tmp_path / "out" / "samples.jsonl").stat().st_size == capacity
    assert not (tmp_path / "out" / "aggregate.json").exists()
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"), "--resume")
    assert code == 0, err
    assert_complete(tmp_path / "out", expected)


def test_a_full_disk_while_writing_the_reports_is_exit_1_and_resume_writes_them(
    uninterrupted, tmp_path, capsys, monkeypatch
):
    config, expected = uninterrupted
    from rageval.reports import files

    real = files.atomic_write_text

    def full_for_reports(path: Path, text: str) -> None:
        if path.name == "aggregate.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, text)

    with monkeypatch.context() as patch:
        patch.setattr("rageval.runner.atomic_write_text", full_for_reports)
        code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 1 and "cannot write the reports" in one_line(err) and "No space left on device" in err
    assert len(read_jsonl(tmp_path / "out" / "samples.jsonl")) == N_ROWS
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"), "--resume")
    assert code == 0, err
    assert_complete(tmp_path / "out", expected)
    assert json.loads((tmp_path / "out" / "aggregate.json").read_text())["timing"]["samples_scored"] == 0


class TerminatedMidWrite:
    """samples.jsonl, where the third write stores half its text, then the process gets SIGTERM."""

    def __init__(self, path: Any, mode: str, encoding: str):
        self._file = _REAL_OPEN(path, mode, encoding=encoding)
        self._writes = 0

    def write(self, text: str) -> int:
        self._writes += 1
        if self._writes == 3:
            self._file.write(text[: len(text) // 2])
            self._file.flush()
            os.kill(os.getpid(), signal.SIGTERM)
        return self._file.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> TerminatedMidWrite:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._file.close()


def test_sigterm_during_a_write_is_exit_1_and_resume_completes_the_run(uninterrupted, tmp_path, capsys, monkeypatch):
    config, expected = uninterrupted
    with monkeypatch.context() as patch:
        fail_opening_samples(patch, TerminatedMidWrite)
        code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 1
    line = one_line(err)
    assert line.startswith("rageval: error: terminated (SIGTERM)") and "--resume" in line
    text = (tmp_path / "out" / "samples.jsonl").read_text()
    assert not text.endswith("\n") and text.count("\n") >= 2 * 6  # two batches whole, then a torn line
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"), "--resume")
    assert code == 0, err
    assert_complete(tmp_path / "out", expected)


@pytest.mark.parametrize("flags", [(), ("--resume",)])
def test_a_run_killed_while_writing_its_manifest_can_be_run_again(uninterrupted, tmp_path, capsys, flags):
    config, expected = uninterrupted
    out = tmp_path / "out"
    out.mkdir()
    (out / ".run.json.k1ll3d.tmp").write_text('{"manifest_version": 1, "na')  # SIGKILL before the rename
    code, err = run(capsys, str(config), "-o", str(out), *flags)
    assert code == 0, err
    assert_complete(out, expected)
    assert not list(out.glob(".*.tmp"))


def test_leftovers_of_a_killed_report_write_do_not_stay_behind(uninterrupted, tmp_path, capsys):
    config, expected = uninterrupted
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"))
    assert code == 0, err
    (tmp_path / "out" / "aggregate.json").unlink()
    (tmp_path / "out" / ".aggregate.json.k1ll3d.tmp").write_text('{"name": "fa')
    code, err = run(capsys, str(config), "-o", str(tmp_path / "out"), "--resume")
    assert code == 0, err
    assert_complete(tmp_path / "out", expected)
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_the_library_raises_run_error_for_a_full_disk(tmp_path, monkeypatch):
    project(tmp_path)
    columns = {"prediction": "hyp", "references": "ref"}
    raw = {"name": "lib", "dataset": {"path": "data.jsonl", "id_column": "id", "columns": columns}, "metrics": ["bleu"]}
    task = build_task(parse_config(raw), build_registry(entry_points=False), tmp_path)

    def tiny_disk(path: Any, mode: str, encoding: str) -> Any:
        return io.TextIOWrapper(io.BufferedWriter(SmallDisk(path, False, 10)), encoding=encoding)

    fail_opening_samples(monkeypatch, tiny_disk)
    with pytest.raises(RunError, match=r"cannot write .*samples\.jsonl: No space left on device"):
        run_task(task, tmp_path / "out")
