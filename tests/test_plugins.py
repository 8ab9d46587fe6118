"""First-party plugin distributions, installed as a third party's would be, and the loader and writer hooks."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, read_jsonl, run_cli, write_jsonl

import rageval
from rageval.data import DataSource
from rageval.errors import ConfigError, DataError, PluginError, RunError
from rageval.registry import build_registry
from rageval.task import load_task
from rageval.testing import samples_from_rows

TEXTSTATS = {"length_ratio", "lexical_diversity", "readability"}
CHECKS = {"regex_match", "json_valid", "citation_presence"}


def scores_of(name: str, rows: list[dict], params: dict | None = None) -> tuple[dict, list]:
    cls = build_registry().get(name)
    metric = cls(params=cls.info.params.model_validate(params or {}))
    outcomes = metric.score_batch(samples_from_rows(rows))
    stats = np.asarray([o.stats for o in outcomes if isinstance(o, rageval.Scored)], dtype=float)
    per_sample = [metric.sample_scores(np.asarray(o.stats)) if isinstance(o, rageval.Scored) else o for o in outcomes]
    return metric.corpus_scores(stats), per_sample


# Installed: listed with the distribution's name and version; gone without entry points.


def test_installed_plugins_are_listed_with_their_distribution_and_version():
    result = run_cli("metrics", "--json")
    assert result.returncode == 0, result.stderr
    entries = {entry["name"]: entry for entry in json.loads(result.stdout)}
    for names, dist in ((TEXTSTATS, "rageval-textstats"), (CHECKS, "rageval-checks")):
        for name in names:
            assert (entries[name]["plugin"], entries[name]["plugin_version"]) == (dist, "0.1.0")
    assert entries["bleu"]["plugin"] == "rageval"
    table = run_cli("metrics")
    assert "rageval-textstats" in table.stdout and "rageval-checks" in table.stdout


def test_without_entry_points_the_plugins_are_gone():
    assert not (TEXTSTATS | CHECKS) & set(build_registry(entry_points=False).names())
    assert set(build_registry(entry_points=True).names()) >= (TEXTSTATS | CHECKS)
    listed = {entry["name"] for entry in json.loads(run_cli("metrics", "--json", "--no-plugins").stdout)}
    assert not (TEXTSTATS | CHECKS) & listed and "bleu" in listed


FAKE_PLUGIN = """
import rageval


class Constant(rageval.Metric):
    info = rageval.MetricInfo(name="constant_one", description="always 1", fields=("prediction",), higher_is_better=True)

    def sample_statistics(self, sample):
        return (1.0,)

    def scores_from_totals(self, totals):
        return {"": 1.0}


@rageval.hookimpl
def rageval_metrics():
    return [Constant]
