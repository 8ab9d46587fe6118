"""What the benchmarks share: data made from the shared evaluation data, rageval configs, measured processes.

Every figure comes from a fresh child process, measured with ``os.wait4`` so each child's own CPU
time and peak resident memory are known (``getrusage(RUSAGE_CHILDREN)`` would mix the children).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MT_SOURCE = SHARED_DATA / "mt" / "wmt17_newstest2017_en-de.C-3MA.4959.jsonl"
ASR_SOURCE = SHARED_DATA / "asr" / "sctk_csrnab_sclite.jsonl"
MAIN_PYTHON = Path(sys.executable)
PEER_PYTHON = REPO / "benchmarks" / ".venv" / "bin" / "python"
CONTENDERS = REPO / "benchmarks" / "contenders.py"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
KIND_OF_METRIC = {"bleu": "mt", "chrf": "mt", "wer": "asr"}


def replicate(kind: str, rows: int, target: Path) -> Path:
    """``rows`` records cycling through the shared WMT17 (mt) or SCTK (asr) file, each with a unique id."""
    if target.exists():
        return target
    source = MT_SOURCE if kind == "mt" else ASR_SOURCE
    with open(source, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    if kind == "mt":
        slim = [{"hypothesis": r["hypothesis"], "references": r["references"]} for r in records]
    else:
        slim = [{"hypothesis": r["hypothesis"], "reference": r["reference"]} for r in records]
    lines = [json.dumps(record, ensure_ascii=False)[1:] for record in slim]
    partial = target.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8") as out:
        for index in range(rows):
            out.write(f'{{"id": {index}, {lines[index % len(lines)]}\n')
    partial.replace(target)
    return target


def dataset_file(workdir: Path, kind: str, rows: int) -> Path:
    return replicate(kind, rows, workdir / f"{kind}-{rows}.jsonl")


def write_config(workdir: Path, metrics: Sequence[str], kind: str, data: Path, variant: str = "") -> Path:
    """A rageval task config for ``metrics`` on ``data``; ``variant`` is ``""``, ``"no-bootstrap"`` or ``"processes"``."""
    columns = (
        {"prediction": "hypothesis", "references": "references"}
        if kind == "mt"
        else {"prediction": "hypothesis", "references": "reference"}
    )
    config: dict[str, Any] = {
        "name": f"bench-{'-'.join(metrics)}",
        "dataset": {"path": str(data), "id_column": "id", "columns": columns},
        "metrics": list(metrics),
        "bootstrap": {"resamples": 0 if variant == "no-bootstrap" else 1000, "seed": 0},
    }
    if variant == "processes":
        config.update(executor="processes", workers=2)
    path = workdir / f"{config['name']}-{kind}-{data.stem}{'-' + variant if variant else ''}.yaml"
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass
class Measured:
    """One child process: its wall time, CPU time (user + system), peak RSS and output."""

    wall: float
    cpu: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(command: Sequence[str], timeout: float = 3600) -> Measured:
    """Run ``command`` offline and measure that one process (and what it waited for) with ``wait4``."""
    env = {**os.environ, **OFFLINE, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": ""}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=REPO)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode, stdout, stderr)


def run_contender(python: Path, job: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    """Run one contender job in a fresh ``python`` and return what it reported, with its process figures."""
    measured = run_measured([str(python), str(CONTENDERS), json.dumps(job)], timeout)
    if measured.returncode != 0:
        tail = (measured.stderr or measured.stdout).strip().splitlines()[-5:]
        return {**job, "error": f"exit {measured.returncode}: " + " | ".join(tail)}
    lines = [line for line in measured.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {**job, "error": "no result printed: " + measured.stderr.strip()[-300:]}
    report = json.loads(lines[-1])
    report.update(process_wall=measured.wall, process_cpu=measured.cpu, max_rss_mb=measured.max_rss_mb)
    return {**job, **report}


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))
