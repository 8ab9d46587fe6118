"""Generated hostile input: random datasets through every built-in metric, mutated configs, merge properties.

Hypothesis runs derandomized (a fixed seed per test, no example database), so every run of the
suite tries the same examples; the ``@example`` rows pin cases that once broke a run.
"""

from __future__ import annotations

import json
import math
import tempfile
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from helpers import REPO, read_jsonl, write_jsonl
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from rageval.cli import main
from rageval.config import parse_config
from rageval.context import RunContext
from rageval.metric import Metric, Scored, stack_statistics
from rageval.registry import build_registry
from rageval.runner import run_task
from rageval.sample import CANONICAL_FIELDS
from rageval.task import build_task
from rageval.testing import samples_from_rows

REGISTRY = build_registry(entry_points=False)
MODEL_LIBRARIES = {"torch", "transformers", "sentence-transformers"}
MODEL_METRICS = [name for name in REGISTRY.names() if MODEL_LIBRARIES & set(REGISTRY.get(name).info.libraries)]
PLAIN_METRICS = [name for name in REGISTRY.names() if name not in MODEL_METRICS]
FUZZ = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
}


def test_the_metric_lists_cover_every_builtin_metric():
    assert len(PLAIN_METRICS) >= 25 and len(MODEL_METRICS) >= 6
    assert set(PLAIN_METRICS) | set(MODEL_METRICS) == set(REGISTRY.names())


# Random datasets: every value of every type in every field, and the run accounts for every row.

ANY_CHAR = st.characters(exclude_categories=())
"""Any code point, lone surrogates included (JSON can carry them as \\ud800 escapes)."""

huge_text = st.builds(lambda piece, n: piece * n, st.text(ANY_CHAR, min_size=1, max_size=3), st.integers(5_000, 40_000))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-3, 3),
    st.floats(),
    st.text(ANY_CHAR, max_size=12),
    st.sampled_from(["", " ", "the cat sat", "Paris", "d1", "0", "1", "NaN", "\x00", "..", "../x"]),
)
short_text = st.sampled_from(["the cat sat", "a dog ran", "", "Paris", "the cat sat on the mat", "数据 é"])
doc_ids = st.lists(st.sampled_from(["d1", "d2", "d3", "d4"]), max_size=4)
PLAUSIBLE = {
    "prediction": short_text | st.integers(0, 2) | st.floats(-5, 5),
    "references": st.lists(short_text, min_size=1, max_size=2) | short_text,
    "source": short_text,
    "question": short_text,
    "contexts": st.lists(short_text, max_size=3),
    "text": short_text,
    "label": st.integers(0, 2) | st.floats(-5, 5) | st.sampled_from(["pos", "neg"]),
    "prediction_scores": st.floats(0, 1) | st.lists(st.floats(0, 1), min_size=2, max_size=3),
    "retrieved_ids": doc_ids,
    "relevant_ids": doc_ids | st.dictionaries(st.sampled_from(["d1", "d2", "d3"]), st.integers(0, 3), max_size=3),
}
"""Values of the type each field expects, so that rows get scored as well as failed."""
hostile = st.one_of(
    scalars,
    huge_text,
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=8,
    ),
)
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {field: PLAUSIBLE[field] | hostile for field in CANONICAL_FIELDS}, optional={"extra": hostile}
    ),
    min_size=1,
    max_size=7,
)
SURROGATE_ROWS = [
    {**dict.fromkeys(CANONICAL_FIELDS, "x\ud800 y"), "references": ["x\udfff y"], "extra": "\udc00"},
    {**dict.fromkeys(CANONICAL_FIELDS, None), "prediction": "ok", "references": ["ok"]},
]
HUGE_NUMBER_ROWS = [
    {**dict.fromkeys(CANONICAL_FIELDS, None), "prediction": 10**400, "label": 1e308, "prediction_scores": [1e308]},
    {**dict.fromkeys(CANONICAL_FIELDS, None), "prediction": 1.7976931348623157e308, "label": True},
]


def finite_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and math.isfinite(value))


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