"""

LIST_METRICS = (
    "import json, rageval; r = rageval.build_registry(); "
    "print(json.dumps({n: [r.entry(n).plugin, r.entry(n).plugin_version] for n in r.names()}))"
)


def test_installing_and_uninstalling_a_distribution_adds_and_removes_its_metrics(tmp_path):
    """A distribution is its dist-info on sys.path: present, its entry point registers; absent, nothing does."""
    site = tmp_path / "site"
    dist_info = site / "rageval_fake-2.3.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: rageval-fake\nVersion: 2.3\n")
    (dist_info / "entry_points.txt").write_text("[rageval]\nfake = rageval_fake_plugin\n")
    (site / "rageval_fake_plugin.py").write_text(textwrap.dedent(FAKE_PLUGIN))

    def metrics(extra_path: list[str]) -> dict:
        code = f"import sys; sys.path[:0] = {extra_path!r}; " + LIST_METRICS
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
        return json.loads(out.stdout)

    installed = metrics([str(site)])
    assert installed["constant_one"] == ["rageval-fake", "2.3"]
    assert installed["length_ratio"] == ["rageval-textstats", "0.1.0"]
    assert "constant_one" not in metrics([])
    (dist_info / "entry_points.txt").unlink()
    assert "constant_one" not in metrics([str(site)])


def test_an_installed_plugin_that_fails_to_import_names_itself(tmp_path):
    site = tmp_path / "site"
    dist_info = site / "rageval_broken-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: rageval-broken\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[rageval]\nbroken = rageval_broken_plugin\n")
    (site / "rageval_broken_plugin.py").write_text("raise ImportError('needs libfoo')\n")
    code = (
        f"import sys; sys.path[:0] = [{str(site)!r}]; from rageval.cli import main; raise SystemExit(main(['metrics']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert "an installed rageval plugin failed to load: ImportError: needs libfoo" in result.stderr


def test_plugin_metrics_work_in_a_config_and_carry_the_plugin_version_in_signatures(tmp_path):
    write_jsonl(
        tmp_path / "data.jsonl",
        [
            {"answer": '{"answer": "Paris"} [d1]', "gold": ["Paris"], "docs": ["d1", "d2"]},
            {"answer": "no json here", "gold": ["It is Berlin"], "docs": ["d3"]},
        ],
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            """
            name: plugins-in-a-config
            dataset:
              path: data.jsonl
              columns: {prediction: answer, references: gold, retrieved_ids: docs}
            metrics: [length_ratio, citation_presence, {name: regex_match, params: {pattern: '\\[d\\d\\]'}}]
            bootstrap: {resamples: 0}
            """
        )
    )
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"), "--format", "json", "-q")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["regex_match"]["value"] == 0.5
    assert metrics["citation_presence"]["value"] == 0.5
    assert metrics["length_ratio"]["value"] == pytest.approx((3 + 3) / (1 + 3))
    assert "|rageval-textstats:0.1.0|" in metrics["length_ratio"]["signature"]
    assert "|rageval-checks:0.1.0|" in metrics["regex_match"]["signature"]
    failed = run_cli("run", str(config), "-o", str(tmp_path / "out2"), "--no-plugins")
    assert failed.returncode == 2 and "unknown metric 'length_ratio'" in failed.stderr


# Known values of the plugin metrics.


def test_length_ratio_known_values():
    rows = [
        {"prediction": "a b c", "references": ["a b c d e f", "x y"]},
        {"prediction": "one two", "references": ["one two three four"]},
    ]
    corpus, per_sample = scores_of("length_ratio", rows)
    assert per_sample[0] == {"": 1.5, "deviation": 0.5}
    assert corpus == {"": pytest.approx(5 / 6), "deviation": pytest.approx(1 / 6)}
    shortest, _ = scores_of("length_ratio", rows, {"reference": "longest"})
    assert shortest[""] == pytest.approx(5 / 10)
    chars, _ = scores_of("length_ratio", [{"prediction": "ab c", "references": ["abcdef"]}], {"unit": "characters"})
    assert chars[""] == pytest.approx(0.5)
    empty, per_sample = scores_of("length_ratio", [{"prediction": "x", "references": ["..."]}])
    assert empty == {"": None, "deviation": None} and per_sample[0] == {"": None, "deviation": None}


def test_lexical_diversity_known_values():
    from rageval_textstats.metrics import moving_average_ttr

    tokens = ["a", "b", "a", "c", "a", "b"]
    assert moving_average_ttr(tokens, 3) == pytest.approx((2 / 3 + 3 / 3 + 2 / 3 + 3 / 3) / 4)
    assert moving_average_ttr(tokens, 10) == pytest.approx(3 / 6)
    rows = [{"prediction": "The cat the cat"}, {"prediction": "Dogs bark"}, {"prediction": "..."}]
    corpus, per_sample = scores_of("lexical_diversity", rows)
    assert per_sample[0] == {"": 0.5, "distinct_2": pytest.approx(2 / 3)}
    assert per_sample[2] == {"": None, "distinct_2": None}
    assert corpus == {"": pytest.approx(0.75), "distinct_2": pytest.approx((2 / 3 + 1) / 2)}
    cased, _ = scores_of("lexical_diversity", rows[:1], {"lowercase": False})
    assert cased[""] == 0.75


def test_readability_matches_the_flesch_formulas():
    from rageval_textstats.metrics import syllables

    assert [syllables(w) for w in ("cat", "table", "readability", "make", "the", "queue")] == [1, 2, 5, 1, 1, 1]
    text = "The cat sat on the mat. It was a happy cat."
    corpus, _ = scores_of("readability", [{"prediction": text}])
    words, sentences, syl = 11, 2, 12
    assert corpus[""] == pytest.approx(206.835 - 1.015 * words / sentences - 84.6 * syl / words)
    assert corpus["grade"] == pytest.approx(0.39 * words / sentences + 11.8 * syl / words - 15.59)


def test_regex_match_modes():
    rows = [{"prediction": "Order 1234"}, {"prediction": "1234"}, {"prediction": "no number"}]
    assert scores_of("regex_match", rows, {"pattern": r"\d+"})[0][""] == pytest.approx(2 / 3)
    assert scores_of("regex_match", rows, {"pattern": r"\d+", "mode": "fullmatch"})[0][""] == pytest.approx(1 / 3)
    assert scores_of("regex_match", rows, {"pattern": r"\d+", "expect": "no_match"})[0][""] == pytest.approx(1 / 3)
    assert scores_of("regex_match", rows, {"pattern": "ORDER", "ignore_case": True})[0][""] == pytest.approx(1 / 3)


def test_json_valid_with_a_schema_keeps_the_reason():
    schema = {"type": "object", "required": ["answer"], "properties": {"answer": {"type": "string"}}}
    cls = build_registry().get("json_valid")
    metric = cls(params=cls.info.params.model_validate({"schema": schema}))
    outcomes = metric.score_batch(
        samples_from_rows(
            [
                {"prediction": '{"answer": "Paris"}'},
                {"prediction": '```json\n{"answer": 3}\n```'},
                {"prediction": "{'answer': 'x'}"},
                {"prediction": None},
            ]
        )
    )
    assert [o.stats for o in outcomes[:3]] == [(1.0, 1.0, 1.0), (1.0, 0.0, 1.0), (0.0, 0.0, 1.0)]
    assert outcomes[1].detail == {"error": "schema: answer: 3 is not of type 'string'"}
    assert outcomes[2].detail["error"].startswith("invalid JSON: Expecting property name enclosed in double quotes")
    assert outcomes[3].reason == "prediction must be a string, got null"
    assert metric.signature().startswith("json_valid|schema:")
    unfenced = cls(params=cls.info.params.model_validate({"strip_code_fence": False}))
    assert unfenced.score_batch(samples_from_rows([{"prediction": '```json\n{"a": 1}\n```'}]))[0].stats[0] == 0.0


def test_citation_presence_by_id_and_position():
    rows = [
        {"prediction": "Opens at nine [d2].", "retrieved_ids": ["d1", "d2"]},
        {"prediction": "Closes at five [1, 3].", "retrieved_ids": ["d4", "d5"]},
        {"prediction": "Costs ten euros [d9].", "retrieved_ids": ["d6"]},
        {"prediction": "No citation.", "retrieved_ids": ["d7"]},
    ]
    corpus, per_sample = scores_of("citation_presence", rows)
    assert per_sample[1] == {"": 1.0, "valid": 0.5}
    assert per_sample[3] == {"": 0.0, "valid": None}
    assert corpus == {"": 0.5, "valid": pytest.approx(2 / 4)}
    by_id_only, _ = scores_of("citation_presence", rows, {"positions": False})
    assert by_id_only == {"": 0.25, "valid": pytest.approx(1 / 4)}


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            {"name": "regex_match", "params": {"pattern": "(unclosed"}},
            r"metrics\[0\]\.params\.pattern: Value error, not a valid regular expression",
        ),
        ({"name": "regex_match"}, r"metrics\[0\]\.params\.pattern: required key is missing"),
        (
            {"name": "json_valid", "params": {"schema": {"type": "no-such-type"}}},
            r"metrics\[0\]\.params\.schema: Value error, not a valid JSON Schema",
        ),
        (
            {"name": "citation_presence", "params": {"pattern": r"\[\d+\]"}},
            r"metrics\[0\]\.params\.pattern: Value error, the pattern needs a group",
        ),
    ],
)
def test_bad_plugin_parameters_are_config_errors(tmp_path, metric, message):
    write_jsonl(tmp_path / "data.jsonl", [{"prediction": "x", "retrieved_ids": []}])
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"name": "x", "dataset": {"path": "data.jsonl"}, "metrics": [metric]}))
    with pytest.raises(ConfigError, match=message):
        load_task(config)


# The dataset loader hook: rageval-checks' json-traces.

TRACE = {
    "trace_id": "t1",
    "input": {"question": "When does it open?"},
    "retrieval": {"documents": [{"id": "d1", "text": "Opens at nine."}, {"id": "d2", "text": "Closed Sundays."}]},
    "output": {"answer": "At nine [d1]."},
}


def test_flatten_gives_dotted_columns_and_lists_per_key():
    from rageval_checks import flatten

    row = flatten(TRACE)
    assert row["input.question"] == "When does it open?"
    assert row["retrieval.documents[].id"] == ["d1", "d2"]
    assert row["retrieval.documents[].text"] == ["Opens at nine.", "Closed Sundays."]
    assert row["retrieval.documents"] == TRACE["retrieval"]["documents"]
    assert flatten({"a": {"b": [1, 2]}, "c": []}) == {"a.b": [1, 2], "c": []}


def traces_config(tmp_path: Path, path: str, extra: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            name: traces
            dataset:
              path: {path}
              format: json-traces
              id_column: trace_id
              columns:
                prediction: output.answer
                retrieved_ids: retrieval.documents[].id
            metrics: [citation_presence]
            bootstrap: {{resamples: 0}}
            """
        )
        + extra
    )
    return config


