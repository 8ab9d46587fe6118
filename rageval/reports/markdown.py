"""report.md: the aggregate table in Markdown."""

from __future__ import annotations

from typing import Any


def format_number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


def format_interval(interval: list[float] | None, digits: int = 4) -> str:
    if not interval:
        return "—"
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def aggregate_rows(aggregate: dict[str, Any]) -> list[list[str]]:
    """Table rows shared by the Markdown report and the terminal table."""
    rows = []
    for name, entry in aggregate["metrics"].items():
        arrow = "↑" if entry["higher_is_better"] else "↓"
        rows.append(
            [
                f"{name} {arrow}",
                format_number(entry["value"]),
                format_interval(entry["ci95"]),
                format_number(entry["mean"]),
                str(entry["n"]),
                str(entry["n_errors"]),
                str(entry.get("n_undetermined", 0)),
            ]
        )
    return rows


AGGREGATE_HEADERS = ["score", "value", "95% CI", "mean", "n", "errors", "undetermined"]


def render_markdown(aggregate: dict[str, Any]) -> str:
    lines = [f"# {aggregate['name']}", ""]
    lines.append(f"{aggregate['n_samples']} samples from `{aggregate['config']['dataset']['path']}`.")
    lines.append("")
    lines.append("| " + " | ".join(AGGREGATE_HEADERS) + " |")
    lines.append("|" + "|".join("---" for _ in AGGREGATE_HEADERS) + "|")
    for row in aggregate_rows(aggregate):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    if aggregate.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {text}" for text in aggregate["warnings"]]
    if aggregate.get("slices"):
        from rageval.slices import render_slices_markdown

        lines += render_slices_markdown(aggregate)
    lines += [
        "",
        "↑ higher is better, ↓ lower is better; value: corpus score from summed statistics; mean: mean of per-sample scores;",
        f"95% CI: percentile bootstrap over samples ({aggregate['bootstrap']['resamples']} resamples, "
        f"seed {aggregate['bootstrap']['seed']}).",
        "",
        "## Signatures",
        "",
    ]
    for name, entry in aggregate["metrics"].items():
        lines.append(f"- `{name}`: `{entry['signature']}`")
    lines.append("")
    return "\n".join(lines)
