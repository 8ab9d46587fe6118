"""Every example runs with the one command its README gives; the plugin guide's walkthrough works as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import tomllib
from helpers import REPO, read_jsonl, run_cli
from pydantic import BaseModel

from rageval.config import TaskConfig

EXAMPLES = REPO / "examples"
ONE_COMMAND = {
    "mt-systems": "python examples/mt-systems/benchmark.py",
    "asr-benchmark": "rageval run examples/asr-benchmark/config.yaml",
    "rag-pipeline": "rageval run examples/rag-pipeline/config.yaml",
    "custom-plugin": "rageval run examples/custom-plugin/config.yaml",
}


@pytest.mark.parametrize("example", sorted(ONE_COMMAND))
def test_each_readme_gives_its_one_command(example):
    readme = (EXAMPLES / example / "README.md").read_text(encoding="utf-8")
    assert ONE_COMMAND[example] in readme


def run_json(config: Path, tmp_path: Path) -> dict:
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"), "--format", "json", "-q")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_mt_systems_benchmark(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200")
    result = subprocess.run(
        [sys.executable, "examples/mt-systems/benchmark.py", "--output", str(tmp_path / "runs")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout.splitlines()
    assert table[0].split() == ["system", "bleu", "chrf", "ter", "length_ratio"]
    bleu = {}
    for system in ("neural-large", "neural-small", "phrase-based"):
        aggregate = json.loads((tmp_path / "runs" / system / "aggregate.json").read_text())
        assert aggregate["name"] == f"mt-{system}" and aggregate["n_samples"] == 12
        assert aggregate["config"]["dataset"]["columns"]["prediction"] == system
        bleu[system] = aggregate["metrics"]["bleu"]["value"]
        line = next(line for line in table if line.startswith(system))
        assert f"{bleu[system]:.3f}" in line
    assert bleu["neural-large"] > bleu["neural-small"] > bleu["phrase-based"]
    assert "comparison against neural-large" in result.stdout


def test_mt_systems_bleu_is_sacrebleus_corpus_bleu(tmp_path):
    import sacrebleu

    rows = read_jsonl(EXAMPLES / "mt-systems" / "newstest.jsonl")
    aggregate = run_json(EXAMPLES / "mt-systems" / "config.yaml", tmp_path)
    width = max(len(row["references"]) for row in rows)
    streams = [[row["references"][k] if k < len(row["references"]) else None for row in rows] for k in range(width)]
    expected = sacrebleu.corpus_bleu([row["neural-large"] for row in rows], streams).score
    assert aggregate["metrics"]["bleu"]["value"] == pytest.approx(expected)


def test_asr_benchmark(tmp_path):
    import jiwer

    rows = read_jsonl(EXAMPLES / "asr-benchmark" / "calls.jsonl")
    aggregate = run_json(EXAMPLES / "asr-benchmark" / "config.yaml", tmp_path)
    metrics = aggregate["metrics"]
    refs, hyps = [row["reference"] for row in rows], [row["hypothesis"] for row in rows]
    assert metrics["wer_raw"]["value"] == pytest.approx(jiwer.wer(refs, hyps))
    normalise = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    expected = jiwer.wer(refs, hyps, reference_transform=normalise, hypothesis_transform=normalise)
    assert metrics["wer"]["value"] == pytest.approx(expected)
    assert metrics["wer"]["value"] < 0.1 < 0.3 < metrics["wer_raw"]["value"]
    assert all(entry["n"] == 12 and entry["n_errors"] == 0 for entry in metrics.values())


def test_rag_pipeline(tmp_path):
    aggregate = run_json(EXAMPLES / "rag-pipeline" / "config.yaml", tmp_path)
    metrics = aggregate["metrics"]
    assert aggregate["n_samples"] == 8
    assert metrics["recall@3"]["value"] == pytest.approx(7 / 8)
    assert metrics["citation_presence"]["value"] == pytest.approx(7 / 8)
    assert metrics["citation_presence.valid"]["value"] == pytest.approx(7 / 8)
    assert metrics["no_disclaimer"]["value"] == pytest.approx(7 / 8)
    assert all(entry["n_errors"] == 0 for entry in metrics.values())
    rows = {row["id"]: row for row in read_jsonl(tmp_path / "out" / "samples.jsonl")}
    assert rows["t-006"]["scores"]["citation_presence.valid"] == 0.5
    assert rows["t-008"]["scores"]["no_disclaimer"] == 0.0
    csv_lines = (tmp_path / "out" / "scores.csv").read_text().splitlines()
    assert len(csv_lines) == 9 and csv_lines[0].startswith("id,recall@3,mrr,token_f1,citation_presence,")


def test_custom_plugin(tmp_path):
    aggregate = run_json(EXAMPLES / "custom-plugin" / "config.yaml", tmp_path)
    assert aggregate["metrics"]["contains_answer"]["value"] == pytest.approx(4 / 6)
    assert aggregate["metrics"]["exact_match"]["value"] == 0.0
    rows = {row["id"]: row["scores"]["contains_answer"] for row in read_jsonl(tmp_path / "out" / "samples.jsonl")}
    assert rows == {"q1": 1.0, "q2": 1.0, "q3": 1.0, "q4": 0.0, "q5": 1.0, "q6": 0.0}


def test_custom_plugin_authors_own_tests_pass():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/custom-plugin"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout


def guide_files(text: str) -> dict[str, str]:
    """The files docs/plugins.md shows, each after a line 'File `name`:'."""
    pattern = re.compile(r"^File `([^`]+)`:\n\n```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
    return {name: body for name, body in pattern.findall(text)}


def test_plugin_guide_walkthrough_works_as_written(tmp_path):
    files = guide_files((REPO / "docs" / "plugins.md").read_text(encoding="utf-8"))
    assert set(files) == {"brevity.py", "answers.jsonl", "config.yaml", "test_brevity.py", "pyproject.toml"}
    folder = tmp_path / "brevity"
    folder.mkdir()
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")

    assert run_cli("validate", "config.yaml", cwd=folder).returncode == 0
    result = run_cli("run", "config.yaml", "--format", "json", "-q", cwd=folder)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["within_word_limit"]["value"] == pytest.approx(2 / 3)
    assert round(metrics["within_word_limit.mean_words"]["value"], 2) == 15.67
    assert metrics["within_word_limit"]["n_errors"] == 1
    assert metrics["within_10_words"]["value"] == pytest.approx(2 / 3)
    assert (folder / "runs" / "brevity" / "aggregate.json").exists()

    described = run_cli("describe", "within_word_limit", "--plugin", "brevity.py", cwd=folder)
    assert "  signature: within_word_limit|max_words:40|rageval:" in described.stdout
    listed = run_cli("metrics", "--plugin", "brevity.py", "--json", cwd=folder)
    assert "within_word_limit" in {entry["name"] for entry in json.loads(listed.stdout)}

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_brevity.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr

    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["entry-points"]["rageval"] == {"brevity": "brevity"}
    assert project["tool"]["setuptools"]["py-modules"] == ["brevity"]


def models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in models_in(arg)]


def config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        keys.append(key)
        for inner in models_in(field.annotation):
            keys += config_keys(inner, f"{key}.")
    return list(dict.fromkeys(keys))


def test_configs_doc_names_every_config_key():
    doc = (REPO / "docs" / "configs.md").read_text(encoding="utf-8")
    keys = config_keys(TaskConfig)
    assert {"dataset.format", "metrics.as", "bootstrap.seed", "plugins", "reports"} <= set(keys)
    missing = [key for key in keys if f"`{key.rsplit('.', 1)[-1]}`" not in doc]
    assert not missing, f"document these config keys in docs/configs.md: {missing}"
