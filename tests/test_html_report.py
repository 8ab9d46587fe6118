"""report.html: self-contained, escaped, with the aggregate, plots, curves, slices and worst samples."""

from __future__ import annotations

import json
import re

import pytest
from helpers import read_jsonl, write_jsonl

from rageval.config import parse_config
from rageval.reports.html import render_html_report, render_value
from rageval.reports.samples import scan_samples
from rageval.reports.svg import format_tick, histogram_svg, line_plot_svg, nice_ticks
from rageval.runner import run_task
from rageval.task import build_task

ROWS = [
    {"id": "good", "hyp": "the cat sat on the mat", "refs": ["the cat sat on the mat"], "lang": "en"},
    {"id": "ok", "hyp": "the cat sat on a mat", "refs": ["the cat sat on the mat"], "lang": "en"},
    {"id": "bad", "hyp": "<script>alert('x')</script> dog", "refs": ["a cat & a mat"], "lang": "de"},
    {"id": "worse", "hyp": "nothing matches here at all", "refs": ["the cat sat on the mat"], "lang": "de"},
    {"id": "broken", "hyp": None, "refs": ["x"], "lang": "de"},
]


def run(tmp_path, registry, rows=ROWS, **changes):
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    raw = {
        "name": "html <unit>",
        "dataset": {"path": str(data), "id_column": "id", "columns": {"prediction": "hyp", "references": "refs"}},
        "metrics": ["bleu", "wer"],
        "bootstrap": {"resamples": 50},
        **changes,
    }
    return run_task(build_task(parse_config(raw), registry, tmp_path), tmp_path / "out")


def sections(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end)]


