"""executor: ray scores over Ray Data on a local instance and gives exactly what the local executor gives."""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import read_jsonl, run_cli, write_jsonl

from rageval.config import parse_config
from rageval.context import RunContext
from rageval.errors import ConfigError, RunError
from rageval.executors import LocalExecutor, RayExecutor
from rageval.runner import run_task
from rageval.task import build_task

# Ray Data's own settings object warns about its deprecated fields when copied.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

WORDS = ["the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "table", "red", "blue", "house"]


def rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ref = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 10)))
        hyp = " ".join(w if rng.random() > 0.3 else rng.choice(WORDS) for w in ref.split())
        out.append({"id": f"s{i:04d}", "hyp": hyp, "ref": ref, "text": f"{ref} {i}"})
    return out


def task_at(folder: Path, registry, n: int = 90, context: RunContext | None = None, **changes):
    write_jsonl(folder / "data.jsonl", rows(n))
    raw = {
        "name": "ray",
        "dataset": {"path": "data.jsonl", "id_column": "id", "columns": {"prediction": "hyp", "references": "ref"}},
        "metrics": ["bleu", "chrf", "wer"],
        "batch_size": 7,
        "bootstrap": {"resamples": 50, "seed": 3},
        **changes,
    }
    return build_task(parse_config(raw), registry, folder, context)


def comparable(aggregate: dict) -> dict:
    return {key: value for key, value in aggregate.items() if key not in ("timing", "config")}


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the module: 2 CPUs, no dashboard, no usage stats, its own temp folder."""
    ray = pytest.importorskip("ray")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    # Ray's socket paths must stay under the OS limit of about 107 characters: a short folder in /tmp.
    temp_dir = tempfile.mkdtemp(prefix="r", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp_dir)
    yield ray
    ray.shutdown()
    shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_ray_gives_the_same_results_as_the_local_executor(ray_instance, tmp_path, registry):
    local = run_task(task_at(tmp_path / "a", registry), tmp_path / "a" / "out").aggregate
    on_ray = run_task(task_at(tmp_path / "b", registry, executor="ray"), tmp_path / "b" / "out").aggregate
    assert comparable(on_ray) == comparable(local)
    assert read_jsonl(tmp_path / "b" / "out" / "samples.jsonl") == read_jsonl(tmp_path / "a" / "out" / "samples.jsonl")
    assert ray_instance.is_initialized(), "an instance the run did not start stays up"


ACTOR_ONLY_FAILURE = """
import os

import rageval


class Params(rageval.MetricParams):
    driver_pid: int


class Remote(rageval.Metric):
    info = rageval.MetricInfo(name="remote", description="fails off the driver", fields=("prediction",),
                              higher_is_better=True, params=Params)

    def sample_statistics(self, sample):
        if os.getpid() != self.params.driver_pid:
            raise rageval.RunError("remote: the judge service refused the request")
        return (1.0,)

    def scores_from_totals(self, totals):
        return {"": float(totals[0])}


@rageval.hookimpl
def rageval_metrics():
    return [Remote]
