"""Local plugins: a config's ``plugins:`` loads the user's own modules, explicitly, with one-line errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from helpers import read_jsonl, run_cli, write_jsonl

from rageval.errors import PluginError
from rageval.plugins import load_local_plugin, with_local_plugins
from rageval.registry import build_registry
from rageval.task import load_task

METRIC_MODULE = """
import rageval


class Shouting(rageval.Metric):
    info = rageval.MetricInfo(
        name="shouting",
        description="share of predictions written in capitals",
        fields=("prediction",),
        higher_is_better=False,
    )

    def sample_statistics(self, sample):
        if not isinstance(sample.prediction, str):
            raise rageval.InvalidSample("prediction must be a string")
        return float(sample.prediction.isupper()), 1.0

    def scores_from_totals(self, totals):
        return {"": float(totals[0] / totals[1])}


@rageval.hookimpl
def rageval_metrics():
    return [Shouting]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def project(tmp_path: Path, plugins: list[str], metrics: list[str] | None = None, extra: str = "") -> Path:
    """A config folder with data; returns the config path."""
    write_jsonl(tmp_path / "data.jsonl", [{"prediction": "HELLO"}, {"prediction": "hello"}, {"prediction": "OK"}])
    config = {
        "name": "local",
        "dataset": {"path": "data.jsonl"},
        "plugins": plugins,
        "metrics": metrics or ["shouting"],
        "bootstrap": {"resamples": 0},
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config) + "\n" + extra, encoding="utf-8")
    return path


def test_a_py_file_beside_the_config_adds_its_metric_to_a_run(tmp_path):
    write(tmp_path / "plugins" / "shouting.py", METRIC_MODULE)
    config = project(tmp_path, ["plugins/shouting.py"])
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"), "--format", "json", "-q")
    assert result.returncode == 0, result.stderr
    aggregate = json.loads(result.stdout)
    assert aggregate["metrics"]["shouting"]["value"] == pytest.approx(2 / 3)
    assert [row["scores"]["shouting"] for row in read_jsonl(tmp_path / "out" / "samples.jsonl")] == [1.0, 0.0, 1.0]


def test_a_config_run_from_another_folder_resolves_the_plugin_beside_the_config(tmp_path):
    write(tmp_path / "cfg" / "shouting.py", METRIC_MODULE)
    config = project(tmp_path / "cfg", ["shouting.py"])
    result = run_cli("validate", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "shouting: shouting|rageval:" in result.stdout


def test_a_dotted_module_on_the_python_path(tmp_path, monkeypatch):
    write(tmp_path / "pkg" / "mycompany" / "__init__.py", "")
    write(tmp_path / "pkg" / "mycompany" / "evals.py", METRIC_MODULE)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "pkg"))
    config = project(tmp_path, ["mycompany.evals"])
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"), "--format", "json", "-q")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["shouting"]["value"] == pytest.approx(2 / 3)


def test_the_library_loads_a_configs_plugins_too(tmp_path):
    write(tmp_path / "shouting.py", METRIC_MODULE)
    config = project(tmp_path, ["shouting.py"])
    task = load_task(config, build_registry(entry_points=False))
    assert [m.name for m in task.metrics] == ["shouting"]
    assert task.metrics[0].plugin == "shouting.py"
    assert load_task(config).metrics[0].plugin == "shouting.py"


def test_nothing_is_imported_that_the_config_does_not_name(tmp_path):
    marker = tmp_path / "imported"
    write(
        tmp_path / "shouting.py",
        f"open({str(marker)!r}, 'w').close()\n" + METRIC_MODULE,
    )
    config = project(tmp_path, [])
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "metrics[0].name: unknown metric 'shouting'" in result.stderr
    assert not marker.exists()
    assert run_cli("run", str(project(tmp_path, ["shouting.py"])), "-o", str(tmp_path / "out2")).returncode == 0
    assert marker.exists()


def test_registry_with_plugins_keeps_how_it_was_built(tmp_path):
    module = load_local_plugin("shouting.py", write(tmp_path / "shouting.py", METRIC_MODULE).parent)
    base = build_registry(entry_points=False)
    extended = base.with_plugins({"shouting.py": module})
    assert "shouting" in extended and "shouting" not in base
    assert extended.build_options["entry_points"] is False
    assert extended.with_plugins({"shouting.py": module}) is extended
    assert with_local_plugins(base, [], tmp_path) is base
    assert load_local_plugin("./shouting.py", tmp_path) is module


