"""report.html and compare.html: single self-contained pages (inline CSS and SVG, no script).

The run report streams samples.jsonl once and keeps only what it shows: each score's
per-sample values (for the histogram) and its worst N rows (a bounded selection), so a run
of a million rows is never held in memory. All text from configs and data is escaped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from rageval.reports.markdown import AGGREGATE_HEADERS, aggregate_rows, format_interval, format_number
from rageval.reports.samples import WORST_N, ScoreScan, scan_samples
from rageval.reports.svg import histogram_svg, interval_plot_svg, line_plot_svg

TEXT_LIMIT = 1500
LIST_LIMIT = 30
FIELD_ORDER = (
    "question",
    "source",
    "contexts",
    "text",
    "prediction",
    "references",
    "label",
    "prediction_scores",
    "retrieved_ids",
    "relevant_ids",
)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #e5e7eb}
h3{font-size:15px;margin:20px 0 6px}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right;vertical-align:top}
th:first-child,td:first-child,table.signatures td,table.records td,table.details td,table.runs td{text-align:left}
.scroll{overflow-x:auto;max-width:100%}small{color:#6b7280}
th{background:#f3f4f6}
.muted{color:#6b7280}.warn{background:#fef3c7;border:1px solid #f59e0b;padding:8px 12px;margin:8px 0}
.loud{background:#fee2e2;border:2px solid #dc2626}
.plots{display:flex;flex-wrap:wrap;gap:12px}
svg.plot{background:#fff;border:1px solid #e5e7eb;max-width:100%;height:auto}
svg.plot text{font:11px system-ui,sans-serif;fill:#374151}svg.plot .plot-title{font-size:12px;font-weight:600}
svg .axis,svg .tick{stroke:#6b7280}svg .grid{stroke:#f3f4f6}svg .bar{fill:#3b82f6}
svg .line{stroke-width:2}svg .reference{stroke:#9ca3af;stroke-dasharray:4 3}
svg .interval{stroke:#1f2937;stroke-width:2}svg .point{fill:#2563eb}
details.sample{background:#fff;border:1px solid #e5e7eb;margin:6px 0;padding:6px 10px}
details.sample summary{cursor:pointer}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:8px 0}
dl.fields dt{font-weight:600;color:#374151}dl.fields dd{margin:0;white-space:pre-wrap;word-break:break-word}
pre{background:#fff;border:1px solid #e5e7eb;padding:8px;overflow:auto;font-size:12px}
code{font-size:12px;word-break:break-all}
.better{color:#047857}.worse{color:#b91c1c}
"""