def test_json_traces_from_a_folder_and_from_json_lines(tmp_path):
    folder = tmp_path / "traces"
    folder.mkdir()
    second = dict(TRACE, trace_id="t2", output={"answer": "No idea."})
    (folder / "b.json").write_text(json.dumps(second))
    (folder / "a.json").write_text(json.dumps(TRACE))
    (folder / "notes.txt").write_text("ignored")
    result = run_cli("run", str(traces_config(tmp_path, "traces")), "-o", str(tmp_path / "out"), "-q")
    assert result.returncode == 0, result.stderr
    rows = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert [(r["id"], r["scores"]["citation_presence"]) for r in rows] == [("t1", 1.0), ("t2", 0.0)]
    write_jsonl(tmp_path / "traces.jsonl", [TRACE, second])
    task = load_task(traces_config(tmp_path, "traces.jsonl"))
    assert task.source.kind == "plugin" and task.source.loader.plugin == "rageval-checks"
    assert [sample_id for sample_id, _ in task.source.rows()] == ["t1", "t2"]


def test_json_traces_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text(json.dumps(TRACE) + "\n[1, 2]\n")
    with pytest.raises(DataError, match=r"bad.jsonl: line 2: a trace must be a JSON object, got list"):
        load_task(traces_config(tmp_path, "bad.jsonl")).source.scan()
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    with pytest.raises(DataError, match=r"broken.jsonl: line 1: invalid JSON"):
        load_task(traces_config(tmp_path, "broken.jsonl")).source.scan()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"the folder holds no .json trace files"):
        load_task(traces_config(tmp_path, "empty")).source.scan()


