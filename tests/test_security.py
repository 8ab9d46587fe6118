"""Security: a config never runs code it did not name, outputs stay in their folder, no pickle, no network.

Related checks elsewhere: test_config.py (safe YAML at the top level, ``--set`` tags),
test_local_plugins.py (a plugin file beside a config is imported only when ``plugins:`` names it),
test_runner.py (default output folder names, refusing to overwrite a folder that holds no run).
"""

from __future__ import annotations

import ast
import json
import os
import pickletools
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO, read_jsonl, write_jsonl

import rageval.config
from rageval.cli import main
from rageval.config import parse_config
from rageval.errors import ConfigError, RunError
from rageval.registry import build_registry
from rageval.sample import Sample
from rageval.task import build_task

SOURCE_ROOTS = [REPO / "rageval", *sorted((REPO / "plugins").glob("*/src"))]
PY_FILES = sorted(path for root in SOURCE_ROOTS for path in root.rglob("*.py"))
REGISTRY = build_registry(entry_points=False)
MODEL_LIBRARIES = {"torch", "transformers", "sentence-transformers"}
MODEL_METRICS = [name for name in REGISTRY.names() if MODEL_LIBRARIES & set(REGISTRY.get(name).info.libraries)]


def cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rageval: error: "), err
    return lines[0]


def small_project(folder: Path, body: str) -> Path:
    write_jsonl(folder / "data.jsonl", [{"hyp": "the cat sat", "ref": "the cat sat down"}, {"hyp": "a", "ref": "b"}])
    config = folder / "task.yaml"
    config.write_text(body, encoding="utf-8")
    return config


BASE = "name: t\ndataset: {path: data.jsonl, columns: {prediction: hyp, references: ref}}\n"


def parse_tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


# YAML: the safe loader only; object tags never construct anything.

TAGS = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:argparse.Namespace {{x: 1}}",
    "!function os.system",
]
PLACES = [
    "name: {tag}\ndataset: {{path: data.jsonl}}\nmetrics: [bleu]\n",
    "name: t\ndataset: {{path: {tag}}}\nmetrics: [bleu]\n",
    "name: t\ndataset: {{path: data.jsonl}}\nmetrics: [{{name: bleu, params: {{tokenize: {tag}}}}}]\n",
    "name: t\ndataset: {{path: data.jsonl}}\nmetrics:\n  - {tag}\n",
    "name: t\ndataset: {{path: data.jsonl}}\nmetrics: [bleu]\nplugins: [{tag}]\n",
]


@pytest.mark.parametrize("place", range(len(PLACES)))
@pytest.mark.parametrize("tag", TAGS)
def test_yaml_object_tags_anywhere_in_a_config_are_refused_and_never_run(tmp_path, capsys, tag, place):
    marker = tmp_path / "ran"
    config = small_project(tmp_path, PLACES[place].format(tag=tag.format(marker=marker)))
    code, _, err = cli(capsys, "validate", str(config))
    assert code == 2 and "invalid YAML" in one_line(err)
    assert not marker.exists()


