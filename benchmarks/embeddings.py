"""Speed of the embedding metrics against plain sentence-transformers, and of a cached re-run.

Two questions, on the RAG samples of ../shared/data/rag/begin_wow_test.jsonl (3,607 dialogue
turns with their question, retrieved passage and answer), on the packaged all-MiniLM-L6-v2:

1. Overhead. ``answer_relevance`` and ``context_relevance`` against what a user would write
   without rageval: ``SentenceTransformer.encode`` of the same texts (questions and answers;
   questions and every context of every sample), then cosines. Model loading is outside the
   timings. ``answer_relevance`` has (nearly) no repeated text, so it measures the cost of the
   metric layer; ``context_relevance`` is run on contexts drawn from a pool of passages, as a
   retriever returns the same documents for many questions, where the metric encodes each
   distinct passage once.
2. The cache. ``rageval run`` of one config (faithfulness, answer_relevance, context_relevance)
   twice with an empty cache folder, each as its own process, start-up included; the second
   run must compute nothing and give the same scores. The time spent in the cache file's reads
   and writes is added up inside each run. ``--baseline`` adds a ``--no-cache`` run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embeddings.py                   # both (10 to 30 min on 2 CPU cores)
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embeddings.py --skip-rerun      # the overhead only
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embeddings.py --rerun-samples 500 --baseline

Timings are medians of ``--repeats`` interleaved runs, as wall and CPU seconds. Torch's threads
slow down a lot when another process competes for the cores, so on a shared machine compare the
ratios, not the seconds, and ``--threads 1`` steadies the overhead timings. ``--json FILE``
writes every number.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "rag" / "begin_wow_test.jsonl"
RERUN_CONFIG = """\
name: cache-benchmark
dataset:
  path: {data}
  id_column: id
  limit: {limit}
  columns: {{prediction: answer}}
metrics: [faithfulness, answer_relevance, context_relevance]
bootstrap: {{resamples: 0}}
cache: {{dir: {cache}}}
"""


TIMED_RUN = """\
import json, sys, time
from rageval.cli import main
from rageval.models.cache import ModelCache

spent = [0.0]

def timed(method):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started
    return wrapper

ModelCache.fetch, ModelCache.store = timed(ModelCache.fetch), timed(ModelCache.store)
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as handle:
    json.dump({"cache_io_s": spent[0]}, handle)
raise SystemExit(code)
"""
"""``rageval run`` with the time spent reading and writing the cache file added up (a run of its own)."""


def load_rows(limit: int | None) -> list[dict[str, Any]]:
    with open(DATA, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return rows[:limit] if limit else rows


def pooled_contexts(rows: list[dict[str, Any]], pool_size: int, per_sample: int, seed: int = 0) -> list[list[str]]:
    """Each sample's contexts drawn from the first ``pool_size`` distinct passages: documents retrieved again and again."""
    pool = list(dict.fromkeys(c for row in rows for c in row["contexts"]))[:pool_size]
    rng = np.random.default_rng(seed)
    return [[pool[i] for i in rng.choice(len(pool), per_sample, replace=False)] for _ in rows]