def test_unknown_format_suggests_close_names(tmp_path):
    write_jsonl(tmp_path / "t.jsonl", [TRACE])
    config = traces_config(tmp_path, "t.jsonl")
    config.write_text(config.read_text().replace("format: json-traces", "format: json-trace"))
    result = run_cli("run", str(config))
    assert result.returncode == 2
    assert "dataset.format: unknown format 'json-trace'; did you mean 'json-traces'?" in result.stderr
    assert "Formats: jsonl, json, csv, tsv, parquet, json-traces" in result.stderr


def test_a_builtin_format_can_be_named_for_any_extension(tmp_path):
    (tmp_path / "data.txt").write_text('{"prediction": "a", "references": ["a"]}\n')
    config = tmp_path / "config.yaml"
    raw = {"name": "x", "dataset": {"path": "data.txt", "format": "jsonl"}, "metrics": ["bleu"]}
    config.write_text(json.dumps(raw))
    assert load_task(config).source.kind == "jsonl"
    raw["dataset"].pop("format")
    config.write_text(json.dumps(raw))
    with pytest.raises(DataError, match="cannot tell the format of .*data.txt.*or set dataset.format"):
        load_task(config)


def hook_plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, value in hooks.items():

        def implementation(value=value):
            if isinstance(value, Exception):
                raise value
            return value

        implementation.__name__ = hook
        setattr(module, hook, rageval.hookimpl(implementation))
    return module


