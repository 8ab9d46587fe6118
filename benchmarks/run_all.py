"""Every rageval benchmark of lexical metrics, memory, embedding metrics and the model cache, as ``make bench`` runs it.

    python benchmarks/run_all.py            # about 25 minutes on 2 cores
    python benchmarks/run_all.py --quick    # under a minute: small sizes, one repeat

Prints Markdown tables (the ones in benchmarks/README.md) and, with ``--json``, writes every
figure to a file. Peers (torchmetrics, ragas) run from benchmarks/.venv, made on first use by
peers.py from benchmarks/requirements.txt (``--no-peers`` leaves them out).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import embeddings
import lexical
import memory
from harness import REPO, SHARED_DATA
from peers import ensure_peer_venv


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("rageval", "sacrebleu", "jiwer", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def summary(results: list[dict[str, Any]]) -> list[str]:
    """One sentence per target: overhead over the direct call, and how much slower each peer is."""
    lines = []
    by_comparison: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for entry in results:
        by_comparison.setdefault((entry["metric"], entry["rows"]), {})[entry["contender"]] = entry
    for (metric, rows), entries in by_comparison.items():
        ours = entries.get(lexical.RAGEVAL.label)
        if not ours or "seconds" not in ours:
            continue
        for label, entry in entries.items():
            if label == ours["contender"] or "seconds" not in entry:
                continue
            if entry["contender"].startswith("direct"):
                wall = ours["seconds"] / entry["seconds"] - 1
                cpu = ours["cpu"] / entry["cpu"] - 1
                lines.append(f"- {metric}, {rows:,} rows: rageval vs {label}: {wall:+.0%} wall, {cpu:+.0%} CPU")
            elif not entry["contender"].startswith("rageval"):
                lines.append(
                    f"- {metric}, {rows:,} rows: {label} takes {entry['seconds'] / ours['seconds']:.1f}x "
                    f"rageval's wall time ({entry['cpu'] / ours['cpu']:.1f}x its CPU time)"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and one repeat")
    parser.add_argument("--repeats", type=int, help="runs per contender (default 3, 1 with --quick)")
    parser.add_argument("--no-peers", action="store_true", help="leave torchmetrics and ragas out")
    parser.add_argument("--skip-lexical", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-embeddings", action="store_true", help="leave out the embedding metrics and the cache")
    parser.add_argument("--memory-rows", type=int, help="rows of the memory run (default 1,000,000; 20,000 quick)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    if not SHARED_DATA.is_dir():
        raise SystemExit(f"the shared evaluation data is missing: {SHARED_DATA}")
    repeats = args.repeats or (1 if args.quick else 3)
    # An installed rageval has its bytecode compiled; an editable checkout where the environment sets
    # PYTHONDONTWRITEBYTECODE would compile it anew in every timed process.
    compileall.compile_dir(REPO / "rageval", quiet=1)
    peers_missing = "--no-peers" if args.no_peers else ensure_peer_venv()
    peers = peers_missing is None
    started = time.perf_counter()
    report: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/run_all.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0], **versions()},
    }
    print(f"# rageval benchmarks ({'quick' if args.quick else 'full'}; {repeats} repeat(s), medians)\n")
    print(f"machine: {report['machine']}")
    if not peers:
        print(f"peers left out: {peers_missing}")
    print("HF evaluate: not measured, evaluate.load() fetches metric scripts from the hub (offline here)\n")
    if not args.skip_lexical:
        results = lexical.run(args.quick, peers, repeats)
        report["lexical"] = results
        print("## Lexical metrics\n")
        print(lexical.render(results))
        print("\n" + "\n".join(summary(results)) + "\n", flush=True)
    if not args.skip_memory:
        rows = args.memory_rows or (20_000 if args.quick else 1_000_000)
        result = memory.run(rows)
        report["memory"] = result
        print(f"## Memory and linearity: rageval run, bleu + chrf + wer, {rows:,} rows\n")
        print(memory.render(result) + "\n")
    if not args.skip_embeddings:
        print("## Embedding metrics and the model cache\n")
        if embeddings.models_installed():
            report["embeddings"] = embeddings.run(args.quick, repeats)
            print(embeddings.render(report["embeddings"]) + "\n", flush=True)
        else:
            print("left out: the [models] extra (sentence-transformers) is not installed\n")
    report["machine"]["load_after"] = os.getloadavg()[0]
    report["seconds"] = time.perf_counter() - started
    print(f"load average before {report['machine']['load_before']:.1f}, after {report['machine']['load_after']:.1f}")
    print(f"total {report['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