def timed(work: Callable[..., Any], *args: Any) -> tuple[float, float]:
    """Wall and CPU seconds (every thread of this process) of ``work(*args)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    work(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def overhead(
    rows: list[dict[str, Any]], repeats: int, batch: int, pool_size: int, threads: int | None = None
) -> dict[str, Any]:
    """Median seconds of each metric and of direct encoding of the same texts, models loaded beforehand."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from sentence_transformers import SentenceTransformer

    from rageval.context import RunContext
    from rageval.metrics.rag import AnswerRelevance, ContextRelevance
    from rageval.models.runtime import quiet_loading
    from rageval.models.source import PACKAGED_MINILM, resolve_model
    from rageval.sample import Sample

    with quiet_loading():
        direct = SentenceTransformer(resolve_model(PACKAGED_MINILM).location, device="cpu")
    direct.encode(["warm up"])

    def encode(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            return direct.encode(texts, batch_size=32, normalize_embeddings=True)

    def direct_answer_relevance(texts: list[str]) -> None:
        vectors = encode(texts)
        (vectors[0::2] * vectors[1::2]).sum(axis=1)

    def direct_context_relevance(texts: list[str]) -> None:
        encode(texts)

    def fresh_metric(cls: type) -> Any:
        metric = cls(params={"device": "cpu"}, context=RunContext())
        metric.embedder().encode(["warm up"])
        return metric

    def score(metric: Any, samples: list[Sample]) -> None:
        for start in range(0, len(samples), batch):
            metric.score_batch(samples[start : start + batch])

    contexts = pooled_contexts(rows, pool_size, 3)
    qa_texts = [t for row in rows for t in (row["question"], row["answer"])]
    ctx_texts = [t for row, ctx in zip(rows, contexts) for t in (row["question"], *ctx)]
    distinct_ctx_texts = list(dict.fromkeys(ctx_texts))
    qa_samples = [Sample(id=i, question=row["question"], prediction=row["answer"]) for i, row in enumerate(rows)]
    ctx_samples = [
        Sample(id=i, question=row["question"], contexts=ctx) for i, (row, ctx) in enumerate(zip(rows, contexts))
    ]
    seconds: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeats):
        for name, work, args in [
            ("qa_direct", direct_answer_relevance, (qa_texts,)),
            ("qa_metric", score, (fresh_metric(AnswerRelevance), qa_samples)),
            ("ctx_direct", direct_context_relevance, (ctx_texts,)),
            ("ctx_direct_distinct", direct_context_relevance, (distinct_ctx_texts,)),
            ("ctx_metric", score, (fresh_metric(ContextRelevance), ctx_samples)),
        ]:
            seconds.setdefault(name, []).append(timed(work, *args))
    wall = {name: statistics.median(w for w, _ in values) for name, values in seconds.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in seconds.items()}

    def entry(prefix: str, texts: list[str]) -> dict[str, Any]:
        direct, metric = f"{prefix}_direct", f"{prefix}_metric"
        return {
            "texts": len(texts),
            "distinct_texts": len(set(texts)),
            "direct_s": wall[direct],
            "metric_s": wall[metric],
            "direct_cpu_s": cpu[direct],
            "metric_cpu_s": cpu[metric],
            "metric_over_direct": wall[metric] / wall[direct],
            "metric_over_direct_cpu": cpu[metric] / cpu[direct],
        }

    return {
        "samples": len(rows),
        "batch_size": batch,
        "repeats": repeats,
        "torch_threads": torch.get_num_threads(),
        "answer_relevance": entry("qa", qa_texts),
        "context_relevance": {
            **entry("ctx", ctx_texts),
            "passage_pool": pool_size,
            "direct_distinct_s": wall["ctx_direct_distinct"],
            "direct_distinct_cpu_s": cpu["ctx_direct_distinct"],
        },
        "all_seconds": {name: [list(pair) for pair in values] for name, values in seconds.items()},
    }