def page(title: str, body: Sequence[str]) -> str:
    """A complete HTML document; the content security policy forbids scripts and any fetch."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
            f"<title>{escape(title)}</title><style>{CSS}</style></head>",
            "<body><main>",
            *body,
            "</main></body></html>",
            "",
        ]
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], css_class: str = "", raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (cells already rendered as HTML)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{escape(css_class)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def render_value(value: Any, depth: int = 0) -> str:
    """Any JSON value as compact HTML: records as tables, lists as numbered items, text clipped."""
    if isinstance(value, str):
        return escape(clip(value))
    if isinstance(value, float):
        return escape(format_number(value) if math.isfinite(value) else str(value))
    if value is None or isinstance(value, (bool, int)):
        return escape(json.dumps(value))
    if isinstance(value, Mapping):
        if depth > 3:
            return escape(clip(json.dumps(value, ensure_ascii=False)))
        items = "".join(f"<dt>{escape(str(k))}</dt><dd>{render_value(v, depth + 1)}</dd>" for k, v in value.items())
        return f'<dl class="fields">{items}</dl>'
    if isinstance(value, (list, tuple)):
        shown = list(value[:LIST_LIMIT])
        more = f'<div class="muted">… {len(value) - LIST_LIMIT} more</div>' if len(value) > LIST_LIMIT else ""
        if shown and all(isinstance(item, Mapping) for item in shown) and depth <= 3:
            keys = list(dict.fromkeys(k for item in shown for k in item))
            rows = [[render_value(item.get(k), depth + 1) for k in keys] for item in shown]
            return table([str(k) for k in keys], rows, "records", raw=True) + more
        if all(isinstance(item, (int, float, bool)) or item is None for item in shown):
            return escape(", ".join(json.dumps(item) for item in shown)) + more
        items = "".join(f"<li>{render_value(item, depth + 1)}</li>" for item in shown)
        return f"<ol>{items}</ol>{more}"
    return escape(clip(str(value)))


# The run report.


def _numbers(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 1
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    )


def _single_curve(value: Any) -> tuple[list[float], list[float], str, str] | None:
    """``(xs, ys, x_name, y_name)`` when ``value`` maps names to two or more equal-length number lists."""
    if not isinstance(value, Mapping):
        return None
    lists = {k: v for k, v in value.items() if _numbers(v)}
    if len(lists) < 2 or len({len(v) for v in lists.values()}) != 1:
        return None
    names = list(lists)
    x_name = next((n for n in ("fpr", "recall", "x") if n in lists), names[0])
    y_name = next((n for n in ("tpr", "precision", "y") if n in lists and n != x_name), None)
    y_name = y_name or next(n for n in names if n != x_name)
    return lists[x_name], lists[y_name], x_name, y_name


def _curve_series(value: Any) -> list[tuple[str, list[float], list[float], str, str]]:
    """``(label, xs, ys, x_name, y_name)`` of a details entry: one curve, or one per class or record."""
    single = _single_curve(value)
    if single is not None:
        return [("", *single)]
    items: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):
        items = [(str(label), inner) for label, inner in value.items()]
    elif isinstance(value, list) and value and all(isinstance(record, Mapping) for record in value):
        for index, record in enumerate(value):
            label = str(record.get("class", record.get("label", index)))
            items += [(label, inner) for inner in record.values() if _single_curve(inner) is not None][:1]
    series = []
    for label, inner in items:
        curve = _single_curve(inner)
        if curve is not None:
            series.append((label, *curve))
    return series


def _drop_curves(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if _single_curve(v) is None}
    return value


def render_curves(details: Mapping[str, Any]) -> list[str]:
    """One line plot per details entry that holds a curve (ROC, precision-recall, ...)."""
    plots = []
    for alias, extra in details.items():
        if not isinstance(extra, Mapping):
            continue
        for key, value in extra.items():
            series = _curve_series(value)
            if not series:
                continue
            x_name, y_name = series[0][3], series[0][4]
            roc = x_name == "fpr" or "roc" in key.lower()
            plots.append(
                line_plot_svg(
                    [(label or key, xs, ys) for label, xs, ys, _, _ in series], f"{alias}: {key}", x_name, y_name, roc
                )
            )
    return plots


def _other_details(details: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for alias, extra in details.items():
        if not isinstance(extra, Mapping):
            continue
        for key, value in extra.items():
            if key == "warnings" or _single_curve(value) is not None:
                continue
            if isinstance(value, Mapping) and value and all(_single_curve(v) is not None for v in value.values()):
                continue
            if isinstance(value, list):
                value = [_drop_curves(item) for item in value]
            rows.append([escape(alias), escape(str(key)), render_value(value)])
    return rows


def render_sample(shown: Mapping[str, Any], open_: bool) -> str:
    fields = shown.get("fields") or {}
    names = [n for n in FIELD_ORDER if n in fields] + [n for n in fields if n not in FIELD_ORDER]
    items = "".join(f"<dt>{escape(n)}</dt><dd>{render_value(fields[n])}</dd>" for n in names)
    if shown.get("detail") is not None:
        items += f"<dt>detail</dt><dd>{render_value(shown['detail'])}</dd>"
    if not items:
        items = '<dt>fields</dt><dd class="muted">not in samples.jsonl (a run from an older rageval)</dd>'
    preview = fields.get("prediction")
    preview_text = f" — {escape(clip(preview, 120))}" if isinstance(preview, str) else ""
    return (
        f'<details class="sample"{" open" if open_ else ""}><summary><b>{escape(json.dumps(shown["id"]))}</b> '
        f"score {escape(format_number(shown['score']))}{preview_text}</summary>"
        f'<dl class="fields">{items}</dl></details>'
    )


def render_slices(aggregate: Mapping[str, Any]) -> list[str]:
    body: list[str] = []
    for column, values in (aggregate.get("slices") or {}).items():
        body.append(f"<h3>By {escape(column)}</h3>")
        names = list(dict.fromkeys(name for entries in values.values() for name in entries))
        rows = []
        for value, entries in values.items():
            cells = [escape(value)]
            for name in names:
                entry = entries.get(name) or {}
                interval = escape(format_interval(entry.get("ci95")))
                cells.append(f"{escape(format_number(entry.get('value')))}<br><small>{interval}</small>")
            first = next(iter(entries.values()), {})
            cells += [str(first.get("n", 0)), str(first.get("n_errors", 0))]
            rows.append(cells)
        headers = [column, *names, "n", "errors"]
        body.append('<div class="scroll">' + table(headers, rows, "slices", raw=True) + "</div>")
        body.append('<p class="muted">each cell: corpus score of the rows with that value, and its 95% interval.</p>')
        if len(values) <= 40:
            plots = [
                interval_plot_svg(
                    [
                        (value, (entries.get(name) or {}).get("value"), (entries.get(name) or {}).get("ci95"))
                        for value, entries in values.items()
                    ],
                    f"{name} by {column}",
                )
                for name in names
            ]
            body.append('<div class="plots">' + "".join(plots) + "</div>")
    return body


def render_html_report(
    aggregate: Mapping[str, Any],
    samples_path: Path | None = None,
    worst_n: int = WORST_N,
    scans: Mapping[str, ScoreScan] | None = None,
) -> str:
    """report.html for a run: aggregate with intervals, plots, slices, worst samples, config.

    ``scans``, when given, are what a :class:`~rageval.reports.samples.SampleScanner` collected
    while the run wrote samples.jsonl; otherwise ``samples_path`` is read.
    """
    if scans is None:
        scans = scan_samples(samples_path, aggregate, worst_n) if samples_path is not None else {}
    name = str(aggregate["name"])
    dataset = aggregate.get("config", {}).get("dataset", {}).get("path", "")
    bootstrap = aggregate.get("bootstrap", {})
    body = [
        f"<h1>{escape(name)}</h1>",
        f'<p class="muted">{aggregate["n_samples"]} samples from <code>{escape(str(dataset))}</code>; '
        f"95% CI: percentile bootstrap over samples ({bootstrap.get('resamples')} resamples, "
        f"seed {bootstrap.get('seed')}).</p>",
        '<h2 id="scores">Scores</h2>',
        table(AGGREGATE_HEADERS, aggregate_rows(dict(aggregate)), "aggregate"),
        '<p class="muted">↑ higher is better, ↓ lower is better; value: corpus score from summed statistics; '
        "mean: mean of per-sample scores.</p>",
    ]
    body += [f'<div class="warn">{escape(text)}</div>' for text in aggregate.get("warnings") or []]
    if scans:
        body.append('<h2 id="distributions">Distributions of per-sample scores</h2><div class="plots">')
        body += [histogram_svg(np.asarray(scan.values), score) for score, scan in scans.items()]
        body.append("</div>")
    curves = render_curves(aggregate.get("details") or {})
    if curves:
        body += ['<h2 id="curves">Curves</h2><div class="plots">', *curves, "</div>"]
    extra = _other_details(aggregate.get("details") or {})
    if extra:
        body += ['<h2 id="details">Details</h2>', table(["metric", "detail", "value"], extra, "details", raw=True)]
    if aggregate.get("slices"):
        body += ['<h2 id="slices">Slices</h2>', *render_slices(aggregate)]
    if scans:
        body.append(f'<h2 id="worst">Worst {worst_n} samples per score</h2>')
        for score, scan in scans.items():
            direction = "lowest" if scan.higher_is_better else "highest"
            body.append(f"<h3>{escape(score)} <span class='muted'>({direction} first)</span></h3>")
            worst = scan.worst_rows(worst_n)
            body += [render_sample(shown, open_=index == 0) for index, shown in enumerate(worst)]
            if not worst:
                body.append('<p class="muted">no scored samples</p>')
            failed = aggregate["metrics"][score].get("n_errors", 0)
            if failed:
                examples = "; ".join(f"{json.dumps(sample_id)}: {reason}" for sample_id, reason in scan.errors)
                body.append(f'<div class="warn">{failed} samples could not be scored, e.g. {escape(examples)}</div>')
    signatures = [
        [escape(score), f"<code>{escape(entry['signature'])}</code>"] for score, entry in aggregate["metrics"].items()
    ]
    versions = [[k, str(v)] for k, v in (aggregate.get("versions") or {}).items()]
    body += [
        '<h2 id="signatures">Signatures</h2>',
        table(["score", "signature"], signatures, "signatures", raw=True),
        table(["library", "version"], versions, "versions"),
        '<h2 id="config">Config</h2>',
        f"<pre>{escape(json.dumps(aggregate.get('config'), ensure_ascii=False, indent=2))}</pre>",
    ]
    return page(f"rageval: {name}", body)


# The comparison page.


def render_compare_html(result: Mapping[str, Any]) -> str:
    """compare.html: the runs, each score's deltas with intervals and p-values, and a plot per score."""
    from rageval.compare import COMPARE_HEADERS, compare_footnote, compare_rows

    body = ["<h1>Comparison</h1>", f'<p class="muted">{escape(compare_footnote(dict(result)))}</p>']
    body += [f'<div class="warn loud">{escape(text)}</div>' for text in result.get("warnings") or []]
    runs = [[r["label"], str(r.get("name")), r["path"], str(r["n_samples"])] for r in result["runs"]]
    body += ['<h2 id="runs">Runs</h2>', table(["run", "task", "folder", "samples"], runs, "runs")]
    verdicts = []
    for score in result["scores"].values():
        for entry in score["runs"]:
            p = entry.get("p_bootstrap")
            delta = entry.get("delta")
            if p is None or delta is None or p >= 0.05 or delta == 0:
                verdicts.append("")
            else:
                verdicts.append("better" if (delta > 0) == score["higher_is_better"] else "worse")
    rows = []
    for cells, verdict in zip(compare_rows(dict(result)), verdicts):
        rendered = [escape(c) for c in cells]
        if verdict:
            rendered[4] = f'<span class="{verdict}" title="significantly {verdict}">{rendered[4]}</span>'
        rows.append(rendered)
    body += ['<h2 id="scores">Scores</h2>', table(COMPARE_HEADERS, rows, "comparison", raw=True)]
    plots = []
    for name, score in result["scores"].items():
        direction = "higher is better" if score["higher_is_better"] else "lower is better"
        entries = [(e["run"], e["delta"], e["delta_ci95"]) for e in score["runs"][1:]]
        plots.append(interval_plot_svg(entries, f"{name}: run − {result['baseline']} ({direction})"))
    body += ['<h2 id="deltas">Differences against the baseline, with 95% intervals</h2>']
    body += ['<div class="plots">', *plots, "</div>"]
    signatures = [
        [escape(name), f"<code>{escape(score['signature'])}</code>"] for name, score in result["scores"].items()
    ]
    body += ['<h2 id="signatures">Signatures</h2>', table(["score", "signature"], signatures, "signatures", raw=True)]
    return page("rageval: comparison", body)