def test_every_run_writes_a_self_contained_report(tmp_path, registry):
    run(tmp_path, registry, group_by=["lang"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "default-src 'none'" in html
    assert "<script" not in html and "<link" not in html and " src=" not in html
    assert re.findall(r"https?://[^\s\"'<]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg")
    assert "html &lt;unit&gt;" in html and "html <unit>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; dog" in html
    assert 'class="aggregate"' in html and "bleu ↑" in html and "wer ↓" in html
    assert html.count('class="plot histogram"') == 2
    assert 'id="slices"' in html and "bleu by lang" in html
    assert "bleu|case:mixed" in html
    assert "1 samples could not be scored" in html and "prediction must be a string, got null" in html


def test_worst_samples_come_first_with_their_fields(tmp_path, registry):
    run(tmp_path, registry)
    html = (tmp_path / "out" / "report.html").read_text()
    worst = sections(html, 'id="worst"', 'id="signatures"')
    bleu = sections(worst, "<h3>bleu", "<h3>wer")
    shown = re.findall(r"<summary><b>&quot;(\w+)&quot;</b> score ([\d.]+)", bleu)
    assert [name for name, _ in shown] == ["bad", "worse", "ok", "good"]  # ties (BLEU 0) in id order
    assert [float(score) for _, score in shown] == sorted(float(score) for _, score in shown)
    wer = worst[worst.index("<h3>wer") :]
    shown = re.findall(r"<summary><b>&quot;(\w+)&quot;</b> score ([\d.]+)", wer)
    assert [float(score) for _, score in shown] == sorted((float(score) for _, score in shown), reverse=True)
    assert shown[-1] == ("good", "0.0000")
    assert "<dt>references</dt>" in bleu and "a cat &amp; a mat" in bleu


def test_rows_keep_the_fields_as_the_dataset_had_them(tmp_path, registry):
    run(tmp_path, registry)
    rows = {row["id"]: row for row in read_jsonl(tmp_path / "out" / "samples.jsonl")}
    assert rows["bad"]["fields"] == {"prediction": "<script>alert('x')</script> dog", "references": ["a cat & a mat"]}
    assert rows["broken"]["fields"] == {"references": ["x"]}
    assert "lang" not in rows["good"]["fields"]


def test_worst_selection_is_bounded_and_exact(tmp_path):
    rows = [{"id": i, "scores": {"s": float((i * 37) % 101)}, "errors": {}, "stats": {}} for i in range(1000)]
    write_jsonl(tmp_path / "samples.jsonl", rows)
    aggregate = {"metrics": {"s": {"higher_is_better": True}}, "config": {"metrics": [{"name": "s"}]}}
    scans = scan_samples(tmp_path / "samples.jsonl", aggregate, worst_n=7)
    assert len(scans["s"].worst) <= 14
    expected = sorted(rows, key=lambda r: (r["scores"]["s"], json.dumps(r["id"])))[:7]
    assert [shown["id"] for shown in scans["s"].worst_rows(7)] == [r["id"] for r in expected]
    assert len(scans["s"].values) == 1000
    aggregate["metrics"]["s"]["higher_is_better"] = False
    scans = scan_samples(tmp_path / "samples.jsonl", aggregate, worst_n=3)
    assert [shown["score"] for shown in scans["s"].worst_rows(3)] == [100.0, 100.0, 100.0]


def test_a_torn_last_line_and_a_missing_file_do_not_break_the_report(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text('{"id": 1, "scores": {"s": 0.5}}\n{"id": 2, "sco')
    aggregate = {"metrics": {"s": {"higher_is_better": True}}, "config": {"metrics": [{"name": "s"}]}}
    assert list(scan_samples(path, aggregate)["s"].values) == [0.5]
    assert scan_samples(tmp_path / "none.jsonl", aggregate)["s"].values.tolist() == []


def minimal_aggregate(**extra):
    aggregate = {
        "name": "t",
        "config": {"dataset": {"path": "d.jsonl"}, "metrics": [{"name": "auc_roc"}, {"name": "faith"}]},
        "n_samples": 2,
        "bootstrap": {"resamples": 0, "seed": 0},
        "metrics": {
            name: {
                "metric": name,
                "value": 0.5,
                "mean": 0.5,
                "n": 2,
                "n_errors": 0,
                "n_undetermined": 0,
                "ci95": None,
                "higher_is_better": True,
                "signature": f"{name}|x:1",
            }
            for name in ("auc_roc", "faith")
        },
        "details": {},
        "warnings": [],
    }
    aggregate.update(extra)
    return aggregate


def test_curves_from_details_are_plotted(tmp_path):
    details = {
        "auc_roc": {
            "roc": {"fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 0.8, 1.0], "threshold": [None, 0.7, 0.1]},
            "precision_recall": {"precision": [1.0, 0.8, 0.5], "recall": [0.2, 0.8, 1.0], "threshold": [0.9, 0.5, 0.1]},
            "per_class": [
                {"class": "a", "auc": 0.9, "roc": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]}},
                {"class": "b", "auc": 0.8, "roc": {"fpr": [0.0, 0.2, 1.0], "tpr": [0.0, 0.9, 1.0]}},
            ],
            "average_precision": 0.75,
            "warnings": ["a warning"],
        }
    }
    html = render_html_report(minimal_aggregate(details=details, warnings=["auc_roc: a warning"]), None)
    curves = sections(html, 'id="curves"', 'id="details"')
    assert curves.count('class="plot curve"') == 3
    assert "auc_roc: roc" in curves and "auc_roc: precision_recall" in curves and "auc_roc: per_class" in curves
    roc = curves[curves.index("auc_roc: roc") :]
    assert roc.index('class="reference"') < roc.index("</svg>")  # chance diagonal on ROC
    assert len(re.search(r'points="([^"]*)"', roc).group(1).split()) == 3
    table = sections(html, 'id="details"', 'id="signatures"')
    assert "average_precision" in table and "0.7500" in table and "fpr" not in table
    assert '<div class="warn">auc_roc: a warning</div>' in html


def test_per_claim_detail_is_shown_with_the_sample(tmp_path):
    detail = {"claims": [{"claim": "Paris is in <France>", "supported": True}, {"claim": "x", "supported": False}]}
    rows = [{"id": "s1", "scores": {"faith": 0.5}, "detail": {"faith": detail}, "fields": {"prediction": "p"}}]
    write_jsonl(tmp_path / "samples.jsonl", rows)
    html = render_html_report(minimal_aggregate(), tmp_path / "samples.jsonl")
    faith = html[html.index("<h3>faith") :]
    assert "<dt>detail</dt>" in faith
    assert "<th>claim</th><th>supported</th>" in faith and "Paris is in &lt;France&gt;" in faith


def test_values_render_compactly_and_clip_long_text():
    assert render_value("x" * 2000).endswith("… (500 more characters)")
    assert render_value([1, 2.5, None]) == "1, 2.5, null"
    assert render_value(list(range(40))).endswith("… 10 more</div>")
    assert render_value(["a", "<b>"]) == "<ol><li>a</li><li>&lt;b&gt;</li></ol>"


def test_svg_helpers():
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(3, 97)[0] >= 3 and nice_ticks(3, 97)[-1] <= 97
    assert format_tick(0.25) == "0.25" and format_tick(1e-5) == "1e-05"
    svg = histogram_svg([0.1, 0.1, 0.9, float("nan")], "h <1>")
    counts = [int(n) for n in re.findall(r": (\d+) samples</title>", svg)]
    assert sum(counts) == 3 and "h &lt;1&gt;" in svg
    assert "no scored samples" in histogram_svg([], "empty")
    single = histogram_svg([2.0, 2.0], "one value")
    assert single.count("<rect") == 1 and ": 2 samples</title>" in single
    assert "no points" in line_plot_svg([("a", [], [])], "t", "x", "y")


@pytest.mark.parametrize("resamples", [0, 20])
def test_report_of_a_run_without_intervals_or_fields(tmp_path, registry, resamples):
    result = run(tmp_path, registry, bootstrap={"resamples": resamples})
    rows = read_jsonl(tmp_path / "out" / "samples.jsonl")
    for row in rows:
        row.pop("fields")
    write_jsonl(tmp_path / "old.jsonl", rows)
    html = render_html_report(result.aggregate, tmp_path / "old.jsonl")
    assert "not in samples.jsonl" in html
    assert ("—" in sections(html, 'class="aggregate"', "</table>")) == (resamples == 0)


def test_values_strict_json_cannot_hold_are_kept_as_text(tmp_path, registry):
    path = tmp_path / "reg.jsonl"
    path.write_text(
        '{"id": 1, "prediction": NaN, "label": 1, "g": NaN}\n{"id": 2, "prediction": 2, "label": 1, "g": 1}\n'
    )
    raw = {"name": "r", "dataset": {"path": str(path), "id_column": "id"}, "metrics": ["mae"], "group_by": ["g"]}
    result = run_task(build_task(parse_config(raw), registry, tmp_path), tmp_path / "out")
    rows = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert rows[0]["fields"] == {"prediction": "nan", "label": 1} and "mae" in rows[0]["errors"]
    assert result.aggregate["slices"]["g"]["NaN"]["mae"]["n_errors"] == 1
    assert result.aggregate["slices"]["g"]["1"]["mae"]["value"] == 1.0
