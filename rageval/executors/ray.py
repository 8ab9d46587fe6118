"""Score batches over Ray Data, in a pool of actors that each build the metrics (and load their models) once.

The driver reads the dataset and writes rows as with the other executors; only scoring moves::

    driver --batches--> feed queue (an actor) --one read task--> map_batches over scoring actors
    driver <--(seq, outcomes) in completion order-- ... put back into dataset order here

One dataset for the whole run, fed as it goes. A Ray Data actor pool lives as long as one dataset's
execution, so scoring windows of batches as separate datasets would start the actors, and load the
models, again for every window. Here a single read task pulls batches from a queue that the driver
fills at most ``in_flight`` batches ahead of the rows already written, so one pool serves the run and
memory stays bounded whatever the dataset's size.

What crosses the Ray boundary: each batch is one row whose samples are pickled into a binary column,
and its outcomes come back pickled. Ray Data blocks are Arrow tables; columns of nested, ragged or
mixed-type values (lists of references, probability vectors, a label that is an integer in one row and
a string in the next, datetimes in metadata) would go through Arrow's type inference, which can change
or reject them, and JSON would turn tuples into lists and refuse datetimes. An opaque bytes column hands
each actor exactly the samples the local executor scores, as the process pool's pickling does, so the
statistics, and so every score, are the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rageval.context import RunContext
from rageval.errors import ConfigError, RagevalError, RunError
from rageval.executors.local import ScoredBatch, score_with_all
from rageval.metric import Outcome
from rageval.sample import Sample

if TYPE_CHECKING:
    from rageval.config import RayConfig
    from rageval.task import ConfiguredMetric

INSTALL_HINT = "executor: ray needs Ray Data, which is not installed: pip install 'rageval[ray]'"
FORWARDED_ENVIRONMENT = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")
"""Set in the driver, these reach every actor, so a run offline here is offline on the cluster too."""
IN_FLIGHT_PER_ACTOR = 4
"""Batches fed ahead per actor: one scoring, the rest queued in Ray Data, so no actor waits for the driver."""


def import_ray() -> Any:
    """The ``ray`` module with Ray Data loaded; a missing install is one :class:`ConfigError` line."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ConfigError(f"{INSTALL_HINT} ({exc})") from None
    return ray


def one_line(exc: BaseException) -> str:
    """The most specific message in a Ray failure's chain of causes as ``Type: message``, without tracebacks."""
    chain = [exc]
    while len(chain) < 20:
        inner = getattr(chain[-1], "cause", None) or chain[-1].__cause__
        if not isinstance(inner, BaseException) or inner in chain:
            break
        chain.append(inner)
    for candidate in reversed(chain):
        text = _message(candidate)
        if text:
            return f"{type(candidate).__name__}: {text}"
    return type(exc).__name__


