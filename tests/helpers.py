"""Small helpers for tests: JSON Lines files, running the CLI, scoring through a metric."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``rageval`` command in a subprocess, offline."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    script = Path(sys.executable).parent / "rageval"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "rageval.cli"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def score(metric: Any, samples: Sequence[Any]) -> tuple[dict[str, Any], list[dict[str, Any] | None]]:
    """Corpus scores and per-sample scores (None for a failed sample) of ``metric`` on ``samples``."""
    from rageval.metric import Scored

    outcomes = metric.score_batch(list(samples))
    rows = [np.asarray(o.stats, dtype=float) for o in outcomes if isinstance(o, Scored)]
    corpus = metric.corpus_scores(np.vstack(rows)) if rows else {}
    per_sample = [
        metric.sample_scores(np.asarray(o.stats, dtype=float)) if isinstance(o, Scored) else None for o in outcomes
    ]
    return corpus, per_sample
