"""One benchmark contender, run in a fresh interpreter: ``python contenders.py '<job as JSON>'``.

A job names a tool (``rageval``, ``direct``, ``torchmetrics``, ``ragas``), a metric (``bleu``,
``chrf``, ``wer``) and a JSONL file. The tool's modules are imported first; then the timed part
reads the file, scores every row and yields the score. It prints one JSON line: the score, the
work's wall and CPU seconds, and how long the imports took.

- ``rageval``: the ``rageval run`` command in this process (config, pre-scan, per-sample scores,
  samples.jsonl, bootstrap intervals, aggregate.json, report.md, report.html).
- ``direct``: the JSONL read with ``json.loads`` and one ``sacrebleu.corpus_bleu`` /
  ``corpus_chrf`` or ``jiwer.wer`` call over all pairs: a corpus score and nothing else.
- ``torchmetrics``: ``SacreBLEUScore``, ``CHRFScore(n_word_order=0)`` (chrF, not its default chrF++)
  and ``WordErrorRate`` over all pairs in one call.
- ``ragas``: ``ragas.metrics.collections.BleuScore`` / ``CHRFScore`` through ``abatch_score``:
  a score per sample (ragas has no corpus BLEU; its BLEU splits each text at ". "), averaged.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

IMPORTS_STARTED = time.perf_counter()


def read_pairs(path: Path, kind: str) -> tuple[list[str], list[str]]:
    hypotheses: list[str] = []
    references: list[str] = []
    field = "references" if kind == "mt" else "reference"
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            hypotheses.append(record["hypothesis"])
            reference = record[field]
            references.append(reference[0] if isinstance(reference, list) else reference)
    return hypotheses, references


def rageval_job(job: dict[str, Any]) -> tuple[float, float, float]:
    from rageval.cli import main

    started = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="rageval-bench-") as out:
        code = main(["run", job["config"], "-o", out, "--overwrite", "-q"])
        if code != 0:
            raise SystemExit(f"rageval run exited {code}")
        aggregate = json.loads((Path(out) / "aggregate.json").read_text(encoding="utf-8"))
        ended = time.perf_counter(), time.process_time()
    return aggregate["metrics"][job["metric"]]["value"], ended[0] - started[0], ended[1] - started[1]


def direct_job(job: dict[str, Any]) -> tuple[float, float, float]:
    import jiwer
    import sacrebleu

    if job.get("variant") == "gc-tuned":
        low, middle, _ = gc.get_threshold()
        gc.set_threshold(low, middle, 1000)
    started = time.perf_counter(), time.process_time()
    hypotheses, references = read_pairs(Path(job["data"]), job["kind"])
    if job["metric"] == "bleu":
        score = sacrebleu.corpus_bleu(hypotheses, [references]).score
    elif job["metric"] == "chrf":
        score = sacrebleu.corpus_chrf(hypotheses, [references]).score
    else:
        score = jiwer.wer(references, hypotheses)
    return score, time.perf_counter() - started[0], time.process_time() - started[1]


def torchmetrics_job(job: dict[str, Any]) -> tuple[float, float, float]:
    from torchmetrics.text import CHRFScore, SacreBLEUScore, WordErrorRate

    started = time.perf_counter(), time.process_time()
    hypotheses, references = read_pairs(Path(job["data"]), job["kind"])
    if job["metric"] == "bleu":
        score = 100 * float(SacreBLEUScore(tokenize="13a")(hypotheses, [[r] for r in references]))
    elif job["metric"] == "chrf":
        score = 100 * float(CHRFScore(n_word_order=0)(hypotheses, [[r] for r in references]))
    else:
        score = float(WordErrorRate()(hypotheses, references))
    return score, time.perf_counter() - started[0], time.process_time() - started[1]


def ragas_job(job: dict[str, Any]) -> tuple[float, float, float]:
    import asyncio

    from ragas.metrics.collections import BleuScore, CHRFScore

    metric = BleuScore() if job["metric"] == "bleu" else CHRFScore()
    started = time.perf_counter(), time.process_time()
    hypotheses, references = read_pairs(Path(job["data"]), job["kind"])
    inputs = [{"reference": r, "response": h} for h, r in zip(hypotheses, references)]
    results = asyncio.run(metric.abatch_score(inputs))
    score = 100 * sum(result.value for result in results) / len(results)
    return score, time.perf_counter() - started[0], time.process_time() - started[1]


JOBS = {"rageval": rageval_job, "direct": direct_job, "torchmetrics": torchmetrics_job, "ragas": ragas_job}
PRELOAD = {
    "rageval": ("rageval.cli", "sacrebleu", "jiwer"),
    "direct": ("sacrebleu", "jiwer"),
    "torchmetrics": ("torch", "torchmetrics.text"),
    "ragas": ("ragas.metrics.collections",),
}


def main() -> None:
    import importlib
    import warnings

    job = json.loads(sys.argv[1])
    warnings.simplefilter("ignore")
    for module in PRELOAD[job["tool"]]:
        importlib.import_module(module)
    imports = time.perf_counter() - IMPORTS_STARTED
    score, seconds, cpu = JOBS[job["tool"]](job)
    print(json.dumps({"score": score, "seconds": seconds, "cpu": cpu, "import_seconds": imports}))


if __name__ == "__main__":
    main()
