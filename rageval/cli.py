"""The ``rageval`` command. The one place where exceptions become exit codes.

Exit codes: 0 success; 2 a bad config, dataset or usage; 1 a run that failed. Errors are
one line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rageval.errors import RagevalError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"rageval: error: {message} (see 'rageval {self.prog.split()[-1]} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="rageval", description="Evaluate RAG, translation and ASR outputs with plugins.")
    parser.add_argument("--version", action="version", version=f"rageval {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    common = _ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    common.add_argument("--no-plugins", action="store_true", help="do not load installed plugins (entry points)")

    run = sub.add_parser("run", parents=[common], help="score a task config and write reports")
    run.add_argument("config", help="task config (YAML)")
    run.add_argument("-o", "--output", help="output folder (default: the config's output, else runs/<name>)")
    run.add_argument("--limit", type=int, help="score only the first N rows")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set metrics.0.params.tokenize=intl (repeatable)",
    )
    run.add_argument("--overwrite", action="store_true", help="replace an earlier run in the output folder")
    run.add_argument(
        "--resume", action="store_true", help="continue the run in the output folder, scoring only new ids"
    )
    run.add_argument(
        "--no-cache", action="store_true", help="compute every model output: neither read nor write the model cache"
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no table")
    run.add_argument("--format", choices=("table", "json", "md"), default="table", help="how to print the aggregate")

    validate = sub.add_parser("validate", parents=[common], help="check a config and its dataset without scoring")
    validate.add_argument("config")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    metrics = sub.add_parser("metrics", parents=[common], help="list registered metrics")
    metrics.add_argument("--json", action="store_true", help="machine-readable output")
    local_plugin = {
        "dest": "local_plugins",
        "action": "append",
        "default": [],
        "metavar": "FILE_OR_MODULE",
        "help": "also load this local plugin: a .py file or a dotted module (repeatable)",
    }
    metrics.add_argument("--plugin", **local_plugin)

    describe = sub.add_parser("describe", parents=[common], help="everything a metric declares, its parameters first")
    describe.add_argument("metric", help="a registered metric name (see 'rageval metrics')")
    describe.add_argument("--json", action="store_true", help="machine-readable output")
    describe.add_argument("--plugin", **local_plugin)

    presets = sub.add_parser("presets", parents=[common], help="list the task presets a config can name with 'task:'")
    presets.add_argument("--json", action="store_true", help="machine-readable output")
    compare = sub.add_parser(
        "compare", parents=[common], help="compare runs of one dataset sample by sample, with paired significance tests"
    )
    compare.add_argument("runs", nargs="+", metavar="RUN", help="run folders; the first is the baseline")
    compare.add_argument("--format", choices=("table", "json", "md"), default="table", help="how to print the result")
    compare.add_argument("--html", metavar="PATH", help="also write the comparison as a self-contained HTML page")
    compare.add_argument("--resamples", type=int, default=1000, help="paired bootstrap resamples (default 1000)")
    compare.add_argument("--trials", type=int, default=10000, help="approximate randomization trials (default 10000)")
    compare.add_argument("--seed", type=int, default=0, help="seed of both tests (default 0)")
    compare.add_argument("--force", action="store_true", help="compare runs of different samples or metric settings")
    return parser


def _version() -> str:
    from rageval.metric import distribution_version

    return distribution_version("rageval")


def _registry(args: argparse.Namespace) -> Any:
    from rageval.registry import build_registry

    registry = build_registry(entry_points=not args.no_plugins)
    if getattr(args, "local_plugins", None):
        from rageval.plugins import with_local_plugins

        registry = with_local_plugins(registry, args.local_plugins, Path.cwd())
    return registry


def _load_task(args: argparse.Namespace) -> Any:
    from rageval.config import load_config
    from rageval.presets import check_preset_metrics
    from rageval.task import build_task

    overrides = list(args.overrides)
    if getattr(args, "limit", None) is not None:
        if args.limit <= 0:
            from rageval.errors import ConfigError

            raise ConfigError(f"--limit must be a positive number, got {args.limit}")
        overrides.append(f"dataset.limit={args.limit}")
    config = load_config(args.config, overrides)
    if getattr(args, "no_cache", False):
        config = config.model_copy(update={"cache": config.cache.model_copy(update={"enabled": False})})
    from rageval.plugins import with_local_plugins

    registry = with_local_plugins(_registry(args), config.plugins, Path(args.config).resolve().parent)
    check_preset_metrics(config.task, [m.name for m in config.metrics], registry.names())
    return build_task(config, registry, Path(args.config).resolve().parent)


def _progress_factory(quiet: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    def start(total: int, n_metrics: int) -> Any:
        progress = Progress(
            TextColumn("scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        progress.start()
        task_id = progress.add_task("scoring", total=total, rate="")
        done = [0]

        def advance(count: int) -> None:
            done[0] += count
            elapsed = progress.tasks[0].elapsed or 0.0
            rate = f"{done[0] / elapsed:,.0f} samples/s" if elapsed > 0 else ""
            progress.update(task_id, advance=count, rate=rate)
            if done[0] >= total:
                progress.stop()

        return advance

    return start


def _print_aggregate(aggregate: dict[str, Any], fmt: str) -> None:
    from rageval.reports.markdown import AGGREGATE_HEADERS, aggregate_rows, render_markdown

    if fmt == "json":
        print(json.dumps(aggregate, ensure_ascii=False, indent=2))
        return
    if fmt == "md":
        print(render_markdown(aggregate))
        return
    from rich.table import Table

    table = Table(title=f"{aggregate['name']} ({aggregate['n_samples']} samples)")
    for header in AGGREGATE_HEADERS:
        table.add_column(header, justify="left" if header == "score" else "right")
    for row in aggregate_rows(aggregate):
        table.add_row(*row)
    _console().print(table)
    from rageval.slices import slice_tables

    for slice_table in slice_tables(aggregate):
        _console().print(slice_table)


def _console() -> Any:
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def _terminate_as_error(signum: int, frame: Any) -> None:
    raise _Terminated()


class _Terminated(BaseException):
    """SIGTERM arrived during a run; a BaseException so no per-sample handler swallows it."""


def _summary_line(result: Any) -> str:
    timing = result.aggregate.get("timing", {})
    parts = [f"scored {timing.get('samples_scored', 0)} samples in {timing.get('seconds', 0):.1f}s"]
    if timing.get("samples_per_second"):
        parts[0] += f" ({timing['samples_per_second']:,.0f}/s)"
    if timing.get("samples_resumed"):
        parts.append(f"{timing['samples_resumed']} read back from the earlier run")
    spent = timing.get("metric_seconds", {})
    if spent:
        parts.append("time per metric: " + ", ".join(f"{alias} {sec:.1f}s" for alias, sec in spent.items()))
    counters = result.aggregate.get("counters", {})
    if counters:
        parts.append(", ".join(f"{name}: {value}" for name, value in sorted(counters.items())))
    return "; ".join(parts) + f"; wrote {result.output_dir}/"


def cmd_run(args: argparse.Namespace) -> int:
    import signal

    from rageval.errors import RunError
    from rageval.runner import default_output_dir, run_task

    task = _load_task(args)
    output = Path(args.output) if args.output else default_output_dir(task)
    resume_hint = f"continue it with: rageval run {args.config} -o {output} --resume"
    previous_handler = signal.signal(signal.SIGTERM, _terminate_as_error)
    try:
        result = run_task(
            task, output, overwrite=args.overwrite, resume=args.resume, progress=_progress_factory(args.quiet)
        )
    except KeyboardInterrupt:
        sys.stderr.write(f"rageval: interrupted; the rows written so far are kept: {resume_hint}\n")
        return 130
    except _Terminated:
        raise RunError(f"terminated (SIGTERM); the rows written so far are kept: {resume_hint}") from None
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        for text in task.context.warnings:
            sys.stderr.write(f"rageval: warning: {text}\n")
    if not args.quiet or args.format != "table":
        _print_aggregate(result.aggregate, args.format)
    if not args.quiet:
        sys.stderr.write(_summary_line(result) + "\n")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    task = _load_task(args)
    scan = task.source.scan()
    fields = task.field_columns(scan)
    from rageval.runner import compute_signatures
    from rageval.slices import check_group_by

    check_group_by(task.config.group_by, scan.columns)

    signatures = compute_signatures(task)
    mapped = ", ".join(f"{k}<-{v}" for k, v in fields.items())
    print(f"{args.config}: valid; {scan.n_rows} rows; fields {mapped}")
    for alias, signature in signatures.items():
        print(f"  {alias}: {signature}")
    return EXIT_OK


def cmd_metrics(args: argparse.Namespace) -> int:
    registry = _registry(args)
    entries = [
        {
            "name": item.info.name,
            "plugin": item.plugin,
            "plugin_version": item.plugin_version,
            "fields": list(item.info.fields),
            "any_of": [list(group) for group in item.info.any_of],
            "higher_is_better": item.info.higher_is_better,
            "scores": [spec.key or item.info.name for spec in item.info.score_specs()],
            "description": item.info.description,
        }
        for item in registry
    ]
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return EXIT_OK
    from rich.table import Table

    table = Table(title=f"{len(entries)} metrics")
    for column in ("name", "plugin", "fields", "better", "description"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry["name"],
            entry["plugin"],
            ", ".join([*entry["fields"], *("|".join(group) for group in entry["any_of"])]),
            "↑" if entry["higher_is_better"] else "↓",
            entry["description"],
        )
    _console().print(table)
    return EXIT_OK


def cmd_presets(args: argparse.Namespace) -> int:
    from rageval.presets import PRESETS

    registered = _registry(args).names()
    entries = [
        {
            "task": preset.name,
            "metrics": [metric.entry() for metric in preset.metrics],
            "fields": list(preset.fields),
            "optional_fields": list(preset.optional_fields),
            "missing_metrics": preset.missing_metrics(registered),
            "why": preset.why,
        }
        for preset in PRESETS.values()
    ]
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return EXIT_OK
    from rich.table import Table

    table = Table(title=f"{len(entries)} task presets (set 'task:' and leave out 'metrics:')")
    for column in ("task", "metrics", "fields", "why"):
        table.add_column(column)
    for preset, entry in zip(PRESETS.values(), entries):
        metrics = ", ".join(m.label for m in preset.metrics)
        if entry["missing_metrics"]:
            metrics += f" (not registered: {', '.join(entry['missing_metrics'])})"
        fields = ", ".join([*preset.fields, *(f"{name} (optional)" for name in preset.optional_fields)])
        table.add_row(preset.name, metrics, fields, preset.why)
    _console().print(table)
    return EXIT_OK


def cmd_describe(args: argparse.Namespace) -> int:
    from rageval.plugins import describe_metric

    described = describe_metric(_registry(args).entry(args.metric))
    if args.json:
        print(json.dumps(described, ensure_ascii=False, indent=2))
        return EXIT_OK
    version = f" {described['plugin_version']}" if described["plugin_version"] else ""
    lines = [f"{described['name']}: {described['description']}", f"  plugin: {described['plugin']}{version}"]
    fields = ", ".join(described["fields"])
    fields += "".join(f"; one of {' or '.join(group)}" for group in described["any_of"])
    lines.append(f"  fields: {fields or 'none'}")
    lines.append(f"  higher is better: {'yes' if described['higher_is_better'] else 'no'}")
    lines.append("  scores:")
    for score in described["scores"]:
        arrow = "higher is better" if score["higher_is_better"] else "lower is better"
        note = f": {score['description']}" if score["description"] else ""
        lines.append(f"    {score['name']} ({arrow}){note}")
    lines.append("  parameters:" if described["parameters"] else "  parameters: none")
    for param in described["parameters"]:
        default = "required" if param["required"] else f"default {json.dumps(param['default'], ensure_ascii=False)}"
        facts = [param["type"], default, *param["constraints"]]
        if param["allowed"]:
            facts.append("one of " + ", ".join(json.dumps(value, ensure_ascii=False) for value in param["allowed"]))
        note = f": {param['description']}" if param["description"] else ""
        lines.append(f"    {param['name']} ({'; '.join(facts)}){note}")
    lines.append(f"  signature: {described['signature']}")
    if described["citation"]:
        lines.append(f"  citation: {described['citation']}")
    print("\n".join(lines))
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from rageval.compare import compare_runs, compare_table, render_compare_markdown

    result = compare_runs(
        args.runs, _registry(args), resamples=args.resamples, trials=args.trials, seed=args.seed, force=args.force
    )
    for text in result["warnings"]:
        sys.stderr.write(f"rageval: warning: {text}\n")
    if args.html:
        from rageval.errors import RunError
        from rageval.reports.files import atomic_write_text
        from rageval.reports.html import render_compare_html

        try:
            atomic_write_text(Path(args.html), render_compare_html(result))
        except OSError as exc:
            raise RunError(f"cannot write {args.html}: {exc.strerror or exc}") from None
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.format == "md":
        print(render_compare_markdown(result))
    else:
        _console().print(compare_table(result))
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "compare": cmd_compare,
    "validate": cmd_validate,
    "metrics": cmd_metrics,
    "presets": cmd_presets,
    "describe": cmd_describe,
}


def _tolerate_lone_surrogates() -> None:
    """Print text holding a lone surrogate (from a ``\\ud800`` escape in the data) as that escape."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


_LINE_BREAKS = {ord(char): repr(char)[1:-1] for char in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}
"""Every character ``str.splitlines`` breaks at, mapped to its escape (``\\n``, ``\\x85``, ``\\u2028``)."""


def _one_line(exc: BaseException) -> str:
    """The error's text on one line: a line break from a config or dataset value is shown escaped."""
    return str(exc).translate(_LINE_BREAKS)


def main(argv: Sequence[str] | None = None) -> int:
    _tolerate_lone_surrogates()
    args = _parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        return COMMANDS[args.command](args)
    except RagevalError as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"rageval: error: {_one_line(exc)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("rageval: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(
            f"rageval: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the traceback)\n"
        )
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