def test_a_plugin_loader_picked_by_extension(tmp_path):
    def read_pairs(path, config):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            hyp, ref = line.split("|")
            yield number, {"prediction": hyp, "references": [ref]}

    plugin = hook_plugin("pairs", rageval_dataset_loaders={"pairs": read_pairs})
    registry = build_registry(entry_points=False, plugins=[plugin])
    assert registry.loaders["pairs"].plugin == "pairs"
    (tmp_path / "data.pairs").write_text("a b|a b\nc|d\n")
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"name": "x", "dataset": {"path": "data.pairs"}, "metrics": ["wer"]}))
    task = load_task(config, registry)
    assert task.source.scan().n_rows == 2


@pytest.mark.parametrize(
    ("loader", "message"),
    [
        (lambda path, config: iter([{"prediction": "x"}]), r"plugin 'custom': dataset loader 'custom' yielded"),
        (lambda path, config: 1 / 0, r"plugin 'custom': dataset loader 'custom' failed on .*: ZeroDivisionError"),
    ],
)
def test_a_loader_that_breaks_is_an_error_naming_its_plugin(tmp_path, loader, message):
    registry = build_registry(
        entry_points=False, plugins=[hook_plugin("custom", rageval_dataset_loaders={"custom": loader})]
    )
    (tmp_path / "data.bin").write_text("x")
    source = DataSource.open(
        rageval.TaskConfig.model_validate(
            {"name": "x", "dataset": {"path": "data.bin", "format": "custom"}, "metrics": ["bleu"]}
        ).dataset,
        tmp_path,
        registry.loaders,
    )
    with pytest.raises(PluginError, match=message):
        source.scan()


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"rageval_dataset_loaders": {"csv": print}}, r"plugin 'p': dataset loader 'csv' would replace the built-in"),
        ({"rageval_dataset_loaders": {"Bad Name": print}}, r"dataset loader name 'Bad Name' must be lowercase"),
        ({"rageval_dataset_loaders": ["x"]}, r"plugin 'p': rageval_dataset_loaders must return a dict"),
        ({"rageval_report_writers": {"w": "not callable"}}, r"plugin 'p': report writer 'w' is 'not callable'"),
        ({"rageval_report_writers": RuntimeError("boom")}, r"plugin 'p': rageval_report_writers raised RuntimeError"),
    ],
)
def test_broken_loader_and_writer_hooks_name_the_plugin(hooks, message):
    with pytest.raises(PluginError, match=message):
        build_registry(entry_points=False, plugins=[hook_plugin("p", **hooks)])


