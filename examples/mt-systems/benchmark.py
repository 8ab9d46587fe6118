"""Benchmark several MT systems on the same sources: one run per system, a table, a paired comparison.

Run from anywhere::

    python examples/mt-systems/benchmark.py            # runs go to runs/mt-systems/<system>/

Each system's run is a normal rageval run of config.yaml with the prediction column swapped,
so its folder holds samples.jsonl, aggregate.json and the reports. The table shows corpus
scores with 95% bootstrap intervals; ``rageval compare`` then tests each system against the
first with paired significance tests on the samples they share.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rageval import RagevalError, build_registry, load_task, run_task

HERE = Path(__file__).resolve().parent
SYSTEMS = ("neural-large", "neural-small", "phrase-based")
SCORES = ("bleu", "chrf", "ter", "length_ratio")


def cell(entry: dict) -> str:
    value, interval = entry["value"], entry.get("ci95")
    if value is None:
        return "-"
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else f"{value:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("runs/mt-systems"), help="folder for the runs")
    args = parser.parse_args(argv)
    registry = build_registry()
    folders = []
    rows = []
    try:
        for system in SYSTEMS:
            overrides = [f"dataset.columns.prediction={system}", f"name=mt-{system}"]
            task = load_task(HERE / "config.yaml", registry, overrides)
            result = run_task(task, args.output / system, overwrite=True)
            folders.append(str(result.output_dir))
            rows.append([system, *(cell(result.aggregate["metrics"][name]) for name in SCORES)])
    except RagevalError as exc:
        print(f"benchmark: error: {exc}", file=sys.stderr)
        return exc.exit_code
    widths = [max(len(str(row[i])) for row in [["system", *SCORES], *rows]) for i in range(len(SCORES) + 1)]
    for row in [["system", *SCORES], *rows]:
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths)))
    print()
    from rageval.cli import COMMANDS
    from rageval.cli import main as rageval_main

    if "compare" not in COMMANDS:
        return 0
    return rageval_main(["compare", *folders])


if __name__ == "__main__":
    raise SystemExit(main())