def cli_run(config: Path, output: Path, *extra: str) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU seconds of ``rageval run`` as a process of its own, and its aggregate.json.

    The aggregate gets ``cache_io_s``: the seconds the run spent in the cache file's reads and writes.
    """
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    spent = output.with_name(output.name + "-cache-io.json")
    command = [sys.executable, "-c", TIMED_RUN, str(spent), "run", str(config), "-o", str(output), "-q", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"rageval run failed ({done.returncode}): {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    aggregate = json.loads((output / "aggregate.json").read_text(encoding="utf-8"))
    aggregate["cache_io_s"] = json.loads(spent.read_text(encoding="utf-8"))["cache_io_s"]
    return wall, cpu, aggregate


def rerun(limit: int, baseline: bool) -> dict[str, Any]:
    """``rageval run`` with an empty cache, then again; with ``baseline``, first with ``--no-cache``."""
    with tempfile.TemporaryDirectory(prefix="rageval-cache-bench-") as scratch:
        root = Path(scratch)
        config = root / "bench.yaml"
        config.write_text(RERUN_CONFIG.format(data=DATA, limit=limit, cache=root / "cache"), encoding="utf-8")
        results: dict[str, Any] = {"samples": limit}
        if baseline:
            results["no_cache_s"], results["no_cache_cpu_s"], uncached = cli_run(config, root / "none", "--no-cache")
        first_s, first_cpu, first = cli_run(config, root / "first")
        second_s, second_cpu, second = cli_run(config, root / "second")
        results.update(
            first_s=first_s,
            first_cpu_s=first_cpu,
            second_s=second_s,
            second_cpu_s=second_cpu,
            speedup=first_s / second_s,
            speedup_cpu=first_cpu / second_cpu,
            first_cache_io_s=first["cache_io_s"],
            second_cache_io_s=second["cache_io_s"],
            load_average=os.getloadavg()[0],
            first_counters=first["counters"],
            second_counters=second["counters"],
            same_scores=first["metrics"] == second["metrics"],
            cache_file_mb=(root / "cache" / "model-outputs.sqlite3").stat().st_size / 1e6,
        )
        if baseline:
            results["write_overhead_cpu"] = first_cpu / results["no_cache_cpu_s"] - 1
            results["largest_difference_from_uncached"] = max(
                abs(first["metrics"][k]["value"] - uncached["metrics"][k]["value"]) for k in first["metrics"]
            )
        return results


def models_installed() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None and DATA.is_file()


def run(quick: bool, repeats: int, baseline: bool = False) -> dict[str, Any]:
    """Both measurements at the sizes ``make bench`` uses (``quick``: a few hundred samples)."""
    return {
        "overhead": overhead(load_rows(100 if quick else 1000), repeats, 256, 30 if quick else 300),
        "rerun": rerun(100 if quick else 3607, baseline),
    }


def render(results: dict[str, Any]) -> str:
    """Markdown tables of :func:`run`'s results."""
    lines = []
    if "overhead" in results:
        over = results["overhead"]
        lines += [
            f"Embedding metrics vs `SentenceTransformer.encode` of the same texts, {over['samples']:,} samples, "
            f"median of {over['repeats']}, {over['torch_threads']} torch thread(s), model loading excluded; "
            "seconds as wall / CPU:",
            "",
            "| metric | texts | distinct | direct encode s | metric s | metric / direct (wall, CPU) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name in ("answer_relevance", "context_relevance"):
            e = over[name]
            lines.append(
                f"| {name} | {e['texts']:,} | {e['distinct_texts']:,} | {e['direct_s']:.1f} / {e['direct_cpu_s']:.1f} | "
                f"{e['metric_s']:.1f} / {e['metric_cpu_s']:.1f} | "
                f"{e['metric_over_direct']:.2f}, {e['metric_over_direct_cpu']:.2f} |"
            )
        ctx = over["context_relevance"]
        lines += [
            "",
            f"context_relevance draws 3 contexts per sample from {ctx['passage_pool']} passages; encoding only its "
            f"{ctx['distinct_texts']:,} distinct texts directly takes {ctx['direct_distinct_s']:.1f} / "
            f"{ctx['direct_distinct_cpu_s']:.1f} s.",
        ]
    if "rerun" in results:
        again = results["rerun"]
        lines += [
            "",
            f"`rageval run` of faithfulness + answer_relevance + context_relevance on {again['samples']:,} samples "
            "with an empty cache folder, then again; each run a process of its own, start-up included:",
            "",
            "| run | wall s | CPU s | model work |",
            "| --- | ---: | ---: | --- |",
        ]
        if "no_cache_s" in again:
            lines.append(f"| `--no-cache` | {again['no_cache_s']:.1f} | {again['no_cache_cpu_s']:.1f} | every text |")
        encoded = again["first_counters"].get("all-MiniLM-L6-v2.encoded_texts", 0)
        hits = again["second_counters"].get("all-MiniLM-L6-v2.cache_hits", 0)
        other = {k: v for k, v in again["second_counters"].items() if not k.endswith("cache_hits")}
        lines += [
            f"| first (empty cache) | {again['first_s']:.1f} | {again['first_cpu_s']:.1f} | {encoded:,} texts encoded |",
            f"| second (cached) | {again['second_s']:.1f} | {again['second_cpu_s']:.1f} | "
            f"{hits:,} cache hits; other counters: {other or 'none'} |",
            "",
            f"Second run {again['speedup']:.1f}x faster in wall time, {again['speedup_cpu']:.1f}x in CPU time; "
            f"same aggregate scores: {again['same_scores']}; cache file {again['cache_file_mb']:.0f} MB. "
            f"Reading and writing the cache file took {again['first_cache_io_s']:.2f} s of the first run "
            f"({100 * again['first_cache_io_s'] / again['first_s']:.1f}% of its wall time) and "
            f"{again['second_cache_io_s']:.2f} s of the second.",
        ]
        if "write_overhead_cpu" in again:
            lines.append(
                f"The first run's CPU time differs from `--no-cache`'s by {100 * again['write_overhead_cpu']:+.1f}% "
                f"(other work on the machine moves this more than the cache does); largest score difference "
                f"from that run: {again['largest_difference_from_uncached']:.1e}."
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1000, help="samples for the overhead timings (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats, alternating (default 3)")
    parser.add_argument(
        "--batch-size", type=int, default=256, help="samples per score_batch call (default 256, as a run)"
    )
    parser.add_argument("--pool", type=int, default=300, help="distinct passages contexts are drawn from (default 300)")
    parser.add_argument("--rerun-samples", type=int, default=3607, help="samples for the re-run (default: all 3607)")
    parser.add_argument("--baseline", action="store_true", help="also time a --no-cache run")
    parser.add_argument("--threads", type=int, help="torch threads for the overhead timings (default: torch's)")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-rerun", action="store_true")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args(argv)
    if not DATA.is_file():
        raise SystemExit(f"the benchmark data is not at {DATA}")
    results: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    if not args.skip_overhead:
        results["overhead"] = overhead(load_rows(args.samples), args.repeats, args.batch_size, args.pool, args.threads)
    if not args.skip_rerun:
        results["rerun"] = rerun(args.rerun_samples, args.baseline)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
