"""Lexical metrics side by side: rageval against direct library calls and against peer frameworks.

Data: the WMT17 en-de C-3MA system output (3,004 segments) and the SCTK sclite sample (51
utterances) from ../shared/data, replicated with unique ids. Each contender runs in a fresh
process (see contenders.py); contenders of one comparison alternate, repeat after repeat, and
the medians are reported. Figures are ratios against rageval measured in the same comparison.

HF evaluate is not measured: ``evaluate.load("sacrebleu")`` fetches the metric script from the
hub, which this machine (and any offline one) cannot reach.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import KIND_OF_METRIC, MAIN_PYTHON, PEER_PYTHON, dataset_file, median, run_contender, write_config


@dataclass(frozen=True)
class Contender:
    tool: str
    variant: str = ""

    @property
    def label(self) -> str:
        names = {
            ("rageval", ""): "rageval run (all features)",
            ("rageval", "no-bootstrap"): "rageval run, bootstrap off",
            ("rageval", "processes"): "rageval run, executor: processes, workers: 2",
            ("direct", ""): "direct library call",
            ("direct", "gc-tuned"): "direct call, collector tuned as in rageval",
            ("torchmetrics", ""): "torchmetrics",
            ("ragas", ""): "ragas (per-sample mean)",
        }
        return names[(self.tool, self.variant)]

    @property
    def python(self) -> Path:
        return MAIN_PYTHON if self.tool in ("rageval", "direct") else PEER_PYTHON


@dataclass(frozen=True)
class Comparison:
    metric: str
    rows: int
    contenders: tuple[Contender, ...]

    @property
    def kind(self) -> str:
        return KIND_OF_METRIC[self.metric]


RAGEVAL = Contender("rageval")
DIRECT = Contender("direct")
TORCHMETRICS = Contender("torchmetrics")
RAGAS = Contender("ragas")
OVERHEAD = (
    RAGEVAL,
    Contender("rageval", "no-bootstrap"),
    DIRECT,
    Contender("direct", "gc-tuned"),
)


def comparisons(quick: bool, peers: bool) -> list[Comparison]:
    """What is measured: overhead over direct calls on many rows, and each peer beside rageval.

    torchmetrics' BLEU takes about 1 ms a segment and its chrF about 20 ms, so they are measured
    on fewer rows, in comparisons of their own where rageval, the direct call and ragas run on the
    same rows. Below a few hundred rows every tool's fixed cost (about 0.1 s for a run) decides.
    """
    ragas = (RAGAS,) if peers else ()
    torchmetrics = (TORCHMETRICS,) if peers else ()
    processes = Contender("rageval", "processes")
    if quick:
        overhead = OVERHEAD[:3]
        chosen = [
            Comparison("bleu", 5_000, (*overhead, *ragas)),
            Comparison("chrf", 5_000, (*overhead, processes, *ragas)),
            Comparison("wer", 5_000, (*overhead, *torchmetrics)),
        ]
        slow = [
            Comparison("bleu", 1_000, (RAGEVAL, DIRECT, TORCHMETRICS)),
            Comparison("chrf", 50, (RAGEVAL, DIRECT, TORCHMETRICS)),
        ]
        return chosen + (slow if peers else [])
    chosen = [
        Comparison("bleu", 100_000, (*OVERHEAD, *ragas)),
        Comparison("chrf", 100_000, (*OVERHEAD, processes, *ragas)),
        Comparison("wer", 100_000, (*OVERHEAD, *torchmetrics)),
    ]
    slow = [
        Comparison("bleu", 10_000, (RAGEVAL, DIRECT, TORCHMETRICS, RAGAS)),
        Comparison("chrf", 1_000, (RAGEVAL, DIRECT, TORCHMETRICS, RAGAS)),
    ]
    return chosen + (slow if peers else [])


def run_comparison(comparison: Comparison, workdir: Path, repeats: int) -> list[dict[str, Any]]:
    """Median figures of each contender; the contenders alternate within every repeat."""
    data = dataset_file(workdir, comparison.kind, comparison.rows)
    runs: dict[Contender, list[dict[str, Any]]] = {c: [] for c in comparison.contenders}
    for _ in range(repeats):
        for contender in comparison.contenders:
            job = {
                "tool": contender.tool,
                "variant": contender.variant,
                "metric": comparison.metric,
                "kind": comparison.kind,
                "data": str(data),
                "config": str(write_config(workdir, [comparison.metric], comparison.kind, data, contender.variant)),
            }
            runs[contender].append(run_contender(contender.python, job))
    results = []
    for contender, reports in runs.items():
        failed = [r["error"] for r in reports if "error" in r]
        entry: dict[str, Any] = {"metric": comparison.metric, "rows": comparison.rows, "contender": contender.label}
        if failed:
            entry["error"] = failed[0]
        else:
            entry.update(
                seconds=median([r["seconds"] for r in reports]),
                cpu=median([r["cpu"] for r in reports]),
                import_seconds=median([r["import_seconds"] for r in reports]),
                max_rss_mb=max(r["max_rss_mb"] for r in reports),
                score=reports[0]["score"],
                repeats=len(reports),
            )
        results.append(entry)
    base = results[0]
    for entry in results:
        if "seconds" in entry and "seconds" in base:
            entry["time_vs_rageval"] = entry["seconds"] / base["seconds"]
            entry["cpu_vs_rageval"] = entry["cpu"] / base["cpu"]
    return results


def run(quick: bool, peers: bool, repeats: int, workdir: Path | None = None) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="rageval-bench-lexical-") as temporary:
        where = workdir or Path(temporary)
        return [entry for c in comparisons(quick, peers) for entry in run_comparison(c, where, repeats)]


def render(results: Sequence[dict[str, Any]]) -> str:
    """A Markdown table; ratios are each contender's median over rageval's in the same comparison."""
    lines = [
        "| metric | rows | contender | score | wall s | CPU s | wall ÷ rageval | CPU ÷ rageval | peak RSS MB |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in results:
        head = f"| {entry['metric']} | {entry['rows']:,} | {entry['contender']} |"
        if "error" in entry:
            lines.append(f"{head} failed: {entry['error'][:120]} | | | | | |")
            continue
        lines.append(
            f"{head} {entry['score']:.4f} | {entry['seconds']:.2f} | {entry['cpu']:.2f} "
            f"| {entry.get('time_vs_rageval', float('nan')):.2f} | {entry.get('cpu_vs_rageval', float('nan')):.2f} "
            f"| {entry['max_rss_mb']:.0f} |"
        )
    return "\n".join(lines)