def test_two_plugins_with_one_writer_name_are_refused():
    first = hook_plugin("first", rageval_report_writers={"w": print})
    second = hook_plugin("second", rageval_report_writers={"w": print})
    with pytest.raises(
        PluginError, match="report writer 'w' is registered twice: by plugin 'first' and by plugin 'second'"
    ):
        build_registry(entry_points=False, plugins=[first, second])


# The report writer hook: rageval-textstats' scores-csv.


def test_scores_csv_report(tmp_path):
    write_jsonl(
        tmp_path / "data.jsonl",
        [
            {"id": "a", "prediction": "The cat sat.", "references": ["The cat sat down."]},
            {"id": "b", "prediction": 7, "references": ["x"]},
        ],
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "name": "csv",
                "dataset": {"path": "data.jsonl", "id_column": "id"},
                "metrics": ["length_ratio", "readability"],
                "reports": ["scores-csv"],
                "bootstrap": {"resamples": 0},
            }
        )
    )
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"), "-q")
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "out" / "scores.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "length_ratio", "length_ratio.deviation", "readability", "readability.grade", "errors"]
    assert rows[1][:3] == ["a", "0.75", "0.25"]
    assert rows[2][0] == "b" and rows[2][1:5] == ["", "", "", ""]
    assert "length_ratio: prediction must be a string, got int" in rows[2][5]


def test_unknown_report_writer_suggests_close_names(tmp_path):
    write_jsonl(tmp_path / "data.jsonl", [{"prediction": "a", "references": ["a"]}])
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps({"name": "x", "dataset": {"path": "data.jsonl"}, "metrics": ["wer"], "reports": ["csv"]})
    )
    result = run_cli("validate", str(config))
    assert result.returncode == 2
    assert "reports[0]: unknown report writer 'csv'" in result.stderr and "Available: scores-csv" in result.stderr
    assert "none (install or name a plugin" in run_cli("validate", str(config), "--no-plugins").stderr


def test_a_writer_that_raises_fails_the_run_naming_its_plugin(tmp_path):
    def explode(output_dir, aggregate):
        raise OSError("disk full")

    write_jsonl(tmp_path / "data.jsonl", [{"prediction": "a", "references": ["a"]}])
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps({"name": "x", "dataset": {"path": "data.jsonl"}, "metrics": ["wer"], "reports": ["boom"]})
    )
    registry = build_registry(
        entry_points=False, plugins=[hook_plugin("exploding", rageval_report_writers={"boom": explode})]
    )
    task = load_task(config, registry)
    with pytest.raises(RunError, match="report writer 'boom' of plugin 'exploding' failed: OSError: disk full"):
        rageval.run_task(task, tmp_path / "out")
    assert (tmp_path / "out" / "aggregate.json").exists()


def test_a_local_plugin_can_bring_loaders_and_writers(tmp_path):
    (tmp_path / "extras.py").write_text(
        textwrap.dedent(
            """
            import json
            import rageval


            def read_tsv_pairs(path, config):
                for number, line in enumerate(path.read_text().splitlines(), start=1):
                    hyp, ref = line.split("\\t")
                    yield number, {"prediction": hyp, "references": [ref]}


            def write_summary(output_dir, aggregate):
                values = {name: entry["value"] for name, entry in aggregate["metrics"].items()}
                (output_dir / "summary.json").write_text(json.dumps(values))


            @rageval.hookimpl
            def rageval_dataset_loaders():
                return {"pairs": read_tsv_pairs}


            @rageval.hookimpl
            def rageval_report_writers():
                return {"summary": write_summary}
            """
        )
    )
    (tmp_path / "data.pairs").write_text("a b\ta b\nc\td\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "name": "x",
                "plugins": ["extras.py"],
                "dataset": {"path": "data.pairs"},
                "metrics": ["wer"],
                "reports": ["summary"],
                "bootstrap": {"resamples": 0},
            }
        )
    )
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"), "-q")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == {"wer": pytest.approx(1 / 3)}
