"""The `incidentlab` command: report events and metrics, simulations, sweeps, offline reports.

Each subcommand is one `_cmd_<name>(args) -> int` function and one registration block in
`build_parser`. Heavy modules are imported inside the commands so `incidentlab --help` stays
fast. Bad input never shows a traceback: an IncidentlabError, an unreadable file or undecodable
text prints one line `incidentlab: error: ...` on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from incidentlab import __version__
from incidentlab.errors import IncidentlabError

EXIT_OK = 0
EXIT_ERROR = 2
TABLE_WIDTH = 100


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]) and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return args.handler(args) or EXIT_OK
    except BrokenPipeError:
        # the reader went away (`incidentlab events | head`): stop quietly, as `cat` does
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps exit-time flushes quiet
        return EXIT_OK
    except IncidentlabError as err:
        return _fail(str(err))
    except UnicodeDecodeError as err:
        return _fail(f"cannot decode the input as {err.encoding}: {err.reason} at byte {err.start}")
    except OSError as err:
        where = f" {err.filename!r}" if err.filename else ""
        return _fail(f"cannot read{where}: {err.strerror or err}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="incidentlab",
        description="Discord's 2017-03-20 cascading failure as data, a model, and a Lab.",
    )
    parser.add_argument("--version", action="version", version=f"incidentlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # --- events: the report as a table of events -------------------------------------------
    p = sub.add_parser("events", help="parse an incident report into events",
                       description="Parse an incident report (default: the bundled Discord "
                       "report) into one row per event.")
    add_report_arguments(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="output format (default: table)")
    p.set_defaults(handler=_cmd_events)

    # --- metrics: time to detect, to first update, to recovery; update lags ----------------
    p = sub.add_parser("metrics", help="incident metrics of a report",
                       description="Minutes from the first trigger to detection, first public "
                       "update, first recovery and resolution; recurrences; status-update lags.")
    add_report_arguments(p)
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="output format (default: table)")
    p.set_defaults(handler=_cmd_metrics)

    # --- simulate: one scenario of the cluster model -> its outcome --------------------------
    p = sub.add_parser("simulate", help="run the cluster model on a preset",
                       description="Run a preset scenario of the cluster model, optionally with "
                       "knobs changed, and print its outcome.")
    _add_model_arguments(p)
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="output format (default: table; json keys are the Outcome fields)")
    p.add_argument("--engine", choices=("fluid", "agents"), default="fluid",
                   help="fluid (mean-field, default) or agents (every session, seeded)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the agents engine")
    p.add_argument("--scale", type=float, default=None, metavar="FACTOR",
                   help="run Scenario.scaled(FACTOR), e.g. 0.001 (5,000 users) for agents")
    p.add_argument("--uncertainty", action="store_true",
                   help="also run N draws over the assumptions' plausible ranges and give the "
                        "first OOM and user-minutes lost with their 5th-95th percentile range")
    p.add_argument("--n", type=int, default=64, metavar="N",
                   help="draws for --uncertainty (default: 64)")
    p.set_defaults(handler=_cmd_simulate)

    # --- sweep: a grid of scenarios -> one outcome row each ----------------------------------
    p = sub.add_parser("sweep", help="run a grid of scenarios of the cluster model",
                       description="Run every combination of knob values on top of a preset; "
                       "one row of outcome per scenario.")
    _add_model_arguments(p)
    p.add_argument("--grid", action="append", required=True, metavar="KNOB=V1,V2,...",
                   help="values of one knob (repeat for more knobs)")
    p.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="output format (default: csv)")
    p.set_defaults(handler=_cmd_sweep)

    # --- report: one self-contained HTML page that opens with no network ---------------------
    p = sub.add_parser("report", help="write an offline HTML report of a scenario",
                       description="Run a preset, optionally with knobs changed, and write one "
                       "self-contained HTML page: outcome cards, charts with their Vega "
                       "JavaScript inlined, and the knobs used. It opens with no network.")
    _add_model_arguments(p)
    p.add_argument("--out", required=True, metavar="FILE.html", help="the HTML file to write")
    p.set_defaults(handler=_cmd_report)

    # --- sensitivity: which assumptions matter (Sobol indices) --------------------------------
    p = sub.add_parser("sensitivity", help="which assumptions change the outcome (Sobol indices)",
                       description="Sobol indices of the first OOM, crashes, events lost, "
                       "user-minutes lost and recovery over the assumptions' plausible ranges "
                       "(RANGES in model/params.py): N x (knobs + 2) runs on every local core.")
    _add_model_arguments(p)
    p.add_argument("--n", type=int, default=64, metavar="N",
                   help="base samples (default: 64; runs = N x 20; more narrows the intervals)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default: 0)")
    p.add_argument("--format", choices=("table", "csv", "json", "markdown"), default="table",
                   help="output format (default: table)")
    p.set_defaults(handler=_cmd_sensitivity)

    # --- warm: compile the model once after installing ------------------------------------------
    p = sub.add_parser("warm", help="compile the model and build the Lab's charts once, after "
                       "installing",
                       description="Compile the model's step loop ahead of time into an "
                       "extension module in numba's cache folder (numba.pycc; needs a C "
                       "compiler), or without one into numba's cache, so the first simulate "
                       "of a lesson or a command does not wait; then build the Lab's chart "
                       "layouts and the offline Vega bundle and keep them on disk, so a first "
                       "Lab loads neither altair nor vl-convert.")
    p.set_defaults(handler=_cmd_warm)

    # --- Add further subcommands here (simulate, sweep, report): one registration block each,
    # --- like the ones above, with p.set_defaults(handler=_cmd_<name>), and the _cmd_<name>
    # --- function below. Raise IncidentlabError for bad input; main() prints it.

    return parser


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    """PATH, --date and --tz: which report to read and what to assume where it is silent."""
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="report text file, '-' for stdin (default: bundled discord-2017-03-20)")
    p.add_argument("--date", help="date for times the text leaves undated, e.g. 2017-03-20")
    p.add_argument("--tz", help="zone for times the text leaves unzoned, e.g. UTC, PDT, -07:00")


def read_events(args: argparse.Namespace):
    """The events of the report named by `args.path` (bundled Discord report when absent)."""
    from incidentlab.reports import parse_report_with_warnings, report_text

    if args.path is None:
        text: str | bytes = report_text("discord-2017-03-20")
    elif args.path == "-":
        text = sys.stdin.buffer.read()
    else:
        text = Path(args.path).read_bytes()
    parsed = parse_report_with_warnings(text, date=args.date, tz=args.tz)
    for message in parsed.warnings:  # the parse went on; say what it had to guess
        print(f"incidentlab: warning: {message}", file=sys.stderr)
    return parsed.events


# --- commands ----------------------------------------------------------------------------------


def _cmd_events(args: argparse.Namespace) -> int:
    import polars as pl

    events = read_events(args)
    if args.format == "json":
        _print_json(_json_rows(events))
    elif args.format == "csv":
        iso = "%Y-%m-%dT%H:%M:%S%:z"
        flat = events.with_columns(
            pl.col("time", "end").dt.to_string(iso),
            pl.when(pl.col("services").list.len() > 0).then(pl.col("services").list.join(";")),
        )
        sys.stdout.write(flat.write_csv())
    else:
        print(_events_table(events))
    return EXIT_OK


def _cmd_metrics(args: argparse.Namespace) -> int:
    from incidentlab.metrics import incident_metrics

    metrics = incident_metrics(read_events(args))
    if args.format == "json":
        _print_json(metrics.as_dict())
    else:
        print(metrics)
    return EXIT_OK


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="march-2017", metavar="NAME",
                   help="march-2017, march-2017-fixed or march-2017-replay (default: march-2017)")
    p.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                   help="change a knob, e.g. --set inflight_limit=1000 --set fast_fail=true "
                        "(none for no limit)")


def _scenario(args: argparse.Namespace):
    from incidentlab.model.params import parse_knob
    from incidentlab.model.presets import presets

    scenario = presets[args.preset]
    knobs = dict(parse_knob(item) for item in args.set)
    return scenario.replace(**knobs) if knobs else scenario


def _cmd_simulate(args: argparse.Namespace) -> int:
    from incidentlab.model.engine import simulate

    scenario = _scenario(args)
    if args.scale is not None:
        scenario = scenario.scaled(args.scale)
    outcome = simulate(scenario, engine=args.engine, seed=args.seed).outcome
    if args.format == "json":
        _print_json(outcome.as_dict())
    else:
        fields = outcome.as_dict()
        width = max(map(len, fields))
        for name, value in fields.items():
            shown = f"{value:,.6g}" if isinstance(value, float) else value
            print(f"{name:<{width}}  {shown}")
        print()
        print("\n".join(outcome.sentences()))
    if args.uncertainty:
        from incidentlab.analysis.uncertainty import headline, uncertainty

        band = uncertainty(_scenario(args), n=args.n)
        if args.format == "json":
            _print_json({"uncertainty": band.to_dicts()})
        else:
            print()
            print("Over the assumptions: " + headline(band))
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from incidentlab.analysis import sweep
    from incidentlab.model.params import parse_value

    grids: dict[str, list] = {}
    for item in args.grid:
        name, sep, values = item.partition("=")
        if not sep or not values.strip():
            raise IncidentlabError(f"--grid {item!r} is not KNOB=V1,V2,...")
        grids[name.strip()] = [parse_value(name.strip(), v.strip()) for v in values.split(",")]
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        frame = sweep(_scenario(args), **grids)
    for note in notes:
        print(f"incidentlab: note: {note.message}", file=sys.stderr)
    if args.format == "json":
        _print_json(frame.to_dicts())
    else:
        sys.stdout.write(frame.write_csv())
    return EXIT_OK


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from incidentlab.analysis.sensitivity import sensitivity, sensitivity_markdown
    from incidentlab.model.params import RANGES

    total = args.n * (len(RANGES) + 2) if args.n > 0 else 0
    frame = sensitivity(_scenario(args), n=args.n, seed=args.seed,
                        progress=_progress_bar("sensitivity", total))
    if args.format == "json":
        _print_json(frame.to_dicts())
    elif args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "markdown":
        print(sensitivity_markdown(frame))
    else:
        print(f"Sobol indices over the assumptions' ranges, {total:,} runs of {args.preset}: "
              "ST = total (with interactions), S1 = alone; ST near 0 means the guess does not "
              "matter.")
        print(sensitivity_markdown(frame))
    return EXIT_OK


def _cmd_warm(args: argparse.Namespace) -> int:
    import time

    start = time.perf_counter()
    from incidentlab.model import aot
    from incidentlab.model.engine import run_outcome, simulate, world
    from incidentlab.model.presets import presets

    how = "built ahead of time: commands load it without numba"
    try:
        aot.build(world(presets[name]) for name in presets)
    except aot.BuildError as err:
        print(f"incidentlab: {err}", file=sys.stderr)
        how = "compiled once, then loaded from numba's cache"
    simulate(presets["march-2017"])  # loads the build, or compiles the JIT loop without one
    run_outcome(presets["march-2017"])  # the sweeps' loop, which tallies instead of recording
    print(f"model ready in {time.perf_counter() - start:.1f} s ({how})")
    start = time.perf_counter()
    from incidentlab import lab

    lab.warm()
    print(f"Lab ready in {time.perf_counter() - start:.1f} s (chart layouts and the Vega bundle "
          "kept on disk)")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from incidentlab.export import write_report

    path = write_report(_scenario(args), args.out, preset=args.preset)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opens offline)")
    return EXIT_OK


# --- helpers -----------------------------------------------------------------------------------


def _fail(message: str) -> int:
    print(f"incidentlab: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_ERROR


def _progress_bar(what: str, total: int):
    """A one-line progress bar on stderr for runs of a few seconds or more (a terminal only)."""
    if total < 500 or not sys.stderr.isatty():
        return None
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        filled = round(30 * done / total)
        end = "\n" if done >= total else ""
        print(f"\r{what} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,} runs",
              end=end, file=sys.stderr, flush=True)

    return advance


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _json_rows(events) -> list[dict[str, Any]]:
    """Events as JSON objects: `time`/`end` as ISO 8601 with their UTC offset."""
    return [
        {k: (v.isoformat() if k in ("time", "end") and v is not None else v)
         for k, v in row.items()}
        for row in events.iter_rows(named=True)
    ]


def _events_table(events) -> str:
    """A fixed-width table that fits in TABLE_WIDTH columns; '~' marks approximate times."""
    zone = events.schema["time"].time_zone
    offset = events["time"][0].strftime("%z") if events.height else "+0000"
    where = f"UTC{offset[:3]}:{offset[3:]}"
    if "/" in zone and not zone.startswith("Etc/"):
        where = f"{zone} ({where} at the first event)"
    header = f"{events.height} events, times in {where}; ~ marks an approximate time"
    columns = f"{'time':<17} {'kind':<13} {'status':<13} {'line':>4}  text"
    lines = [header[:TABLE_WIDTH], columns, "-" * TABLE_WIDTH]
    text_width = TABLE_WIDTH - 52
    for row in events.iter_rows(named=True):
        stamp = row["time"].strftime("%Y-%m-%d %H:%M") + ("~" if row["approximate"] else " ")
        text = row["text"] if len(row["text"]) <= text_width else row["text"][:text_width - 1] + "…"
        lines.append(f"{stamp:<17} {row['kind']:<13} {row['status'] or '':<13} "
                     f"{row['line']:>4}  {text}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