def test_every_yaml_load_in_the_code_uses_a_safe_loader():
    unsafe = {"unsafe_load", "full_load", "unsafe_load_all", "full_load_all"}
    loads = []
    for path in PY_FILES:
        for node in ast.walk(parse_tree(path)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            if not (isinstance(owner, ast.Name) and owner.id == "yaml"):
                continue
            assert node.func.attr not in unsafe, f"{path}:{node.lineno}: yaml.{node.func.attr}"
            if node.func.attr in ("load", "load_all"):
                loader = next((kw.value for kw in node.keywords if kw.arg == "Loader"), None)
                assert isinstance(loader, ast.Name), f"{path}:{node.lineno}: yaml.{node.func.attr} without a Loader"
                loads.append((path, loader.id))
    assert loads, "the config reader was not found"
    for path, name in loads:
        module = rageval.config if path.name == "config.py" else None
        assert module is not None, f"{path}: a YAML loader outside rageval/config.py"
        assert issubclass(getattr(module, name), yaml.SafeLoader)


def test_no_code_evaluates_text():
    for path in PY_FILES:
        for node in ast.walk(parse_tree(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec"), f"{path}:{node.lineno}: {node.func.id}()"


def test_set_values_are_data_never_code(tmp_path, capsys):
    marker = tmp_path / "ran"
    config = small_project(tmp_path, BASE + "metrics: [bleu]\nbootstrap: {resamples: 0}\n")
    code_like = f"__import__('os').system('touch {marker}')"
    code, _, err = cli(capsys, "run", str(config), "-o", str(tmp_path / "out"), "--set", f"name={code_like}", "-q")
    assert code == 0, err
    assert json.loads((tmp_path / "out" / "aggregate.json").read_text())["name"] == code_like
    for value in (f"!!python/object/apply:os.system ['touch {marker}']", "!!python/name:os.system"):
        code, _, err = cli(capsys, "validate", str(config), "--set", f"dataset.path={value}")
        assert code == 2 and "value is not valid YAML" in one_line(err)
    assert not marker.exists()


def test_a_billion_laughs_config_is_refused_quickly(tmp_path, capsys):
    levels = ['&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"&a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    config = small_project(tmp_path, BASE + f"metrics: [bleu]\nbatch_size: [{', '.join(levels)}]\n")
    code, _, err = cli(capsys, "validate", str(config))
    assert code == 2 and "once YAML aliases are expanded" in one_line(err)
    deep = small_project(tmp_path, BASE + "metrics: [bleu]\nbatch_size: " + "[" * 3000 + "]" * 3000 + "\n")
    code, _, err = cli(capsys, "validate", str(deep))
    assert code == 2 and "nested too deeply" in one_line(err)


def test_yaml_aliases_of_ordinary_size_still_work():
    raw = yaml.safe_load("params: &p {labels: [a, b]}\nagain: *p\n")
    rageval.config.check_expanded_size(raw, "config")
    with pytest.raises(ConfigError, match="more than 100,000 values"):
        rageval.config.check_expanded_size([[list(range(1000))] * 200], "config")


# Plugins: imported only when a config's plugins: or an installed entry point names them.

SNEAKY = "open({marker!r}, 'w').close()\n"
NOT_PLUGINS = [
    "metrics: [sneaky]\n",
    "metrics: [sneaky.Metric]\n",
    "metrics: [{name: bleu, as: sneaky}]\nreports: [sneaky]\n",
    "metrics: [bleu]\ngroup_by: [sneaky]\n",
    "task: sneaky\n",
]


@pytest.mark.parametrize("body", NOT_PLUGINS)
def test_a_module_named_anywhere_but_plugins_is_never_imported(tmp_path, capsys, monkeypatch, body):
    marker = tmp_path / "imported"
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "sneaky.py").write_text(SNEAKY.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    config = small_project(tmp_path, BASE.replace("data.jsonl,", "data.jsonl, format: sneaky,", 1) + body)
    for candidate in (config, small_project(tmp_path, BASE + body)):
        code, _, err = cli(capsys, "run", str(candidate), "-o", str(tmp_path / "out"), "-q")
        assert code == 2, err
        one_line(err)
    assert not marker.exists() and "sneaky" not in sys.modules
    control = small_project(tmp_path, BASE + "metrics: [bleu]\nplugins: [sneaky]\n")
    code, _, err = cli(capsys, "validate", str(control))
    assert code == 2 and "defines no rageval hook" in one_line(err)
    assert marker.exists()  # named in plugins:, it is imported (and refused: it registers nothing)
    sys.modules.pop("sneaky", None)


def test_installed_plugins_are_not_imported_with_no_plugins(tmp_path):
    config = small_project(tmp_path, BASE + "metrics: [bleu]\n")
    script = (
        "import sys\nfrom rageval.cli import main\n"
        f"assert main(['validate', {str(config)!r}, '--no-plugins']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('rageval_')))\n"
        f"assert main(['validate', {str(config)!r}]) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('rageval_')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    without, with_plugins = (line for line in result.stdout.splitlines() if line.startswith("["))
    assert without == "[]"
    assert "rageval_textstats" in with_plugins and "rageval_checks" in with_plugins


# trust_remote_code: off unless a config sets it, for that metric's model only.


def test_remote_code_is_off_by_default_in_every_model_backed_metric():
    assert MODEL_METRICS
    for name in MODEL_METRICS:
        field = REGISTRY.get(name).info.params.model_fields["trust_remote_code"]
        assert field.default is False, name


@pytest.mark.models
def test_remote_code_reaches_only_the_loader_of_the_metric_that_sets_it(tmp_path, monkeypatch):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    transformers = pytest.importorskip("transformers")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    seen: list[tuple[str, bool]] = []

    def recorder(kind: str) -> Any:
        def load(*args: Any, **kwargs: Any) -> Any:
            seen.append((kind, kwargs["trust_remote_code"]))
            raise RuntimeError("not loading in this test")

        return load

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", recorder("embedding"))
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", recorder("transformers"))
    trusted = {"model": str(model), "device": "cpu", "trust_remote_code": True}
    default = {"model": str(model), "device": "cpu"}
    metrics = [
        {"name": "semantic_similarity", "params": trusted},
        {"name": "answer_relevance", "params": default},
        {"name": "faithfulness", "params": {**default, "scorer": "nli"}},
        {"name": "faithfulness", "as": "trusted_faithfulness", "params": {**trusted, "scorer": "nli"}},
        {"name": "perplexity", "params": default},
    ]
    write_jsonl(tmp_path / "data.jsonl", [{"prediction": "a b"}])
    raw = {"name": "remote", "dataset": {"path": "data.jsonl"}, "metrics": metrics}
    task = build_task(parse_config(raw), REGISTRY, tmp_path)
    sample = Sample(id=0, prediction="a b", references=["a"], question="q", contexts=["a b"], text="a b")
    for configured in task.metrics:
        with pytest.raises(RunError, match="could not be loaded: not loading in this test"):
            configured.metric.score_batch([sample])
    assert seen == [
        ("embedding", True),
        ("embedding", False),
        ("transformers", False),
        ("transformers", True),
        ("transformers", False),
    ]
    assert "trust_remote_code:yes" in task.metrics[0].metric.signature()
    assert "trust_remote_code:no" in task.metrics[1].metric.signature()


# No pickle in caches or outputs.

PICKLERS = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
IN_MEMORY_TRANSPORT = {"executors"}
"""Executors hand batches to the worker processes and actors the run starts (as multiprocessing
itself does); that is memory, never a file a later run reads."""


def test_no_module_that_reads_or_writes_files_uses_pickle():
    for path in PY_FILES:
        for node in ast.walk(parse_tree(path)):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            if PICKLERS & set(names):
                assert IN_MEMORY_TRANSPORT & set(path.relative_to(REPO).parts), f"{path}:{node.lineno} imports {names}"
            if isinstance(node, ast.Call):
                function = node.func
                called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
                owner = getattr(function, "value", None)
                assert not (called == "load" and getattr(owner, "id", "") in ("torch", "np", "numpy")), (
                    f"{path}:{node.lineno}: {getattr(owner, 'id', '')}.load can unpickle"
                )
                assert all(kw.arg != "allow_pickle" for kw in node.keywords), f"{path}:{node.lineno}: allow_pickle"


def is_pickle(data: bytes) -> bool:
    if not data.startswith(b"\x80"):
        return False
    try:
        ops = list(pickletools.genops(data))
    except Exception:
        return False
    return bool(ops) and ops[-1][0].name == "STOP" and ops[-1][2] == len(data) - 1


def assert_no_pickles(folder: Path) -> int:
    """Every file under ``folder`` is UTF-8 text (JSON where named so) or SQLite without pickled values."""
    checked = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert not is_pickle(data), path
        if data.startswith(b"SQLite format 3\x00"):
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                for table in tables:
                    for row in db.execute(f'SELECT * FROM "{table}"'):
                        assert not any(isinstance(v, bytes) and is_pickle(v) for v in row), (path, table)
        elif path.suffix in (".json", ".jsonl", ".md", ".html", ".csv", ".txt"):
            text = data.decode("utf-8")
            if path.suffix == ".json":
                json.loads(text)
            elif path.suffix == ".jsonl":
                [json.loads(line) for line in text.splitlines() if line.strip()]
        checked += 1
    return checked


# Output paths: nothing a dataset or config holds becomes a path outside the output folder.

HOSTILE_IDS = [
    "../../escape",
    "/etc/passwd",
    "a/b/c",
    "..",
    ".",
    "nul\x00byte",
    "C:\\Windows\\system32",
    "~root",
    "<script>alert(1)</script>",
    "x" * 3000,
    "\ud800 lone surrogate",
]


def snapshot(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


def test_hostile_ids_aliases_and_names_stay_inside_the_output_folder(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    data = [
        {"id": sample_id, "hyp": f"the cat {i}", "ref": "the cat", "group": sample_id}
        for i, sample_id in enumerate(HOSTILE_IDS)
    ]
    with open(work / "data.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in data)
    config = work / "task.yaml"
    config.write_text(
        'name: "../../../etc/\\0passwd"\n'
        "dataset: {path: data.jsonl, id_column: id, columns: {prediction: hyp, references: ref, label: group}}\n"
        "metrics: [{name: bleu, as: ../../bleu}, {name: wer, as: 'a/b'}, {name: chrf, as: '<b>chrf</b>'},\n"
        "  {name: confusion_matrix, as: '<i>cm</i>'}]\n"
        "group_by: group\nreports: [scores-csv]\nbootstrap: {resamples: 10}\n",
        encoding="utf-8",
    )
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "run", str(config), "-q")
    assert code == 0, err
    out = work / "runs" / "etc_passwd"
    assert {path for path in snapshot(tmp_path) - before if out not in path.parents} == {work / "runs", out}
    assert {path.name for path in out.iterdir()} == {
        "samples.jsonl",
        "aggregate.json",
        "report.md",
        "report.html",
        "run.json",
        "scores.csv",
    }
    assert [row["id"] for row in read_jsonl(out / "samples.jsonl")] == HOSTILE_IDS
    aliases = {"../../bleu", "a/b", "<b>chrf</b>", "<i>cm</i>"}
    assert set(json.loads((out / "aggregate.json").read_text())["metrics"]) == aliases
    code, _, err = cli(capsys, "compare", str(out), str(out), "--html", str(out / "compare.html"), "--format", "json")
    assert code == 0, err
    for page in ("report.html", "compare.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<b>chrf</b>" not in html and "<i>cm</i>" not in html, page
        assert "&lt;b&gt;chrf&lt;/b&gt;" in html and "&lt;i&gt;cm&lt;/i&gt;" in html, page
    assert "&lt;script&gt;alert" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("theirs", ["report.md", "aggregate.json", "samples.jsonl", "run.json"])
def test_a_folder_holding_files_named_like_a_runs_is_not_overwritten(tmp_path, capsys, theirs):
    config = small_project(tmp_path, BASE + "metrics: [bleu]\n")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / theirs).write_text('{"my": "own notes"}\n')
    (mine / "thesis.tex").write_text("precious")
    code, _, err = cli(capsys, "run", str(config), "-o", str(mine), "--overwrite", "-q")
    assert code == 2 and "holds no rageval run: refusing to overwrite it" in one_line(err)
    assert (mine / theirs).read_text() == '{"my": "own notes"}\n'
    assert sorted(path.name for path in mine.iterdir()) == sorted([theirs, "thesis.tex"])
    code, _, err = cli(capsys, "run", str(config), "-o", str(mine), "--resume", "-q")
    assert code == 2, err
    assert (mine / theirs).read_text() == '{"my": "own notes"}\n'


@pytest.mark.parametrize("target_text", ["", "their data\n", "their data, no newline"])
def test_resume_never_writes_through_a_link_planted_as_samples_jsonl(tmp_path, capsys, target_text):
    config = small_project(tmp_path, BASE + "metrics: [bleu]\nbatch_size: 1\n")
    out = tmp_path / "out"
    code, _, err = cli(capsys, "run", str(config), "-o", str(out), "-q")
    assert code == 0, err
    theirs = tmp_path / "theirs.txt"
    theirs.write_text(target_text)
    (out / "samples.jsonl").unlink()
    (out / "samples.jsonl").symlink_to(theirs)
    code, _, err = cli(capsys, "run", str(config), "-o", str(out), "--resume", "-q")
    assert code == 1 and "samples.jsonl: it is a symbolic link; remove it" in one_line(err)
    assert theirs.read_text() == target_text
    code, _, err = cli(capsys, "run", str(config), "-o", str(out), "--overwrite", "-q")
    assert code == 0, err  # --overwrite removes the link itself, never what it points to
    assert theirs.read_text() == target_text and not (out / "samples.jsonl").is_symlink()
    assert len(read_jsonl(out / "samples.jsonl")) == 2


@pytest.mark.parametrize("mode", ["w", "a", "rb+"])
def test_run_files_are_never_opened_through_a_link_or_a_fifo(tmp_path, mode):
    from rageval.reports.files import open_run_file

    theirs = tmp_path / "theirs.txt"
    theirs.write_text("keep")
    (tmp_path / "link").symlink_to(theirs)
    with pytest.raises(RunError, match="link: it is a symbolic link; remove it"):
        open_run_file(tmp_path / "link", mode)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(RunError, match="fifo: it is not a regular file"):
        open_run_file(tmp_path / "fifo", mode)
    assert theirs.read_text() == "keep"
    if mode != "rb+":
        with open_run_file(tmp_path / "fresh", mode) as handle:
            handle.write("row\n")
        assert (tmp_path / "fresh").read_text() == "row\n"


# No network unless a config names a hub resource: the examples run with sockets blocked.

SOCKET_GUARD = """
import socket

ATTEMPTS = []
_connect = socket.socket.connect


def _refuse(what):
    def refuse(*args, **kwargs):
        ATTEMPTS.append(what)
        raise OSError(101, "network blocked by the test (" + what + ")")

    return refuse


def _connect_guarded(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        return _refuse("connect")(address)
    return _connect(self, address)


socket.socket.connect = _connect_guarded
socket.socket.connect_ex = _connect_guarded
socket.create_connection = _refuse("create_connection")
socket.getaddrinfo = _refuse("getaddrinfo")
"""
RUN_EXAMPLES = """
import json, sys
import sitecustomize
from rageval.cli import main

out, hub_config, *configs = sys.argv[1:]
codes = {config: main(["run", config, "-o", out + "/" + config.rsplit("/", 1)[-1], "-q"]) for config in configs}
before = len(sitecustomize.ATTEMPTS)
codes["hub model"] = main(["validate", hub_config])
print(json.dumps({"codes": codes, "attempts": [before, len(sitecustomize.ATTEMPTS)]}))
"""


@pytest.mark.slow
def test_the_example_configs_make_no_network_call(tmp_path):
    configs = sorted(str(path) for path in (REPO / "configs").glob("*.yaml"))
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        configs = [config for config in configs if not config.endswith("rag.yaml")]
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SOCKET_GUARD)
    write_jsonl(tmp_path / "texts.jsonl", [{"t": "hello world"}])
    hub_config = tmp_path / "hub.yaml"
    hub_config.write_text(
        "name: hub\ndataset: {path: texts.jsonl, columns: {text: t}}\n"
        "metrics: [{name: perplexity, params: {model: gpt2}}]\n"
    )
    offline_flags = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")
    env = {key: value for key, value in os.environ.items() if key not in offline_flags}
    env.update(
        PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), env.get("PYTHONPATH", "")]),
        HF_HOME=str(tmp_path / "hf-home"),
        RAGEVAL_CACHE_DIR=str(tmp_path / "cache"),
    )
    result = subprocess.run(
        [sys.executable, "-c", RUN_EXAMPLES, str(tmp_path / "out"), str(hub_config), *configs],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    codes = report.pop("codes")
    assert codes.pop("hub model") == 2  # a hub id in the config: rageval tries the hub, and the guard sees it
    assert codes == dict.fromkeys(configs, 0), result.stderr
    no_calls, with_hub = report["attempts"]
    assert no_calls == 0 and with_hub > 0
    assert assert_no_pickles(tmp_path / "out") >= 5 * len(configs)
    if (tmp_path / "cache").exists():
        assert_no_pickles(tmp_path / "cache")
