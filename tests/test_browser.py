"""report.html and compare.html in a real browser: headless Chromium renders them without console messages.

The pages carry no script and a content security policy that forbids every fetch, so any console
message (a blocked load, a policy violation, a script error) is a failure. Screenshots are saved
under tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import write_jsonl

from rageval.compare import compare_runs
from rageval.config import parse_config
from rageval.reports.files import atomic_write_text
from rageval.reports.html import render_compare_html
from rageval.runner import run_task
from rageval.task import build_task

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WORDS = ["the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "house", "big", "small", "red", "blue"]


def _find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def _install_chromium() -> str:
    """Install Debian's chromium with apt-get; the reason it failed, or an empty string."""
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if prefix and not shutil.which("sudo"):
        return "not root and no sudo"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run([*prefix, *command], env=env, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(command)}: {exc}"
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return f"{' '.join(command)} exited {done.returncode}: {lines[-1] if lines else ''}"
    return ""


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable Chromium, installed with apt-get when missing."""
    found = _find_browser()
    if found:
        return found
    reason = _install_chromium()
    found = _find_browser()
    if not found:
        pytest.skip(f"headless Chromium is missing and could not be installed ({reason or 'not found after install'})")
    return found


def render(browser: str, page: Path, screenshot: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM Chromium built from ``page``, and every console message it logged; saves a screenshot."""
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
        f"--screenshot={screenshot}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def count(dom: str, tag: str, css_class: str) -> int:
    return len(re.findall(rf'<{tag}\b[^>]*class="[^"]*\b{re.escape(css_class)}\b', dom))


def translation_run(tmp_path: Path, registry, name: str, noise: float) -> Path:
    rng = random.Random(0)
    refs = [" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(30)]
    noisy = random.Random(noise)
    rows = [
        {
            "id": f"s{i}",
            "hyp": " ".join(w if noisy.random() > noise else noisy.choice(WORDS) for w in ref.split()),
            "ref": ref,
            "lang": "en" if i % 3 else "<de>",
        }
        for i, ref in enumerate(refs)
    ]
    rows[0]["hyp"] = "<img src=x onerror=alert(1)> </table> unclosed <b>"
    data = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    raw = {
        "name": name,
        "dataset": {"path": str(data), "id_column": "id", "columns": {"prediction": "hyp", "references": "ref"}},
        "metrics": ["bleu", "chrf", "wer"],
        "group_by": ["lang"],
        "bootstrap": {"resamples": 100},
    }
    run_task(build_task(parse_config(raw), registry, tmp_path), tmp_path / name)
    return tmp_path / name


def classification_run(tmp_path: Path, registry) -> Path:
    rng = random.Random(1)
    rows = [{"id": i, "label": i % 2, "p": min(1.0, max(0.0, 0.35 * (i % 2) + rng.random() * 0.65))} for i in range(80)]
    data = write_jsonl(tmp_path / "clf.jsonl", rows)
    raw = {
        "name": "clf",
        "dataset": {"path": str(data), "id_column": "id", "columns": {"prediction_scores": "p"}},
        "metrics": ["auc_roc"],
        "bootstrap": {"resamples": 50},
    }
    run_task(build_task(parse_config(raw), registry, tmp_path), tmp_path / "clf")
    return tmp_path / "clf"


@pytest.mark.slow
def test_report_renders_in_chromium_without_console_messages(chromium, tmp_path, registry):
    run = translation_run(tmp_path, registry, "good", 0.1)
    dom, console = render(chromium, run / "report.html", ARTIFACTS / "report.png", tmp_path / "profile")
    assert console == []
    assert count(dom, "table", "aggregate") == 1 and count(dom, "table", "slices") == 1
    assert count(dom, "svg", "histogram") == 3 and count(dom, "rect", "bar") >= 3
    assert count(dom, "svg", "intervals") == 3
    assert count(dom, "details", "sample") >= 3
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom and "<img" not in dom
    assert (ARTIFACTS / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    clf = classification_run(tmp_path, registry)
    dom, console = render(chromium, clf / "report.html", ARTIFACTS / "report-curves.png", tmp_path / "profile")
    assert console == []
    assert count(dom, "svg", "curve") == 2 and count(dom, "polyline", "line") == 2
    assert "auc_roc: roc" in dom and "auc_roc: precision_recall" in dom


@pytest.mark.slow
def test_compare_page_renders_in_chromium_without_console_messages(chromium, tmp_path, registry):
    runs = [translation_run(tmp_path, registry, name, noise) for name, noise in [("base", 0.1), ("worse", 0.5)]]
    result = compare_runs(runs, registry, resamples=200, trials=200)
    page = tmp_path / "compare.html"
    atomic_write_text(page, render_compare_html(result))
    dom, console = render(chromium, page, ARTIFACTS / "compare.png", tmp_path / "profile")
    assert console == []
    assert count(dom, "table", "comparison") == 1 and count(dom, "table", "runs") == 1
    assert count(dom, "svg", "intervals") == 3 and count(dom, "circle", "point") == 3
    assert count(dom, "span", "worse") == 3  # every score is significantly worse
    assert (ARTIFACTS / "compare.png").stat().st_size > 10_000


@pytest.mark.slow
def test_the_console_check_catches_what_a_broken_page_logs(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        '</head><body><img src="https://example.invalid/x.png"></body></html>'
    )
    _, console = render(chromium, page, tmp_path / "broken.png", tmp_path / "profile")
    assert console and "Content Security Policy" in console[0]