def _message(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return ""
    opening, marker, _ = lines[0].partition("Traceback (most recent call last)")
    if marker:  # a message that embeds a traceback: its opening words and the traceback's last line
        opening = opening.rstrip(" :")
        return f"{opening}: {lines[-1]}" if opening else lines[-1]
    return lines[0]


def context_settings(context: RunContext | None) -> dict[str, Any]:
    """What an actor's own context copies from the driver's: its settings (cache folder, base folder), not its state."""
    if context is None:
        return {}
    state = {"shared", "counters", "warnings"}
    return {
        item.name: getattr(context, item.name)
        for item in dataclasses.fields(context)
        if item.init and item.name not in state and not item.name.startswith("_")
    }


@dataclass
class _Reply:
    """What an actor sends back for one batch."""

    actor: str
    outcomes: list[list[Outcome]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    error: RagevalError | None = None


def _build_metrics(
    config: dict[str, Any], base_dir: Path, entry_points: bool, context: RunContext
) -> list[ConfiguredMetric]:
    """The config's metrics, as the driver built them; the dataset is not opened (a cluster node may not have it)."""
    from rageval.config import parse_config
    from rageval.plugins import with_local_plugins
    from rageval.registry import build_registry
    from rageval.task import configure_metrics

    parsed = parse_config(config)
    registry = with_local_plugins(build_registry(entry_points=entry_points), parsed.plugins, base_dir)
    return configure_metrics(parsed, registry, context)


class _Scorer:
    """One actor of the pool: builds the metrics once, then scores each batch Ray Data hands it."""

    def __init__(self, config: dict[str, Any], base_dir: str, entry_points: bool, settings: dict[str, Any]):
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.context = RunContext(**settings)
        self.metrics: list[ConfiguredMetric] = []
        self.failure: RagevalError | None = None
        try:
            self.metrics = _build_metrics(config, Path(base_dir), entry_points, self.context)
        except RagevalError as exc:
            self.failure = type(exc)(f"Ray actor on {socket.gethostname()}: {exc}")
        except Exception as exc:
            self.failure = RunError(
                f"Ray actor on {socket.gethostname()} cannot set up the metrics: {type(exc).__name__}: {exc}; "
                "every node needs the same rageval, plugins and models as this machine"
            )

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa

        replies = [pickle.dumps(self._score(payload)) for payload in table.column("batch").to_pylist()]
        return pa.table({"seq": table.column("seq"), "reply": pa.array(replies, type=pa.large_binary())})

    def _score(self, payload: bytes) -> _Reply:
        if self.failure is not None:
            return _Reply(self.name, error=self.failure)
        batch = pickle.loads(payload)
        counted, warned = dict(self.context.counters), len(self.context.warnings)
        seconds: dict[str, float] = {}
        try:
            outcomes = score_with_all(self.metrics, batch, seconds)
        except RagevalError as exc:
            return _Reply(self.name, error=exc)
        counters = {
            name: value - counted.get(name, 0)
            for name, value in self.context.counters.items()
            if value != counted.get(name, 0)
        }
        loaded = [str(key[0]) if isinstance(key, tuple) and key else str(key) for key in self.context.shared]
        return _Reply(self.name, outcomes, seconds, counters, self.context.warnings[warned:], loaded)


def _feed_datasource(queue: Any) -> Any:
    """A Ray Data source with one read task that yields, one block each, the batches put in ``queue``."""
    import pyarrow as pa
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    def read() -> Iterator[Any]:
        while (item := queue.get()) is not None:
            seq, payload = item
            yield pa.table({"seq": pa.array([seq], pa.int64()), "batch": pa.array([payload], pa.large_binary())})

    class BatchFeed(Datasource):
        def get_name(self) -> str:
            return "RagevalBatches"

        def estimate_inmemory_data_size(self) -> None:
            return None

        def get_read_tasks(self, parallelism: int, *args: Any, **kwargs: Any) -> list[ReadTask]:
            unknown = BlockMetadata(num_rows=None, size_bytes=None, input_files=None, exec_stats=None)
            return [ReadTask(read, unknown)]

    return BatchFeed()


class RayExecutor:
    """Scores batches in a Ray Data actor pool; results come back in dataset order.

    Ray starts (or is joined) with the first batch, so a run with nothing left to score never starts
    it. A process that has already called ``ray.init`` keeps its connection, and this executor leaves
    it open; an instance the executor started is shut down by :meth:`close`.
    """

    def __init__(
        self,
        config: dict[str, Any],
        base_dir: Path,
        options: RayConfig,
        context: RunContext | None = None,
        entry_points: bool = True,
    ):
        self.ray = import_ray()
        self.config = config
        self.base_dir = base_dir
        self.options = options
        self.context = context
        """What the actors' contexts count (texts scored, cache hits) and warn about is added here; the
        actors' contexts copy its settings (cache folder, base folder)."""
        self.entry_points = entry_points
        self.in_flight = IN_FLIGHT_PER_ACTOR * options.actors
        self.seconds: dict[str, float] = {}
        self.batches_per_actor: dict[str, int] = {}
        self.loads: dict[str, list[str]] = {}
        """Actor -> the kinds of shared resources (models) it has loaded, each once for all its batches."""
        self._started_ray = False
        self._queue: Any = None
        self._results: Any = None

    def map(self, batches: Iterable[list[Sample]]) -> Iterator[ScoredBatch]:
        source = iter(batches)
        first = next(source, None)
        if first is None:
            return
        self._connect()
        self._results = iter(self._scored_rows())
        pending: dict[int, list[Sample]] = {}
        arrived: dict[int, _Reply] = {}
        fed = 0

        def feed(batch: list[Sample] | None) -> None:
            nonlocal fed
            if batch is None:
                self._queue.put(None)
                return
            pending[fed] = batch
            self._queue.put((fed, pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)))
            fed += 1

        feed(first)
        exhausted = False
        while not exhausted and fed < self.in_flight:
            batch = next(source, None)
            exhausted = batch is None
            feed(batch)
        expected = 0
        while pending:
            seq, reply = self._next_reply()
            arrived[seq] = reply
            while expected in arrived:
                reply = arrived.pop(expected)
                self._account(reply)
                yield pending.pop(expected), reply.outcomes
                expected += 1
                if not exhausted:
                    batch = next(source, None)
                    exhausted = batch is None
                    feed(batch)

    def _next_reply(self) -> tuple[int, _Reply]:
        try:
            row = next(self._results)
        except StopIteration:
            raise RunError("executor: ray: Ray Data ended before every batch was scored") from None
        except RagevalError:
            raise
        except Exception as exc:
            raise RunError(f"executor: ray: scoring failed on the Ray cluster: {one_line(exc)}") from exc
        reply: _Reply = pickle.loads(row["reply"])
        if reply.error is not None:
            raise reply.error
        return int(row["seq"]), reply

    def _account(self, reply: _Reply) -> None:
        for alias, spent in reply.seconds.items():
            self.seconds[alias] = self.seconds.get(alias, 0.0) + spent
        if self.context is not None:
            self.context.absorb(reply.counters, reply.warnings)
        self.batches_per_actor[reply.actor] = self.batches_per_actor.get(reply.actor, 0) + 1
        self.loads[reply.actor] = reply.loaded

    def _connect(self) -> None:
        """Join the configured cluster, or start a local instance, with usage stats and the dashboard off."""
        ray = self.ray
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        if ray.is_initialized():
            return
        address = self.options.address or "local"
        settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address == "local":
            settings["num_cpus"] = self.options.num_cpus
        if self.options.runtime_env is not None:
            settings["runtime_env"] = self.options.runtime_env
        try:
            ray.init(address=address, **settings)
        except Exception as exc:
            where = "start a local Ray instance" if address == "local" else f"join the Ray cluster at {address!r}"
            raise RunError(f"ray.address: cannot {where}: {one_line(exc)}") from exc
        self._started_ray = True
        if address == "local":
            self._check_local_resources()

    def _check_local_resources(self) -> None:
        """A local instance cannot grow: refuse a pool it cannot hold instead of waiting for it forever."""
        resources = self.ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 0)), resources.get("GPU", 0.0)
        actors, per_actor = self.options.actors, self.options.num_gpus
        if actors > cpus:
            raise ConfigError(
                f"ray.actors: {actors} actors need {actors} CPUs, the local Ray instance has {cpus}; "
                "lower ray.actors or raise ray.num_cpus"
            )
        if per_actor and actors * per_actor > gpus:
            raise ConfigError(
                f"ray.num_gpus: the pool needs {actors * per_actor:g} GPUs ({per_actor:g} for each of "
                f"{actors} actors), the local Ray instance has {gpus:g}"
            )

    def _scored_rows(self) -> Iterable[dict[str, Any]]:
        ray = self.ray
        from ray.util.queue import Queue

        self._queue = Queue(actor_options={"num_cpus": 0})
        dataset = ray.data.read_datasource(_feed_datasource(self._queue), override_num_blocks=1, num_cpus=0)
        # Each batch is one small block: hand it on at once instead of waiting to fill a block of the
        # default target size, which a feed that waits for the driver would never reach.
        dataset.context.target_max_block_size = 1
        environment = {name: os.environ[name] for name in FORWARDED_ENVIRONMENT if name in os.environ}
        scored = dataset.map_batches(
            _Scorer,
            batch_size=1,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=self.options.actors),
            num_gpus=self.options.num_gpus or None,
            fn_constructor_kwargs={
                "config": self.config,
                "base_dir": str(self.base_dir),
                "entry_points": self.entry_points,
                "settings": context_settings(self.context),
            },
            runtime_env={"env_vars": environment} if environment else None,
        )
        scored.context.enable_progress_bars = False
        return scored.iter_rows()

    def close(self) -> None:
        """Stop the pool and the feed; shut Ray down only if this executor started it."""
        results, self._results = self._results, None
        if results is not None and hasattr(results, "close"):
            results.close()
        queue, self._queue = self._queue, None
        if queue is not None:
            with contextlib.suppress(Exception):  # the actor is already gone when Ray went down first
                queue.shutdown(force=True)
        if self._started_ray:
            self._started_ray = False
            self.ray.shutdown()