@settings(max_examples=60, **FUZZ)
@given(rows=rows_strategy, batch_size=st.integers(1, 4))
@example(rows=SURROGATE_ROWS, batch_size=1)
@example(rows=HUGE_NUMBER_ROWS, batch_size=2)
def test_random_rows_are_each_scored_or_failed_by_every_metric(tmp_path, rows, batch_size):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    with open(folder / "data.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:  # ASCII escapes keep lone surrogates, NaN and Infinity as JSON readers accept them
            handle.write(json.dumps(row) + "\n")
    raw = {
        "name": "fuzz",
        "dataset": {"path": str(folder / "data.jsonl")},
        "metrics": PLAIN_METRICS,
        "batch_size": batch_size,
        "bootstrap": {"resamples": 20, "seed": 1},
    }
    result = run_task(build_task(parse_config(raw), REGISTRY, folder), folder / "out")

    written = read_jsonl(folder / "out" / "samples.jsonl")
    event(f"{sum(bool(row['stats']) for row in written)} of {len(rows)} rows scored by some metric")
    assert [row["id"] for row in written] == list(range(len(rows)))
    for row in written:
        assert not set(row["stats"]) & set(row["errors"]), row["id"]
        assert set(row["stats"]) | set(row["errors"]) == set(PLAIN_METRICS), row["id"]
        assert all(isinstance(reason, str) and reason for reason in row["errors"].values())
    aggregate = strict_json((folder / "out" / "aggregate.json").read_text(encoding="utf-8"))
    assert aggregate == json.loads(json.dumps(result.aggregate))
    assert aggregate["n_samples"] == len(rows)
    for name, entry in aggregate["metrics"].items():
        assert entry["n"] + entry["n_errors"] == len(rows), name
        assert finite_or_none(entry["value"]) and finite_or_none(entry["mean"]), name
        assert entry["ci95"] is None or all(finite_or_none(bound) for bound in entry["ci95"]), name
    for other in ("report.md", "report.html", "run.json"):
        (folder / "out" / other).read_text(encoding="utf-8")


@pytest.mark.parametrize("output", ["table", "json", "md"])
def test_lone_surrogates_in_the_data_print_as_escapes(tmp_path, capsys, output):
    (tmp_path / "data.jsonl").write_text(
        '{"id": "a\\ud800", "hyp": "x\\udfff y", "ref": "x y", "g": "\\udc00"}\n{"id": "b", "hyp": "ok", "ref": "ok", "g": "n"}\n'
    )
    (tmp_path / "task.yaml").write_text(
        "name: s\ndataset: {path: data.jsonl, id_column: id, columns: {prediction: hyp, references: ref}}\n"
        "metrics: [bleu, wer]\ngroup_by: g\nbootstrap: {resamples: 10}\n"
    )
    capsys.readouterr()
    assert main(["run", str(tmp_path / "task.yaml"), "-o", str(tmp_path / "out"), "--format", output]) == 0
    printed = capsys.readouterr().out
    assert "\\udc00" in printed and "\udc00" not in printed
    assert [row["id"] for row in read_jsonl(tmp_path / "out" / "samples.jsonl")] == ["a\ud800", "b"]


@pytest.mark.slow
@pytest.mark.models
@settings(max_examples=4, **FUZZ)
@given(
    rows=st.lists(
        st.fixed_dictionaries({field: PLAUSIBLE[field] | scalars for field in CANONICAL_FIELDS}), min_size=1, max_size=4
    )
)
@example(rows=SURROGATE_ROWS)
def test_random_rows_through_the_model_backed_metrics(tmp_path, tiny_gpt2, rows):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    with open(folder / "data.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    metrics = [
        name if name != "perplexity" else {"name": name, "params": {"model": str(tiny_gpt2), "device": "cpu"}}
        for name in MODEL_METRICS
    ]
    raw = {"name": "fuzz", "dataset": {"path": str(folder / "data.jsonl")}, "metrics": metrics}
    raw["bootstrap"] = {"resamples": 0}
    result = run_task(build_task(parse_config(raw), REGISTRY, folder), folder / "out")
    for row in read_jsonl(folder / "out" / "samples.jsonl"):
        assert set(row["stats"]) | set(row["errors"]) == set(MODEL_METRICS)
    for name, entry in result.aggregate["metrics"].items():
        assert entry["n"] + entry["n_errors"] == len(rows), name
        assert finite_or_none(entry["value"]) and finite_or_none(entry["mean"]), name


# A field without a column: one line, exit 2, nothing written.


def field_groups(name: str) -> list[tuple[str, ...]]:
    """Each required field alone, and each any-of group whole (dropping one of a group leaves the other)."""
    info = REGISTRY.get(name).info
    return [(field,) for field in info.fields] + [tuple(group) for group in info.any_of]


@settings(max_examples=25, **FUZZ)
@given(
    name=st.sampled_from(PLAIN_METRICS),
    choice=st.integers(0, 10),
    n_rows=st.integers(1, 3),
)
def test_a_column_missing_from_every_row_is_one_line_exit_2(tmp_path, capsys, name, choice, n_rows):
    groups = field_groups(name)
    dropped = groups[choice % len(groups)]
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    row = {field: "x" for field in CANONICAL_FIELDS if field not in dropped}
    write_jsonl(folder / "data.jsonl", [row] * n_rows)
    (folder / "task.yaml").write_text(f"name: gaps\ndataset: {{path: data.jsonl}}\nmetrics: [{name}]\n")
    capsys.readouterr()
    code = main(["run", str(folder / "task.yaml"), "-o", str(folder / "out"), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rageval: error: metric {name!r} needs field"), err
    assert all(repr(field) in lines[0] for field in dropped)
    assert not (folder / "out").exists()


# Mutated example configs: valid, or exit 2 with one line; never a traceback or an internal error.

EXAMPLE_CONFIGS = sorted(path for path in (REPO / "configs").glob("*.yaml") if path.stem != "rag")
"""configs/rag.yaml is left out: each run would load a model (test_security runs it with sockets blocked)."""
config_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.sampled_from([2**63, -(2**31), 10**6 + 1]),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(["bleu", "wer", "../x", "/", "a/b", "x.py", "!!python/name:os.system", "\x00", "processes"]),
)
config_values = st.recursive(
    config_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def nodes(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    found = [(path, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found += nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += nodes(item, (*path, index))
    return found


def parent_of(root: Any, path: tuple) -> Any:
    for part in path[:-1]:
        root = root[part]
    return root


@st.composite
def mutated_configs(draw: st.DrawFn) -> tuple[str, bytes]:
    base = draw(st.sampled_from(EXAMPLE_CONFIGS))
    raw = yaml.safe_load(base.read_text(encoding="utf-8"))
    raw["dataset"]["path"] = str((base.parent / raw["dataset"]["path"]).resolve())
    raw["dataset"]["limit"] = 12
    raw["bootstrap"] = {"resamples": 0}
    for _ in range(draw(st.integers(1, 3))):
        path, value = draw(st.sampled_from(nodes(raw)))
        kind = draw(st.sampled_from(["delete", "replace", "add key", "rename key", "wrap"]))
        if kind == "add key" and isinstance(value, dict):
            value[draw(st.text(min_size=1, max_size=8))] = draw(config_values)
        elif not path:
            continue
        elif kind == "delete":
            del parent_of(raw, path)[path[-1]]
        elif kind == "rename key" and isinstance(path[-1], str):
            holder = parent_of(raw, path)
            holder[path[-1][:-1] or "_"] = holder.pop(path[-1])
        elif kind == "wrap":
            parent_of(raw, path)[path[-1]] = draw(st.sampled_from([[value], {"value": value}]))
        else:
            parent_of(raw, path)[path[-1]] = draw(config_values)
    text = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    edit = draw(st.sampled_from(["none", "none", "drop line", "repeat line", "insert", "truncate", "bytes"]))
    lines = text.splitlines(keepends=True)
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    if edit == "drop line":
        del lines[at]
    elif edit == "repeat line":
        lines.insert(at, lines[at])
    elif edit == "insert":
        lines.insert(at, draw(st.sampled_from(["\t", ": :", "- ", "{", "&a", "*missing", "!!python/object:os.system"])))
    text = "".join(lines)
    data = text.encode("utf-8", "surrogatepass")
    if edit == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif edit == "bytes":
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return f"{base.stem}: {edit}", data


def pinned(edit: str, **changes: Any) -> tuple[str, bytes]:
    """configs/asr.yaml as the fuzz test prepares it, with ``changes`` at the top level."""
    raw = yaml.safe_load((REPO / "configs" / "asr.yaml").read_text(encoding="utf-8"))
    raw["dataset"]["path"] = str((REPO / "configs" / raw["dataset"]["path"]).resolve())
    raw.update(changes)
    return f"asr: {edit}", yaml.safe_dump(raw, allow_unicode=True).encode("utf-8")


@settings(max_examples=80, **FUZZ)
@given(config=mutated_configs())
@example(config=pinned("line break in a key", **{"\r": None}))
@example(config=pinned("unicode line break in a key", **{" \x85": None, "\u2028": 1}))
@example(config=pinned("line break in a path", dataset={"path": "a\nb.jsonl"}))
@example(config=(pinned("NUL byte")[0], b"\x00" + pinned("NUL byte")[1]))
def test_mutated_example_configs_run_or_fail_with_one_line(tmp_path, capsys, config):
    _, data = config
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "task.yaml").write_bytes(data)
    capsys.readouterr()
    code = main(["run", str(folder / "task.yaml"), "-o", str(folder / "out"), "-q"])
    err = capsys.readouterr().err
    event(f"exit {code}")
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rageval: error: "), err
    else:
        assert (folder / "out" / "aggregate.json").is_file()


# Merge: the corpus score of shuffled, re-split data equals the whole's, for every metric.

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "é", "数据"]
text = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)
dyadic = st.integers(-4000, 4000).map(lambda k: k / 4)
"""Multiples of 1/4: their sums are exact in any order, so merged scores must equal exactly."""
DOC_IDS = [f"d{i}" for i in range(8)]


@st.composite
def rows_for(draw: st.DrawFn, name: str) -> list[dict[str, Any]]:
    info = REGISTRY.get(name).info
    fields = {*info.fields, *(field for group in info.any_of for field in group)}
    n = draw(st.integers(2, 12))
    if "retrieved_ids" in fields:
        ranked = st.lists(st.sampled_from(DOC_IDS), unique=True, max_size=6)
        relevant = st.lists(st.sampled_from(DOC_IDS), unique=True, max_size=3) | st.dictionaries(
            st.sampled_from(DOC_IDS), st.integers(0, 3), max_size=3
        )
        return [{"retrieved_ids": draw(ranked), "relevant_ids": draw(relevant)} for _ in range(n)]
    if info.any_of or "prediction_scores" in fields:
        classes = draw(st.integers(2, 3))
        rows = []
        for _ in range(n):
            weights = draw(st.lists(st.integers(1, 8), min_size=classes, max_size=classes))
            scores = [w / sum(weights) for w in weights]
            rows.append(
                {
                    "label": draw(st.integers(0, classes - 1)),
                    "prediction": int(np.argmax(scores)),
                    "prediction_scores": scores[1] if classes == 2 else scores,
                }
            )
        return rows
    if "label" in fields:
        return [{"label": draw(dyadic), "prediction": draw(dyadic)} for _ in range(n)]
    return [{"prediction": draw(text), "references": draw(st.lists(text, min_size=1, max_size=2))} for _ in range(n)]


def assert_same_scores(got: dict, want: dict, name: str, rel_tol: float = 1e-12) -> None:
    assert set(got) == set(want), name
    for key in want:
        a, b = got[key], want[key]
        if a is None or b is None:
            assert a is None and b is None, (name, key, a, b)
        else:
            assert math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12), (name, key, a, b)


def stacked(outcomes: list) -> np.ndarray:
    return stack_statistics([outcome.stats for outcome in outcomes if isinstance(outcome, Scored)])


def check_merge(
    metric: type[Metric], params: dict, rows: list[dict], order: list[int], cuts: list[int], rel_tol: float = 1e-12
) -> None:
    """Score the rows whole, then shuffled and cut into parts each scored by a fresh instance: same corpus scores."""
    context = RunContext()

    def build() -> Metric:
        return metric(params=metric.info.params.model_validate(params), context=context)

    samples = samples_from_rows(rows)
    whole = build().score_batch(samples)
    if not any(isinstance(outcome, Scored) for outcome in whole):
        return
    reference = build()
    expected = reference.corpus_scores(stacked(whole))
    shuffled = [samples[i] for i in order]
    bounds = [0, *sorted({cut % (len(samples) + 1) for cut in cuts}), len(samples)]
    parts = [shuffled[start:end] for start, end in pairwise(bounds) if end > start]
    part_outcomes = [build().score_batch(part) for part in parts]
    outcomes = [outcome for part in part_outcomes for outcome in part]
    by_id = {sample.id: outcome for sample, outcome in zip(shuffled, outcomes)}
    for sample, outcome in zip(samples, whole):
        assert type(by_id[sample.id]) is type(outcome), (metric.info.name, sample.id)
    name = metric.info.name
    assert_same_scores(reference.corpus_scores(stacked(outcomes)), expected, name, rel_tol)
    if metric.additive:
        totals = [stacked(part).sum(axis=0) for part in reversed(part_outcomes) if stacked(part).size]
        summed = sum(totals, np.zeros(stacked(whole).shape[1]))
        assert_same_scores(reference.scores_from_totals(summed), expected, name, rel_tol)


@pytest.mark.parametrize("name", PLAIN_METRICS)
@settings(max_examples=12, **FUZZ)
@given(data=st.data())
def test_corpus_score_of_shuffled_and_resplit_data_equals_the_whole(name, data):
    rows = data.draw(rows_for(name), label="rows")
    order = data.draw(st.permutations(range(len(rows))), label="order")
    cuts = data.draw(st.lists(st.integers(0, len(rows)), max_size=4), label="cuts")
    check_merge(REGISTRY.get(name), {}, rows, order, cuts)


MODEL_ROWS = [
    {
        "prediction": "Paris is the capital of France.",
        "references": ["The capital of France is Paris."],
        "question": "What is the capital of France?",
        "contexts": ["Paris is the capital and largest city of France.", "Lyon is a city in France."],
        "text": "the cat sat on the mat",
    },
    {
        "prediction": "The tower was built in 1889 and is made of iron.",
        "references": ["It was finished in 1889."],
        "question": "When was the tower built?",
        "contexts": ["The tower was built in eighteen eighty nine."],
        "text": "a dog ran in the park with a red ball",
    },
    {
        "prediction": "She reads every night.",
        "references": ["She reads a book each night."],
        "question": "What does she do at night?",
        "contexts": ["She reads a book every night before she sleeps."],
        "text": "water boils at one hundred degrees",
    },
    {
        "prediction": "",
        "references": ["Water boils at 100 degrees at sea level."],
        "question": "At what temperature does water boil?",
        "contexts": [],
        "text": "",
    },
]


@pytest.mark.slow
@pytest.mark.models
@pytest.mark.parametrize("name", MODEL_METRICS)
@settings(max_examples=3, **FUZZ)
@given(data=st.data())
def test_model_backed_corpus_scores_merge_too(name, tiny_gpt2, data):
    params = {"model": str(tiny_gpt2), "device": "cpu"} if name == "perplexity" else {"device": "cpu"}
    order = data.draw(st.permutations(range(len(MODEL_ROWS))), label="order")
    cuts = data.draw(st.lists(st.integers(0, len(MODEL_ROWS)), max_size=3), label="cuts")
    check_merge(REGISTRY.get(name), params, MODEL_ROWS, order, cuts, rel_tol=1e-5)
