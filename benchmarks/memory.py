"""Peak memory and linearity: ``rageval run`` with BLEU, chrF and WER over a large replicated WMT17 file.

The file (1,000,000 rows; 50,000 with ``--quick``) is made in a temporary folder, never committed.
The whole command runs in a child process measured with ``wait4`` (peak RSS, CPU), once on the
full file and once on its first quarter, to show the time grows linearly with the rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from harness import MAIN_PYTHON, dataset_file, run_measured, write_config

METRICS = ("bleu", "chrf", "wer")


def measure(workdir: Path, rows: int) -> dict[str, Any]:
    """One ``rageval run`` over ``rows`` rows: wall and CPU seconds, peak RSS, rows per second."""
    data = dataset_file(workdir, "mt", rows)
    config = write_config(workdir, METRICS, "mt", data)
    output = workdir / f"run-{rows}"
    command = [str(MAIN_PYTHON), "-m", "rageval.cli", "run", str(config), "-o", str(output), "--overwrite", "-q"]
    measured = run_measured(command)
    if measured.returncode != 0:
        raise SystemExit(f"rageval run failed on {rows} rows: {measured.stderr.strip()[-500:]}")
    aggregate = json.loads((output / "aggregate.json").read_text(encoding="utf-8"))
    samples_mb = (output / "samples.jsonl").stat().st_size / 2**20
    for name in ("samples.jsonl", "aggregate.json", "report.md", "report.html", "run.json"):
        (output / name).unlink(missing_ok=True)
    return {
        "rows": rows,
        "seconds": measured.wall,
        "cpu": measured.cpu,
        "max_rss_mb": measured.max_rss_mb,
        "rows_per_second": rows / measured.wall,
        "input_mb": data.stat().st_size / 2**20,
        "samples_mb": samples_mb,
        "scores": {name: aggregate["metrics"][name]["value"] for name in METRICS},
    }


def run(rows: int, workdir: Path | None = None) -> dict[str, Any]:
    """The full-size run and the quarter-size run, the larger first."""
    with tempfile.TemporaryDirectory(prefix="rageval-bench-memory-") as temporary:
        where = workdir or Path(temporary)
        full = measure(where, rows)
        quarter = measure(where, rows // 4)
    return {
        "full": full,
        "quarter": quarter,
        "time_ratio": full["seconds"] / quarter["seconds"],
        "cpu_ratio": full["cpu"] / quarter["cpu"],
    }


def render(result: dict[str, Any]) -> str:
    full, quarter = result["full"], result["quarter"]
    lines = [
        "| rows | wall s | CPU s | rows/s | peak RSS MB | input MB | samples.jsonl MB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in (quarter, full):
        lines.append(
            f"| {entry['rows']:,} | {entry['seconds']:.1f} | {entry['cpu']:.1f} | {entry['rows_per_second']:,.0f} "
            f"| {entry['max_rss_mb']:.0f} | {entry['input_mb']:.0f} | {entry['samples_mb']:.0f} |"
        )
    lines.append("")
    lines.append(
        f"{full['rows'] // quarter['rows']}x the rows took {result['time_ratio']:.2f}x the wall time "
        f"and {result['cpu_ratio']:.2f}x the CPU time (linear: {full['rows'] / quarter['rows']:.2f})."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(render(run(args.rows)))


if __name__ == "__main__":
    main()