@pytest.mark.parametrize(
    ("files", "plugins", "message"),
    [
        (
            {"broken.py": "import rageval\n\ndef f(:\n    pass\n"},
            ["broken.py"],
            r"plugins\[0\]: plugin 'broken.py' failed to import: SyntaxError: invalid syntax \(broken.py, line 3\)",
        ),
        (
            {"raises.py": "import rageval\n\n\nraise RuntimeError('no API key set')\n"},
            ["raises.py"],
            r"plugins\[0\]: plugin 'raises.py' failed to import: RuntimeError: no API key set \(raises.py, line 4\)",
        ),
        (
            {"needs.py": "import rageval_not_installed_anywhere\n"},
            ["needs.py"],
            r"failed to import: ModuleNotFoundError: No module named 'rageval_not_installed_anywhere' \(needs.py, line 1\)",
        ),
        ({}, ["missing.py"], r"plugins\[0\]: plugin file not found: .*missing.py"),
        (
            {},
            ["nosuchpackage.metrics"],
            r"plugin 'nosuchpackage.metrics' failed to import: ModuleNotFoundError: No module named 'nosuchpackage'; "
            r"a file beside the config is named by its path",
        ),
        ({}, ["my metrics"], r"plugins\[0\]: 'my metrics' is neither a .py file nor a dotted module name"),
        (
            {"empty.py": "def rageval_metrics():\n    return []\n"},
            ["empty.py"],
            r"plugin 'empty.py' defines no rageval hook; mark a function such as rageval_metrics with @rageval.hookimpl",
        ),
        (
            {"typo.py": "import rageval\n\n@rageval.hookimpl\ndef rageval_metric():\n    return []\n"},
            ["typo.py"],
            r"plugin 'typo.py': unknown hook 'rageval_metric'; did you mean 'rageval_metrics'",
        ),
        (
            {"badfield.py": METRIC_MODULE.replace('fields=("prediction",)', 'fields=("hypothesis",)')},
            ["badfield.py"],
            r"plugin 'badfield.py': metric 'shouting' asks for unknown fields \['hypothesis'\]",
        ),
        (
            {"dup.py": METRIC_MODULE.replace('name="shouting"', 'name="bleu"')},
            ["dup.py"],
            r"metric 'bleu' is registered twice: by plugin 'rageval' .* and by plugin 'dup.py'",
        ),
        (
            {"sig.py": METRIC_MODULE.replace("def rageval_metrics():", "def rageval_metrics(registry):")},
            ["sig.py"],
            r"plugin 'sig.py': .*registry",
        ),
    ],
)
def test_a_broken_plugin_is_one_error_naming_it(tmp_path, files, plugins, message):
    for name, text in files.items():
        write(tmp_path / name, text)
    config = project(tmp_path, plugins)
    with pytest.raises(PluginError, match=message):
        load_task(config, build_registry(entry_points=False))
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rageval: error: ")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_plugins_traceback(tmp_path):
    write(tmp_path / "raises.py", "import rageval\nraise RuntimeError('boom')\n")
    result = run_cli("validate", str(project(tmp_path, ["raises.py"])), "--debug")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "raises.py" in result.stderr


def test_a_failed_import_leaves_no_half_module_behind(tmp_path):
    import sys

    write(tmp_path / "flaky.py", "import rageval\nraise RuntimeError('first time')\n")
    with pytest.raises(PluginError):
        load_local_plugin("flaky.py", tmp_path)
    assert not [name for name in sys.modules if name.startswith("rageval_local_plugin_flaky")]
    write(tmp_path / "flaky.py", METRIC_MODULE)
    assert load_local_plugin("flaky.py", tmp_path).Shouting.info.name == "shouting"


def test_plugins_must_be_a_list_of_strings(tmp_path):
    config = project(tmp_path, [])
    config.write_text(config.read_text().replace('"plugins": []', '"plugins": "shouting.py"'))
    result = run_cli("validate", str(config))
    assert result.returncode == 2
    assert "plugins: Input should be a valid list" in result.stderr


def test_metrics_and_describe_take_a_local_plugin(tmp_path):
    write(tmp_path / "shouting.py", METRIC_MODULE)
    listed = run_cli("metrics", "--json", "--plugin", "shouting.py", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    entry = next(e for e in json.loads(listed.stdout) if e["name"] == "shouting")
    assert entry["plugin"] == "shouting.py" and entry["plugin_version"] is None
    described = run_cli("describe", "shouting", "--plugin", str(tmp_path / "shouting.py"))
    assert described.returncode == 0, described.stderr
    assert "plugin: " in described.stdout and "higher is better: no" in described.stdout
    assert "shouting" not in run_cli("metrics", "--json", cwd=tmp_path).stdout


def test_local_plugins_load_in_worker_processes_too(tmp_path):
    write(tmp_path / "shouting.py", METRIC_MODULE)
    config = project(tmp_path, ["shouting.py"])
    result = run_cli(
        "run", str(config), "-o", str(tmp_path / "out"), "--format", "json", "-q",
        "--set", "executor=processes", "--set", "workers=2", "--set", "batch_size=1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["shouting"]["value"] == pytest.approx(2 / 3)


def test_an_installed_plugin_named_in_plugins_loads_once(tmp_path):
    config = project(tmp_path, ["rageval_textstats"], ["readability"])
    assert load_task(config).metrics[0].plugin == "rageval-textstats"
    without_autoload = load_task(config, build_registry(entry_points=False))
    assert without_autoload.metrics[0].plugin == "rageval_textstats"
    result = run_cli("validate", str(config), "--no-plugins")
    assert result.returncode == 0, result.stderr