"""


@pytest.mark.slow
def test_an_error_raised_in_an_actor_stops_the_run_with_that_error(ray_instance, tmp_path, registry):
    (tmp_path / "remote.py").write_text(ACTOR_ONLY_FAILURE)
    metrics = [{"name": "remote", "params": {"driver_pid": os.getpid()}}]
    task = task_at(tmp_path, registry, executor="ray", plugins=["remote.py"], metrics=metrics)
    with pytest.raises(RunError, match=r"^remote: the judge service refused the request$"):
        run_task(task, tmp_path / "out")
    assert ray_instance.is_initialized()


@pytest.mark.slow
def test_a_pool_of_two_actors_scores_every_batch_in_dataset_order(ray_instance, tmp_path, registry):
    task = task_at(tmp_path, registry, n=150, metrics=["wer"], ray={"actors": 2})
    batches = list(task.source.batches(7, {"prediction": "hyp", "references": "ref"}))
    executor = RayExecutor(task.config.model_dump(mode="json", by_alias=True), tmp_path, task.config.ray, task.context)
    try:
        scored = list(executor.map(iter(batches)))
    finally:
        executor.close()
    expected = list(LocalExecutor(task.metrics).map(batches))
    assert [[s.id for s in batch] for batch, _ in scored] == [[s.id for s in batch] for batch in batches]
    assert [outcomes for _, outcomes in scored] == [outcomes for _, outcomes in expected]
    assert len(executor.batches_per_actor) == 2
    assert sum(executor.batches_per_actor.values()) == len(batches) == 22
    assert set(executor.seconds) == {"wer"}


@pytest.mark.slow
@pytest.mark.models
def test_each_actor_loads_the_model_once(ray_instance, tmp_path, registry, tiny_gpt2):
    perplexity = {"name": "perplexity", "params": {"model": str(tiny_gpt2), "device": "cpu", "batch_size": 4}}
    changes = {"metrics": [perplexity], "dataset": {"path": "data.jsonl", "id_column": "id"}, "batch_size": 3}
    # No on-disk cache: the in-process run after the Ray run would read what the actors wrote, and count hits.
    task = task_at(tmp_path, registry, n=30, context=RunContext(), **changes)
    batches = list(task.source.batches(3, {"text": "text"}))
    executor = RayExecutor(task.config.model_dump(mode="json", by_alias=True), tmp_path, task.config.ray, task.context)
    try:
        scored = list(executor.map(iter(batches)))
    finally:
        executor.close()
    from_actors = dict(task.context.counters)
    expected = list(LocalExecutor(task.metrics).map(batches))
    assert [outcomes for _, outcomes in scored] == [outcomes for _, outcomes in expected]
    assert len(executor.loads) == 2 and sum(executor.batches_per_actor.values()) == 10
    assert all(loaded.count("causal_lm") == 1 for loaded in executor.loads.values()), executor.loads
    in_process = {name: value - from_actors.get(name, 0) for name, value in task.context.counters.items()}
    assert from_actors == in_process and any(name.endswith("scored_texts") for name in from_actors)


def test_a_local_instance_refuses_a_pool_it_cannot_hold(ray_instance, tmp_path, registry):
    task = task_at(tmp_path, registry, executor="ray", ray={"actors": 3, "num_cpus": 2})
    executor = RayExecutor({}, tmp_path, task.config.ray, task.context)
    with pytest.raises(ConfigError, match=r"^ray.actors: 3 actors need 3 CPUs, the local Ray instance has 2;"):
        executor._check_local_resources()
    gpus = task_at(tmp_path, registry, executor="ray", ray={"actors": 1, "num_gpus": 1}).config.ray
    with pytest.raises(
        ConfigError, match=r"^ray.num_gpus: the pool needs 1 GPUs \(1 for each of 1 actors\), .* has 0$"
    ):
        RayExecutor({}, tmp_path, gpus, task.context)._check_local_resources()


def test_a_run_with_nothing_to_score_starts_no_ray(tmp_path, registry, monkeypatch):
    pytest.importorskip("ray")
    task = task_at(tmp_path, registry, executor="ray")
    executor = RayExecutor({}, tmp_path, task.config.ray, task.context)
    monkeypatch.setattr(executor, "_connect", lambda: pytest.fail("Ray started for an empty run"))
    assert list(executor.map(iter([]))) == []
    executor.close()


def test_executor_ray_without_ray_installed_is_one_config_error(tmp_path, registry, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    task = task_at(tmp_path, registry, executor="ray")
    with pytest.raises(ConfigError, match=r"^executor: ray needs Ray Data, .*pip install 'rageval\[ray\]'"):
        run_task(task, tmp_path / "out")


@pytest.mark.parametrize(
    ("ray_options", "message"),
    [
        ({"adress": "auto"}, "ray.adress: unknown key; did you mean 'address'?"),
        ({"address": "auto", "num_cpus": 4}, "ray.num_cpus: .*num_cpus sizes a local instance"),
        ({"address": "ray://head:10001"}, r"ray.address: .*Ray Data cannot run through Ray Client \(ray://\)"),
        ({"actors": 0}, "ray.actors: Input should be greater than or equal to 1"),
        ({"num_gpus": -1}, "ray.num_gpus: Input should be greater than or equal to 0"),
    ],
)
def test_ray_options_are_checked(ray_options, message):
    raw = {"name": "x", "dataset": {"path": "d.jsonl"}, "metrics": ["wer"], "executor": "ray", "ray": ray_options}
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


@pytest.mark.slow
def test_cli_starts_a_local_instance_and_shuts_it_down(tmp_path, monkeypatch):
    """The path a user takes: no ray.init of their own, so the run starts Ray, then shuts it down."""
    pytest.importorskip("ray")
    write_jsonl(tmp_path / "data.jsonl", rows(40))
    config = tmp_path / "task.yaml"
    config.write_text(
        "name: cli\ndataset: {path: data.jsonl, id_column: id, columns: {prediction: hyp, references: ref}}\n"
        "metrics: [bleu, wer]\nbatch_size: 8\nbootstrap: {resamples: 0}\nexecutor: ray\n"
        "ray: {num_cpus: 1, actors: 1}\n"
    )
    temp_root = tempfile.mkdtemp(prefix="r", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", temp_root)
    try:
        result = run_cli("run", str(config), "-o", str(tmp_path / "ray"), "-q")
        assert result.returncode == 0, result.stderr
        local = run_cli("run", str(config), "-o", str(tmp_path / "local"), "-q", "--set", "executor=local")
        assert local.returncode == 0, local.stderr
        assert read_jsonl(tmp_path / "ray" / "samples.jsonl") == read_jsonl(tmp_path / "local" / "samples.jsonl")
        aggregate = json.loads((tmp_path / "ray" / "aggregate.json").read_text())
        assert aggregate["config"]["executor"] == "ray" and aggregate["n_samples"] == 40
        assert list(Path(temp_root).glob("ray/session_*")), "the run's Ray instance used RAY_TMPDIR"
        deadline = time.monotonic() + 15
        while list(Path(temp_root).glob("ray/session_*/sockets/raylet")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not list(Path(temp_root).glob("ray/session_*/sockets/raylet")), "the local instance is still up"
    finally:
        shutil.rmtree(temp_root, ignore_errors=True)
