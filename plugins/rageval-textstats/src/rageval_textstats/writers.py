"""The ``scores-csv`` report: one row per sample with every score, for spreadsheets and pandas."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any

SCORES_CSV = "scores.csv"


def write_scores_csv(output_dir: Path, aggregate: dict[str, Any]) -> None:
    """Write ``scores.csv``: the sample id, each score of the run (empty when undetermined or failed), errors."""
    names = list(aggregate["metrics"])
    handle, temporary = tempfile.mkstemp(prefix=f".{SCORES_CSV}.", suffix=".tmp", dir=output_dir)
    try:
        with (
            os.fdopen(handle, "w", encoding="utf-8", newline="", errors="backslashreplace") as out,
            open(output_dir / "samples.jsonl", encoding="utf-8") as samples,
        ):
            writer = csv.writer(out)
            writer.writerow(["id", *names, "errors"])
            for line in samples:
                if not line.strip():
                    continue
                row = json.loads(line)
                scores = row.get("scores", {})
                errors = "; ".join(f"{alias}: {reason}" for alias, reason in row.get("errors", {}).items())
                values = ["" if scores.get(name) is None else repr(float(scores[name])) for name in names]
                writer.writerow([row["id"], *values, errors])
        os.replace(temporary, output_dir / SCORES_CSV)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
