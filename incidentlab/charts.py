"""Altair chart builders: polars frame in, altair chart out. They never simulate.

The run panels (memory, presence, users, events) read their rows from named
datasets ("current", "baseline", "report", "limits") carried in the chart's
top-level `datasets`. The spec therefore depends only on the layout, not on
the numbers, and the Lab can swap the data of a drawn chart in place.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import math
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from incidentlab import fmt
from incidentlab.errors import IncidentlabError
from incidentlab.model import outcome as _outcome

#: Optional format checkers jsonschema imports if installed (Jupyter brings them) and that
#: cost ~2.3 s at import (an IRI grammar, the arrow library); the Vega-Lite schema uses
#: neither the "iri" nor the "duration" format.
_SLOW_FORMAT_CHECKERS = ("rfc3987_syntax", "isoduration")


def _import_altair() -> Any:
    """`import altair` without loading format checkers that altair's validation never uses.

    Hiding them while jsonschema loads changes no check altair makes (see
    `_SLOW_FORMAT_CHECKERS`); they stay importable afterwards.
    """
    hidden = [m for m in _SLOW_FORMAT_CHECKERS if m not in sys.modules]
    if "jsonschema" in sys.modules:
        hidden = []
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        import altair
    finally:
        for name in hidden:
            del sys.modules[name]
    return altair


class _Altair:
    """altair, imported at its first use: `from incidentlab import Lab` does not pay for it
    (about half a second), and a Lab whose layouts are cached (see lab._layout) never does."""

    def __getattr__(self, name: str) -> Any:
        module = _import_altair()
        globals()["alt"] = module  # later lookups find the module itself
        return getattr(module, name)


alt: Any = _Altair()


class _OfflineOnceImported(importlib.abc.MetaPathFinder):
    """Switches altair to its offline renderer in a kernel when it is imported, by this module
    or by a learner's own `import altair`, so importing charts need not import altair."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "altair":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            load = spec.loader.exec_module

            def exec_module(module: Any) -> None:
                load(module)
                _offline(module)

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
# The panels share one time cursor on purpose; altair warns when it merges the copies of it.
# (A filter, not catch_warnings(), which is not thread-safe: the Lab builds layouts in a thread.)
warnings.filterwarnings(
    "ignore", message="Automatically deduplicated selection parameter", category=UserWarning
)

#: Rows per run sent to the browser at most; the model steps every second.
MAX_POINTS = 300
#: The presence load headline is offered / capacity over the Outcome's window (five minutes).
LOAD_WINDOW_S = _outcome.LOAD_WINDOW_S

WIDTH = 520  # a panel's plot width before the browser fits the grid to its width
PANEL_HEIGHT = 130
GHOST = "#a8a8a8"
GHOST_LABEL = "2017 run (dashed)"
OOM_LABEL = "out of memory"
#: Plot-area px a panel needs besides its width (y axis, labels, padding), for the fit in the page.
PANEL_EXTRA = 78
#: Dots in the mechanism view at each moment: a 10 x 10 grid, each dot 1% of the users.
DOTS = 100
DOT_COLUMNS = 10
# Clock times travel as wall-clock ms read as UTC; label them in UTC so every browser agrees.
# A tick at midnight shows the date, so a report that runs into the next day reads right.
_CLOCK_LABEL = (
    "utchours(datum.value) == 0 && utcminutes(datum.value) == 0"
    " ? utcFormat(datum.value, '%b %d') : utcFormat(datum.value, '%H:%M')"
)

# Timeline column -> short chart field, and how a downsampled bucket summarises it:
# "max" keeps the peaks the outcome quotes, "last" keeps cumulative counters exact.
_FIELDS: dict[str, tuple[str, str]] = {
    "node_memory_max_gb": ("mem_max", "max"),
    "node_memory_mean_gb": ("mem_mean", "mean"),
    # offered is first smoothed over one minute (see downsample): retries without jitter come
    # in spikes a few steps apart, and a bucket's raw maximum would chart the spike, not the load
    "presence_offered_ops": ("offered", "max"),
    "presence_capacity_ops": ("capacity", "mean"),
    "presence_goodput_ops": ("goodput", "mean"),
    "users_connected": ("connected", "mean"),
    "users_stalled": ("stalled", "max"),
    "users_reconnecting": ("reconnecting", "mean"),
    "users_offline": ("offline", "max"),
    "events_delivered": ("delivered", "last"),
    "events_dropped": ("dropped", "last"),
    "events_lost": ("lost", "last"),
}

_PANELS: dict[str, dict[str, Any]] = {
    "memory": {
        "title": "Session node memory",
        "unit": "GB",
        "series": {"mem_max": "busiest node", "mem_mean": "average node"},
        "colors": ["#d62728", "#ff9896"],
        "yformat": ".0f",
    },
    "presence": {
        "title": "Presence load",
        "unit": "operations/s",
        "series": {"offered": f"offered ({LOAD_WINDOW_S / 60:g}-min mean)", "capacity": "capacity",
                   "goodput": "goodput"},
        "colors": ["#d62728", "#333333", "#2ca02c"],
        "yformat": "~s",
    },
    "users": {
        "title": "Users",
        "unit": "users",
        "series": {
            "connected": "connected",
            "stalled": "stalled",
            "reconnecting": "reconnecting",
            "offline": "offline",
        },
        "colors": ["#1f77b4", "#ff7f0e", "#9467bd", "#d62728"],
        "yformat": "~s",
    },
    "events": {
        "title": "Events (cumulative)",
        "unit": "events",
        "series": {"delivered": "delivered", "dropped": "dropped", "lost": "lost in crashes"},
        "colors": ["#2ca02c", "#ff7f0e", "#d62728"],
        "yformat": "~s",
    },
}


# Vega expressions for the one-line headline of each panel, from the data.
_HEADLINES: dict[str, tuple[list[dict[str, str]], str]] = {
    "memory": (
        [{"op": "max", "field": "mem_max", "as": "peak_gb"}],
        "'peak ' + format(datum.peak_gb, '.1f') + ' GB'",
    ),
    "presence": (
        [{"op": "max", "field": "load", "as": "peak_load"}],
        "'peak load ' + format(datum.peak_load, '.2f') + '× capacity'",
    ),
    "users": (
        [{"op": "max", "field": "stalled_share", "as": "peak_stalled"}],
        "'peak stalled ' + format(datum.peak_stalled, '.1%')",
    ),
    "events": (
        [
            {"op": "max", "field": "lost", "as": "total_lost"},
            {"op": "max", "field": "dropped", "as": "total_dropped"},
        ],
        "'lost ' + "
        + fmt.vega_count("datum.total_lost")
        + " + ' · dropped ' + "
        + fmt.vega_count("datum.total_dropped"),
    ),
}

# Report marks are thin dotted rules in hues the data series do not use (those are
# category10's red, orange, blue, purple, green and near-black).
_KIND_COLORS = {
    "trigger": "#e377c2",
    "impact": "#8c564b",
    "detection": "#bcbd22",
    "diagnosis": "#17becf",
    "mitigation": "#393b79",
    "recovery": "#637939",
    "communication": "#7b4173",
    "followup": "#843c39",
}

#: The mechanism view's states, in drawing order, with their colours and what they mean.
SESSION_STATES: dict[str, tuple[str, str]] = {
    "linked": ("#1f77b4", "session linked to presence: events flow"),
    "stalled, buffering": ("#ff7f0e", "lost its presence link and buffers events in memory"),
    "waiting to retry": ("#bcbd22", "stalled, waiting out its backoff before the next link try"),
    "request in flight": ("#9467bd", "stalled, its link request queued at presence"),
    "reconnecting": ("#17becf", "client reconnecting after its session node went away"),
    "crashed": ("#d62728", "offline: its session node ran out of memory"),
}


def offline_in_kernel() -> bool:
    """In a Jupyter kernel, draw altair charts offline; True when this switched the renderer.

    Altair's default renderer loads Vega from a CDN, which fails in a workshop with
    no network. The "jupyter" renderer draws with JupyterChart and the Vega
    JavaScript bundled by vl-convert instead. A renderer the user chose is kept.
    """
    return _offline(alt)


def _offline(altair: Any) -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the Jupyter dependencies
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel") or altair.renderers.active != "default":
        return False
    altair.renderers.enable("jupyter", offline=True)
    return True


class ChartError(IncidentlabError, ValueError):
    """A frame given to a chart builder lacks a column or has no rows."""


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise ChartError(f"{what}: expected a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ChartError(
            f"{what}: missing column(s) {', '.join(missing)}; "
            f"it has {', '.join(frame.columns) or 'no columns'}"
        )
    if frame.height == 0:
        raise ChartError(f"{what}: the frame has no rows")


def _wall_ms(expr: pl.Expr, tz: str | None) -> pl.Expr:
    """Wall-clock time in `tz` as epoch milliseconds read as UTC, so every browser shows it."""
    if tz is not None:
        expr = expr.dt.convert_time_zone(tz)
    return expr.dt.replace_time_zone(None).dt.epoch("ms")


def _time_zone(frame: pl.DataFrame) -> str | None:
    dtype = frame.schema["time"]
    return getattr(dtype, "time_zone", None)


def bucket_step(rows: int, max_points: int = MAX_POINTS) -> int:
    """Timeline rows per chart bucket; bucket k starts at row k * step."""
    return max(1, math.ceil(rows / max_points))


def downsample(
    timeline: pl.DataFrame, *, clock: bool = False, max_points: int = MAX_POINTS
) -> pl.DataFrame:
    """Chart rows for one run: at most `max_points` buckets of the model timeline.

    Peaks (busiest node memory, stalled users, offered load) keep their bucket
    maximum and cumulative counters their last value; `load` and `stalled_share`
    are computed before bucketing as the Outcome does, so headlines match it.
    `x` is minutes since start, or wall-clock ms when `clock`.
    """
    _require(timeline, ["t_s", "time", *_FIELDS], "timeline")
    if max_points < 2:
        raise ChartError(f"max_points: {max_points} is too small; give at least 2")
    # As the Outcome does: load over five-minute means, stalled as a share of connected sessions.
    dt_s = float(timeline["t_s"][1] - timeline["t_s"][0]) if timeline.height > 1 else 1.0
    window = max(1, min(timeline.height, round(LOAD_WINDOW_S / dt_s) if dt_s > 0 else 1))
    offered = pl.col("presence_offered_ops").cast(pl.Float64).rolling_mean(window)
    capacity = pl.col("presence_capacity_ops").cast(pl.Float64).rolling_mean(window)
    connected = pl.col("users_connected").cast(pl.Float64)
    frame = timeline.with_columns(
        pl.col("presence_offered_ops")
        .cast(pl.Float64)
        .rolling_mean(window, center=True),
        (pl.col("t_s") / 60.0).alias("_minutes"),
        _wall_ms(pl.col("time"), _time_zone(timeline)).alias("_clock"),
        pl.when(capacity > 0).then(offered / capacity).otherwise(None).alias("load"),
        pl.when(connected > 1e-9)
        .then(pl.col("users_stalled") / connected)
        .otherwise(0.0)
        .alias("stalled_share"),
    )
    step = bucket_step(frame.height, max_points)
    aggregations = [
        (pl.col("_clock") if clock else pl.col("_minutes")).first().alias("x"),
        pl.col("t_s").first(),
        pl.col("load").max(),
        pl.col("stalled_share").max(),
    ]
    for column, (field, how) in _FIELDS.items():
        aggregations.append(getattr(pl.col(column), how)().alias(field))
    rows = (
        frame.with_row_index("_row")
        .group_by((pl.col("_row") // step).alias("_bucket"), maintain_order=True)
        .agg(aggregations)
        .drop("_bucket")
    )
    floats = [c for c, t in rows.schema.items() if t.is_float() and c not in ("x", "t_s")]
    return rows.with_columns(pl.col(floats).cast(pl.Float64).round_sig_figs(6))


def report_marks(events: pl.DataFrame, tz: str | None = None) -> pl.DataFrame:
    """The report's events as chart rows: wall-clock ms in `tz`, kind, text for the tooltip."""
    _require(events, ["time", "kind", "text"], "events")
    return events.select(
        _wall_ms(pl.col("time"), tz).alias("x"),
        pl.col("time")
        .dt.convert_time_zone(tz or _time_zone(events) or "UTC")
        .dt.strftime("%H:%M")
        .alias("clock"),
        pl.col("kind"),
        pl.col("text").str.slice(0, 240).alias("text"),
    )


def session_states(
    timeline: pl.DataFrame, *, rpc_timeout_s: float, reconnect_cap_s: float
) -> pl.DataFrame:
    """Users by session state over time, (t_s, state, count), from a fluid run's timeline.

    The fluid model keeps stalled sessions as one count, so the view estimates how many
    of them retry by Little's law: a request is in flight at most `rpc_timeout_s` and a
    retry waits at most `reconnect_cap_s`, so at most attempts/s times each. The rest
    of the stalled sessions are stuck behind a locked node, buffering. An agent engine's
    per-session sample can give the same frame (or one row per session, see `dots`).
    """
    _require(
        timeline,
        ["t_s", "users_connected", "users_stalled", "users_reconnecting", "users_offline",
         "reconnect_attempts"],
        "timeline",
    )  # fmt: skip
    stalled = pl.col("users_stalled").clip(0.0)
    attempts = pl.col("reconnect_attempts").clip(0.0)
    in_flight = pl.min_horizontal(stalled, attempts * rpc_timeout_s)
    waiting = pl.min_horizontal(stalled - in_flight, attempts * reconnect_cap_s)
    wide = timeline.select(
        "t_s",
        (pl.col("users_connected") - stalled).clip(0.0).alias("linked"),
        (stalled - in_flight - waiting).clip(0.0).alias("stalled, buffering"),
        waiting.alias("waiting to retry"),
        in_flight.alias("request in flight"),
        pl.col("users_reconnecting").clip(0.0).alias("reconnecting"),
        pl.col("users_offline").clip(0.0).alias("crashed"),
    )
    return wide.unpivot(index="t_s", variable_name="state", value_name="count").sort(
        "t_s", maintain_order=True
    )


def dots(sessions: pl.DataFrame, at: pl.DataFrame, n: int = DOTS) -> pl.DataFrame:
    """The mechanism view's rows: per time `x` of `at` (t_s, x), each state's run of dots.

    `sessions` has (t_s, state, count) or one row per sampled session (t_s, state,
    session); each state gets its share of `n` dots as [start, end) in `SESSION_STATES`
    order, so the dots of a state stay together as the herd moves.
    """
    if "count" not in sessions.columns:
        _require(sessions, ["t_s", "state", "session"], "sessions")
        sessions = sessions.group_by("t_s", "state").agg(pl.len().cast(pl.Float64).alias("count"))
    _require(sessions, ["t_s", "state", "count"], "sessions")
    unknown = set(sessions["state"].unique().to_list()) - set(SESSION_STATES)
    if unknown:
        raise ChartError(
            f"sessions: unknown state(s) {', '.join(sorted(unknown))}; "
            f"accepted: {', '.join(SESSION_STATES)}"
        )
    # numpy, not a polars join and window: the Lab does this on every slider move
    times = at["t_s"].to_numpy()
    rows = sessions.filter(pl.col("t_s").is_in(times))
    col = np.searchsorted(times, rows["t_s"].to_numpy())
    states = list(SESSION_STATES)
    row = rows["state"].replace_strict(states, list(range(len(states))), return_dtype=pl.Int64)
    grid = np.zeros((len(states), len(times)))
    np.add.at(grid, (row.to_numpy(), col), np.clip(rows["count"].to_numpy(), 0.0, None))
    total = grid.sum(axis=0)
    share = np.divide(grid.cumsum(axis=0), total, out=np.zeros_like(grid), where=total > 0)
    end = np.rint(share * n).astype(np.int64)
    start = np.vstack([np.zeros((1, len(times)), dtype=np.int64), end[:-1]])
    xs = at["x"].to_list()
    keep = np.nonzero(end > start)
    return pl.DataFrame(
        {
            "x": [xs[j] for j in keep[1]],
            "state": [states[i] for i in keep[0]],
            "start": start[keep],
            "end": end[keep],
        },
        schema={"x": at.schema["x"], "state": pl.String, "start": pl.Int64, "end": pl.Int64},
    ).sort("x", maintain_order=True)


def chart_data(
    timeline: pl.DataFrame,
    *,
    baseline: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    oom_gb: float | None = None,
    clock: bool = False,
    backdrop: dict[str, list[dict[str, Any]]] | None = None,
    sessions: pl.DataFrame | None = None,
    max_points: int = MAX_POINTS,
) -> dict[str, list[dict[str, Any]]]:
    """The named datasets the panels draw: current run, ghost baseline, report marks, limits,
    and with `sessions` (see `session_states`) the mechanism view's dots.

    `backdrop` is the "baseline" and "report" datasets of an earlier call with the same
    baseline, events, clock and run span: given, they are reused instead of rebuilt, since
    the Lab's updates change only the run. `max_points` bounds the rows of each run.
    """
    current = downsample(timeline, clock=clock, max_points=max_points)
    if backdrop is None:
        backdrop = _backdrop(current, _time_zone(timeline), baseline, events, clock, max_points)
    limits = [{"oom_gb": float(oom_gb)}] if oom_gb is not None else []
    data = {
        "current": current.drop("t_s").to_dicts(),  # t_s only pairs the dots with the times
        "baseline": backdrop["baseline"],
        "report": backdrop["report"],
        "limits": limits,
    }
    if sessions is not None:
        data["sessions"] = dots(sessions, current).to_dicts()
    return data


def _backdrop(
    current: pl.DataFrame,
    tz: str | None,
    baseline: pl.DataFrame | None,
    events: pl.DataFrame | None,
    clock: bool,
    max_points: int = MAX_POINTS,
) -> dict[str, list[dict[str, Any]]]:
    """What the run is drawn against: the ghost baseline, and the report's marks in its span."""
    ghost = (downsample(baseline, clock=clock, max_points=max_points)
             if baseline is not None else current.clear())
    marks = (
        report_marks(events, tz)
        if events is not None and clock
        else pl.DataFrame(schema=dict.fromkeys(["clock", "kind", "text"], pl.String))
    )
    if marks.height:  # only what happened while the run ran: the axis stays the run's
        first, last = current["x"].min(), current["x"].max()
        marks = marks.filter(pl.col("x").is_between(first, last))
    return {"baseline": ghost.to_dicts(), "report": marks.to_dicts()}


def _x(clock: bool, *, title: bool) -> alt.X:
    if clock:
        return alt.X(
            "x:T",
            scale=alt.Scale(type="utc"),
            axis=alt.Axis(labelExpr=_CLOCK_LABEL, title="time (PDT)" if title else None),
        )
    return alt.X("x:Q", axis=alt.Axis(title="minutes since start" if title else None))


#: The shared time cursor: the pointer's nearest sampled time, in every panel at once.
CURSOR = "cursor"
#: The moment the mechanism view shows when no time is hovered (the Lab's Play moves it).
PIN = "pin"


def _cursor() -> Any:
    return alt.selection_point(
        name=CURSOR, nearest=True, on="pointermove", clear="view:pointerleave", fields=["x"],
        empty=False,
    )  # fmt: skip


def _time_tip(clock: bool) -> alt.Tooltip:
    if clock:
        return alt.Tooltip("x:T", title="time (PDT)", format="%H:%M", formatType="utc")
    return alt.Tooltip("x:Q", title="minute", format=".1f")


def _panel(
    name: str,
    *,
    clock: bool,
    last: bool,
    ghosted: bool,
    marks: bool,
    limits: bool,
    cursor: Any = None,
    legends: bool = True,
    times: str = "current",
) -> alt.LayerChart:
    spec = _PANELS[name]
    series = spec["series"]
    labels = list(series.values())
    label_expr = " : ".join(f"datum.key == '{k}' ? '{v}'" for k, v in series.items()) + " : ''"
    xt = _x(clock, title=last)
    # SI prefixes read badly to learners where G means billion: write B instead.
    labels_expr = f"replace(format(datum.value, '{spec['yformat']}'), 'G', 'B')"
    y = alt.Y("value:Q", title=spec["unit"], axis=alt.Axis(labelExpr=labels_expr))
    # One legend per panel names everything drawn in it: its series, the grey ghost, the
    # memory limit. (The report marks' kinds are named in the Lab's legend strip.)
    domain, colors = list(labels), list(spec["colors"])
    if ghosted:
        domain.append(GHOST_LABEL)
        colors.append(GHOST)
    if name == "memory" and limits:
        domain.append(OOM_LABEL)
        colors.append("#000000")
    color_scale = alt.Scale(domain=domain, range=colors)
    legend = alt.Legend(
        title=None, orient="bottom", direction="horizontal", columns=3, offset=6,
        labelFontSize=11, labelLimit=0, symbolType="stroke", symbolStrokeWidth=2,
        columnPadding=10,
    )  # fmt: skip

    def color(field: str, shown: bool = False) -> alt.Color:
        # one layer draws the legend; it lists the whole shared domain
        return alt.Color(field, scale=color_scale, legend=legend if shown and legends else None)

    ghost = (
        alt.Chart(alt.NamedData("baseline"))
        .transform_fold(list(series), as_=["key", "value"])
        .transform_calculate(series=f"'{GHOST_LABEL}'")
        .mark_line(opacity=0.8, strokeDash=[4, 3], strokeWidth=1.5)
        .encode(x=xt, y=y, detail="key:N", color=color("series:N"))
    )
    current = (
        alt.Chart(alt.NamedData("current"))
        .transform_fold(list(series), as_=["key", "value"])
        .transform_calculate(series=label_expr)
        .mark_line(strokeWidth=2)
        .encode(x=xt, y=y, color=color("series:N", shown=True))
    )
    aggregate, text = _HEADLINES[name]
    # The headline sits on the title's line, right-aligned: above the plot, off the data.
    headline = (
        alt.Chart(alt.NamedData("current"))
        .transform_aggregate(aggregate)
        .transform_calculate(headline=text)
        .mark_text(align="right", baseline="bottom", dy=-6, fontSize=12, fontWeight="bold",
                   x="width", y=0)
        .encode(text="headline:N", description="headline:N")
    )  # fmt: skip
    layers: list[alt.Chart] = [ghost, current, headline] if ghosted else [current, headline]
    if name == "memory" and limits:
        layers.append(
            alt.Chart(alt.NamedData("limits"))
            .transform_calculate(series=f"'{OOM_LABEL}'")
            .mark_rule(strokeDash=[2, 2], aria=True)
            .encode(
                y="oom_gb:Q",
                color=color("series:N"),
                tooltip=[alt.Tooltip("oom_gb:Q", title="out of memory at (GB)")],
            )
        )
    if marks:
        layers.append(
            alt.Chart(alt.NamedData("report"))
            .mark_rule(opacity=0.8, strokeWidth=1.2, strokeDash=[1, 2], aria=True)
            .encode(
                x=xt,
                color=alt.Color(
                    "kind:N",
                    scale=alt.Scale(domain=list(_KIND_COLORS), range=list(_KIND_COLORS.values())),
                    legend=None,
                ),
                tooltip=[
                    alt.Tooltip("clock:N", title="report time (PDT)"),
                    alt.Tooltip("kind:N", title="report event"),
                    alt.Tooltip("text:N"),
                ],
            )
        )
    if cursor is not None:
        layers += _cursor_layers(name, xt, clock, cursor, times=times)
    if cursor is not None and marks and name == "memory":
        layers += _events_near_cursor()
    return (
        alt.layer(*layers)
        .properties(
            title=alt.Title(spec["title"], anchor="start", fontSize=13),
            width=WIDTH,
            height=PANEL_HEIGHT,
        )
        .resolve_scale(color="independent")
    )


def marks_legend_html(kinds: Sequence[str] | None = None) -> str:
    """The report marks' legend, as HTML beside the charts: one dotted swatch per kind."""
    items = "".join(
        f'<span class="il-kind" title="report events of kind {k}">'
        f'<span style="display:inline-block;width:14px;border-top:2px dotted {c};'
        f'margin:0 3px 3px 8px"></span>{k}</span>'
        for k, c in _KIND_COLORS.items()
        if kinds is None or k in kinds
    )
    return (
        '<div class="il-marks-legend" style="font:11px sans-serif;color:#444">'
        f"<b>report events</b> (dotted lines; hover one for its text):{items}</div>"
    )


def _cursor_layers(
    name: str, xt: alt.X, clock: bool, cursor: Any, times: str = "current"
) -> list[alt.Chart]:
    """Hover: a rule at the nearest sampled time, each series' value there, all in a tooltip.

    The pointer snaps to the sampled times of dataset `times`: the ghost's, where there is
    one, are the run's own (same span, same buckets) and never change as controls move, so
    the browser does not rebuild the hover targets on every update.
    """
    spec = _PANELS[name]
    series = spec["series"]
    shown = f"replace(format(datum.value, '{spec['yformat'].replace('~s', '.3~s')}'), 'G', 'B')"
    fmt_value = f"abs(datum.value) < 1e-6 ? '0' : {shown}"  # not '−742p' for float dust
    label_expr = " : ".join(f"datum.key == '{k}' ? '{v}'" for k, v in series.items()) + " : ''"
    base = alt.Chart(alt.NamedData("current"))
    # invisible points along the axis: the pointer selects the nearest sampled time
    catcher = (
        alt.Chart(alt.NamedData(times))
        .mark_point(opacity=0)
        .encode(x=xt, y=alt.value(0))
        .add_params(cursor)
    )
    tips = [_time_tip(clock)] + [
        alt.Tooltip(f"{k}:Q", title=v, format=",.4~r") for k, v in series.items()
    ]
    rule = (
        base.transform_filter(cursor)
        .mark_rule(color="#555", strokeWidth=1)
        .encode(x=xt, tooltip=tips)
    )
    points = (
        base.transform_filter(cursor)
        .transform_fold(list(series), as_=["key", "value"])
        .transform_calculate(series=label_expr, label=fmt_value)
    )
    y = alt.Y("value:Q")
    dots_ = points.mark_point(filled=True, size=30, color="#333").encode(x=xt, y=y)
    text = points.mark_text(align="left", dx=5, dy=-5, fontSize=11, color="#222").encode(
        x=xt, y=y, text="label:N"
    )
    return [catcher, rule, dots_, text]


#: How close (ms of wall clock) a report event must be to the cursor to be listed beside it.
NEAR_MS = 5 * 60 * 1000
NEAR_SHOWN = 3


def _events_near_cursor() -> list[alt.Chart]:
    """The report events within `NEAR_MS` of the hovered time, nearest first, one per line."""
    at = f"data('{CURSOR}_store')[0].values[0]"
    base = (
        alt.Chart(alt.NamedData("report"))
        .transform_filter(f"length(data('{CURSOR}_store')) > 0")
        .transform_calculate(dist=f"abs(datum.x - {at})")
        .transform_filter(f"datum.dist <= {NEAR_MS}")
        .transform_window(rank="row_number()", sort=[alt.SortField("dist")])
        .transform_calculate(
            line="datum.clock + ' ' + datum.kind + ': ' + (length(datum.text) > 64"
            " ? substring(datum.text, 0, 63) + '…' : datum.text)"
        )
    )
    return [
        base.transform_filter(f"datum.rank == {k}")
        .mark_text(align="left", baseline="top", x=4, y=4 + 13 * (k - 1), fontSize=10,
                   color="#222")
        .encode(text="line:N")
        for k in range(1, NEAR_SHOWN + 1)
    ]  # fmt: skip


def _mechanism(clock: bool, cursor: Any, pin: Any) -> alt.LayerChart:
    """The herd itself: each dot 1% of the users, coloured by state, at the cursor or `pin`."""
    states = list(SESSION_STATES)
    shown = (
        f"length(data('{CURSOR}_store')) ? datum.x == +data('{CURSOR}_store')[0].values[0]"
        f" : datum.x == {PIN}"
    )
    base = alt.Chart(alt.NamedData("sessions")).transform_filter(shown)
    dots_ = (
        base.transform_calculate(dot="sequence(datum.start, datum.end)")
        .transform_flatten(["dot"])
        .transform_calculate(
            col=f"datum.dot % {DOT_COLUMNS}", row=f"floor(datum.dot / {DOT_COLUMNS})"
        )
        .mark_circle(size=95, opacity=0.9)
        .encode(
            x=alt.X("col:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=states, range=[c for c, _ in SESSION_STATES.values()]),
                legend=alt.Legend(title=None, orient="bottom", direction="horizontal",
                                  columns=3, labelFontSize=11, symbolSize=60, offset=6),
            ),
            tooltip=[alt.Tooltip("state:N")],
        )
    )  # fmt: skip
    when = (
        "utcFormat(datum.at, '%H:%M')" if clock else "'minute ' + format(datum.at, '.1f')"
    )
    stamp = (
        base.transform_aggregate(at="max(x)")
        .transform_calculate(stamp=f"'at ' + {when}")
        .mark_text(align="right", baseline="bottom", dy=-6, fontSize=12, fontWeight="bold",
                   x="width", y=0)
        .encode(text="stamp:N")
    )  # fmt: skip
    return (
        alt.layer(dots_, stamp)
        .add_params(pin)
        .properties(
            title=alt.Title("Sessions (each dot 1% of users)", anchor="start", fontSize=13),
            width=WIDTH,
            height=PANEL_HEIGHT,
        )
    )


def _compose(
    panels: Sequence[str],
    shown: dict[str, bool],
    clock: bool,
    pin: float = 0.0,
) -> alt.ConcatChart | alt.LayerChart:
    """The panels' layout, without data: it depends only on which datasets are non-empty
    (and on `shown["ghost_times"]`: the ghost is sampled at the run's times, see `same_times`)."""
    cursor = _cursor() if len(panels) > 1 or shown.get("sessions") else None
    charts = [
        _panel(
            p,
            clock=clock,
            last=True,
            ghosted=shown["baseline"],
            marks=shown["report"],
            limits=shown["limits"],
            cursor=cursor,
            legends=True,
            times="baseline" if shown.get("ghost_times") else "current",
        )
        for p in panels
    ]
    if shown.get("sessions"):
        charts.append(_mechanism(clock, cursor, alt.param(name=PIN, value=pin)))
    if len(charts) == 1:
        return charts[0].configure_view(stroke=None).configure_mark(aria=False)
    top = alt.concat(*charts, columns=1).resolve_scale(color="independent")
    meta = {"fitExtra": PANEL_EXTRA, "fitMin": 320, "fitGap": 24, "fitColumns": 2}
    # No ARIA description per data point (the report marks and the memory limit keep theirs,
    # which say what they are): Vega formatted one for each of ~2,000 points on every update,
    # about 40% of its update time in chromium.
    return top.properties(usermeta=meta).configure_view(stroke=None).configure_mark(aria=False)


def layout_spec(
    panels: Sequence[str], shown: dict[str, bool], *, clock: bool, pin: float = 0.0
) -> dict[str, Any]:
    """The Vega-Lite spec of `_compose` as a dict, without datasets: the Lab caches it per
    layout, since building it through altair costs far more than the data it draws."""
    return _compose(panels, shown, clock, pin).to_dict(validate=False)


def same_times(datasets: dict[str, list[dict[str, Any]]]) -> bool:
    """True when the ghost is sampled at the run's times: the hover can then snap to them."""
    ghost, current = datasets.get("baseline") or [], datasets.get("current") or []
    return len(ghost) == len(current) and all(
        g["x"] == c["x"] for g, c in zip(ghost, current, strict=True)
    )


def _with_data(chart: Any, datasets: dict[str, list[dict[str, Any]]]) -> Any:
    # Assigned, not passed to .properties(), which validates every row against the schema.
    chart.datasets = datasets
    return chart


def dashboard(
    timeline: pl.DataFrame,
    *,
    baseline: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    oom_gb: float | None = None,
    clock: bool = False,
    panels: Sequence[str] = ("memory", "presence", "users", "events"),
    sessions: pl.DataFrame | None = None,
    pin: float | None = None,
) -> alt.ConcatChart:
    """The Lab's run panels in a grid on one shared time axis, with a shared time cursor.

    `baseline` is drawn as a grey dashed ghost; with `clock` the axis is the
    wall-clock time of the timeline's zone and `events` (the parsed report)
    appear as dotted rules with their text in a tooltip. `sessions` (see
    `session_states`) adds the mechanism view, showing the hovered time or `pin`.
    The grid is one column here; the browser lays it out in two where there is room.
    """
    unknown = [p for p in panels if p not in _PANELS]
    if unknown or not panels:
        accepted = ", ".join(_PANELS)
        raise ChartError(f"panels: unknown {unknown or 'empty list'}; accepted: {accepted}")
    data = chart_data(
        timeline, baseline=baseline, events=events, oom_gb=oom_gb, clock=clock, sessions=sessions
    )
    shown = {k: bool(v) for k, v in data.items()} | {"ghost_times": same_times(data)}
    first = data["current"][0]["x"]
    return _with_data(_compose(panels, shown, clock, first if pin is None else pin), data)


def _single(name: str):
    def build(
        timeline: pl.DataFrame,
        *,
        baseline: pl.DataFrame | None = None,
        events: pl.DataFrame | None = None,
        oom_gb: float | None = None,
        clock: bool = False,
    ) -> alt.LayerChart:
        data = chart_data(timeline, baseline=baseline, events=events, oom_gb=oom_gb, clock=clock)
        return _with_data(_compose([name], {k: bool(v) for k, v in data.items()}, clock), data)

    build.__name__ = f"{name}_chart"
    build.__doc__ = f"{_PANELS[name]['title']} of one run (grey dashed: `baseline`)."
    return build


memory_chart = _single("memory")
presence_chart = _single("presence")
users_chart = _single("users")
events_chart = _single("events")


def _knob_label(value: Any, none_label: str) -> str:
    if value is None:
        return none_label
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def phase_chart(
    frame: pl.DataFrame,
    x: str,
    y: str,
    *,
    outcome: str = "oom_crashes",
    none_label: str = "unbounded",
) -> alt.LayerChart:
    """A phase diagram of a `sweep` frame: `outcome` coloured over two knobs.

    Knob values become ordered categories (None reads as `none_label`), so a
    log-spaced grid shows evenly and the cliff between good and bad stands out.
    """
    _require(frame, [x, y, outcome], "sweep frame")
    if x == y:
        raise ChartError(f"phase_chart: x and y are both {x!r}; choose two different knobs")

    def order(column: str) -> list[str]:
        values = frame.get_column(column).unique().to_list()
        present = sorted(v for v in values if v is not None)
        return [_knob_label(v, none_label) for v in present] + (
            [none_label] if None in values else []
        )

    value = frame.get_column(outcome)
    if value.dtype == pl.Boolean:
        value = value.cast(pl.Int8)
    rows = pl.DataFrame(
        {
            x: [_knob_label(v, none_label) for v in frame.get_column(x).to_list()],
            y: [_knob_label(v, none_label) for v in frame.get_column(y).to_list()],
            outcome: value.cast(pl.Float64),
        }
    )
    base = alt.Chart(alt.Data(values=rows.to_dicts())).encode(
        x=alt.X(f"{x}:O", sort=order(x), title=x),
        y=alt.Y(f"{y}:O", sort=list(reversed(order(y))), title=y),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            f"{outcome}:Q",
            scale=alt.Scale(scheme="orangered"),
            title=outcome,
            legend=alt.Legend(labelExpr="replace(format(datum.value, '~s'), 'G', 'B')"),
        ),
        tooltip=[f"{x}:O", f"{y}:O", alt.Tooltip(f"{outcome}:Q", format=",.4~r")],
    )
    top = rows.get_column(outcome).max()
    dark = f"datum['{outcome}'] > {0.6 * top if top is not None else 0!r}"
    labels = (
        base.transform_calculate(label=f"replace(format(datum['{outcome}'], '.3~s'), 'G', 'B')")
        .mark_text(fontSize=10)
        .encode(
            text="label:N",
            color=alt.condition(dark, alt.value("white"), alt.value("black")),
        )
    )
    return alt.layer(cells, labels).properties(
        title=f"{outcome} over {x} × {y}", width=alt.Step(44), height=alt.Step(28)
    )


def timeline_chart(events: pl.DataFrame) -> alt.LayerChart:
    """The parsed report on a wall-clock axis: one row per kind, text in the tooltip."""
    _require(events, ["time", "end", "source", "kind", "text"], "events")
    tz = _time_zone(events)
    rows = events.select(
        _wall_ms(pl.col("time"), tz).alias("start"),
        _wall_ms(pl.col("end"), tz).alias("end"),
        pl.col("time").dt.strftime("%H:%M").alias("clock"),
        pl.col("source"),
        pl.col("kind"),
        pl.col("text").str.slice(0, 300).alias("text"),
    )
    kinds = [k for k in _KIND_COLORS if k in set(rows.get_column("kind").to_list())]
    kinds += sorted(set(rows.get_column("kind").to_list()) - set(kinds))
    offset = rows.height and events.get_column("time").dt.strftime("%z")[0]
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    x = alt.X(
        "start:T",
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(labelExpr=_CLOCK_LABEL, title=f"time ({zone})"),
    )
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=kinds, range=[_KIND_COLORS.get(k, GHOST) for k in kinds]),
        legend=None,
    )
    tooltip = [
        alt.Tooltip("clock:N", title="time"),
        alt.Tooltip("kind:N"),
        alt.Tooltip("source:N"),
        alt.Tooltip("text:N"),
    ]
    base = alt.Chart(alt.Data(values=rows.to_dicts())).encode(
        y=alt.Y("kind:N", sort=kinds, title=None), color=color
    )
    ranges = (
        base.transform_filter("datum.end != null")
        .mark_rule(strokeWidth=6, opacity=0.5)
        .encode(x=x, x2="end:T", tooltip=tooltip)
    )
    points = base.mark_point(filled=True, size=70).encode(
        x=x, shape=alt.Shape("source:N", title="source"), tooltip=tooltip
    )
    return alt.layer(ranges, points).properties(
        title="The report's timeline", width=WIDTH, height=alt.Step(26)
    )


if "altair" in sys.modules:  # imported before this module: switch it now
    offline_in_kernel()
elif not any(isinstance(f, _OfflineOnceImported) for f in sys.meta_path):
    sys.meta_path.insert(0, _OfflineOnceImported())


def first_wave_chart(shapes: pl.DataFrame) -> alt.FacetChart:
    """Link requests per second in the first minute, one small panel per jitter, each with its
    own y scale: the no-jitter spike would otherwise flatten the other three curves."""
    _require(shapes, ["t_s", "reconnect_attempts", "jitter"], "first_wave_chart")
    jitters = shapes["jitter"].unique(maintain_order=True).to_list()
    return (
        alt.Chart(alt.Data(values=shapes.to_dicts()))
        .mark_area(interpolate="step-after", opacity=0.75)
        .encode(
            x=alt.X("t_s:Q", title="seconds after the fault"),
            y=alt.Y("reconnect_attempts:Q", title="requests/s",
                    axis=alt.Axis(labelExpr=fmt.vega_count("datum.value"), tickCount=3)),
            color=alt.Color("jitter:N", scale=alt.Scale(domain=jitters), legend=None),
            tooltip=["jitter:N", "t_s:Q", alt.Tooltip("reconnect_attempts:Q", format=",.0f")],
        )
        .properties(width=WIDTH - 60, height=70)
        .facet(row=alt.Row("jitter:N", sort=jitters, title=None,
                           header=alt.Header(labelAngle=0, labelAlign="left")),
               title="The first wave of retries (each panel has its own scale)")
        .resolve_scale(y="independent")
    )


def buffer_tradeoff_chart(table: pl.DataFrame) -> alt.FacetChart:
    """Crashes, events lost in crashes and events dropped on purpose for each buffer limit
    (`buffer_limit` labels in row order, `what`, `value`): one panel per measure, own scale."""
    _require(table, ["buffer_limit", "what", "value"], "buffer_tradeoff_chart")
    order = table["buffer_limit"].unique(maintain_order=True).to_list()
    return (
        alt.Chart(alt.Data(values=table.to_dicts()))
        .mark_bar()
        .encode(
            y=alt.Y("buffer_limit:N", sort=order, title="buffer_limit"),
            x=alt.X("value:Q", title=None,
                    axis=alt.Axis(labelExpr=fmt.vega_count("datum.value"), tickCount=3)),
            color=alt.Color("what:N", legend=None),
            tooltip=["buffer_limit:N", "what:N", alt.Tooltip("value:Q", format=",.0f")],
        )
        .properties(width=150, height=alt.Step(20))
        .facet(column=alt.Column("what:N", title=None), title="The buffer-limit trade-off")
        .resolve_scale(x="independent")
    )


def band_chart(band: pl.DataFrame, fluid: pl.DataFrame, column: str = "users_stalled", *,
               title: str | None = None) -> alt.LayerChart:
    """The agents engine's 10-90 % band (and median) of `column` around the fluid line.

    `band` is `incidentlab.model.agents.band(...)` (t_s, <column>_lo/_median/_hi); `fluid` is
    the fluid run's timeline. Time is in minutes from the start.
    """
    _require(band, ["t_s", f"{column}_lo", f"{column}_median", f"{column}_hi"], "band frame")
    _require(fluid, ["t_s", column], "fluid timeline")
    step = max(1, math.ceil(band.height / MAX_POINTS))
    spread = band.gather_every(step).select(
        minute=pl.col("t_s") / 60, lo=pl.col(f"{column}_lo"), hi=pl.col(f"{column}_hi"),
        median=pl.col(f"{column}_median"))
    line = fluid.gather_every(max(1, math.ceil(fluid.height / MAX_POINTS))).select(
        minute=pl.col("t_s") / 60, value=pl.col(column))
    x = alt.X("minute:Q", title="minutes from the start")
    area = alt.Chart(alt.Data(values=spread.to_dicts())).mark_area(
        opacity=0.35, color="#f58518").encode(
        x=x, y=alt.Y("lo:Q", title=column), y2="hi:Q",
        tooltip=[alt.Tooltip("minute:Q", format=".1f"), alt.Tooltip("lo:Q", format=",.0f"),
                 alt.Tooltip("hi:Q", format=",.0f")])
    median = alt.Chart(alt.Data(values=spread.to_dicts())).mark_line(
        color="#f58518", strokeDash=[4, 2]).encode(x=x, y="median:Q")
    fluid_line = alt.Chart(alt.Data(values=line.to_dicts())).mark_line(
        color="#4c78a8").encode(x=x, y="value:Q")
    return alt.layer(area, median, fluid_line).properties(
        width=WIDTH, height=PANEL_HEIGHT * 2,
        title=title or f"{column}: agents 10-90 % band (orange) around the fluid model (blue)")


def sensitivity_chart(table: pl.DataFrame, output: str = "first_oom_min") -> alt.LayerChart:
    """Knobs ranked by their total Sobol index for one output of `incidentlab.sensitivity`:
    a bar per knob (ST, with its interval as a rule) and a tick at its first-order index S1."""
    _require(table, ("output", "knob", "S1", "ST", "ST_low", "ST_high"), "sensitivity table")
    rows = table.filter(pl.col("output") == output)
    if rows.is_empty():
        raise ChartError(f"the sensitivity table has no output {output!r}; accepted: "
                               f"{', '.join(dict.fromkeys(table['output']))}")
    rows = rows.sort("ST", descending=True, nulls_last=True).fill_null(0.0)
    order = rows["knob"].to_list()
    base = alt.Chart(alt.Data(values=rows.to_dicts())).encode(
        y=alt.Y("knob:N", sort=order, title=None))
    tooltip = [alt.Tooltip("knob:N"), alt.Tooltip("ST:Q", format=".2f", title="total"),
               alt.Tooltip("S1:Q", format=".2f", title="first order")]
    bars = base.mark_bar(color="#4c78a8").encode(
        x=alt.X("ST:Q", title=f"Sobol index of {output} (bar: total, tick: alone)"),
        tooltip=tooltip)
    ci = base.mark_rule(color="black").encode(x="ST_low:Q", x2="ST_high:Q")
    ticks = base.mark_tick(color="#e45756", thickness=3).encode(x="S1:Q", tooltip=tooltip)
    return alt.layer(bars, ci, ticks).properties(
        title=f"Which assumptions matter for {output}", width=WIDTH, height=alt.Step(18))


# ---------------------------------------------------------------- the Lab's fast path


def _bucketed(values: np.ndarray, step: int, how: str) -> np.ndarray:
    """Each row of `values` (columns x rows) per bucket of `step` rows: "max" and "mean" skip
    NaN (a bucket of only NaN gives NaN), "first" and "last" take the bucket's first or last
    row. All columns at once: the Lab does this on every move."""
    n = values.shape[1]
    starts = np.arange(0, n, step)
    if how == "first":
        return values[:, starts]
    if how == "last":
        return values[:, np.minimum(starts + step, n) - 1]
    pad = (-n) % step
    grid = np.concatenate([values, np.full((len(values), pad), np.nan)], axis=1)
    grid = grid.reshape(len(values), -1, step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN bucket
        return np.nanmax(grid, axis=2) if how == "max" else np.nanmean(grid, axis=2)


def _rolling_mean(x: np.ndarray, window: int, *, center: bool) -> np.ndarray:
    """polars' rolling_mean(window) on floats: NaN where the window is not full."""
    out = np.full(len(x), np.nan)
    if window > len(x):
        return out
    c = np.concatenate([[0.0], np.cumsum(x)])
    means = (c[window:] - c[:-window]) / window  # means[j]: rows j .. j + window - 1
    offset = window // 2 if center else window - 1
    out[offset:offset + len(means)] = means
    return out


def _sig6(x: np.ndarray) -> np.ndarray:
    """Six significant figures, as polars' round_sig_figs(6)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = 5 - np.floor(np.log10(np.abs(x)))
        scale = np.where(np.isfinite(digits), 10.0**digits, 1.0)
        return np.where(np.isfinite(digits), np.round(x * scale) / scale, x)


def _wall_clock_ms(start: Any, t_s: np.ndarray) -> list[int]:
    """The timeline's wall-clock times at `t_s` as `_wall_ms` gives them: epoch ms of the
    local time in the start's zone, read as UTC (the run's times, as timeline_frame has them)."""
    import datetime as dt

    zone = start.tzinfo if getattr(start.tzinfo, "key", None) else dt.UTC
    epoch = dt.datetime(1970, 1, 1)
    out = []
    for micros in np.round(t_s * 1e6).astype(np.int64).tolist():
        local = (start + dt.timedelta(microseconds=micros)).astimezone(zone).replace(tzinfo=None)
        out.append((local - epoch) // dt.timedelta(milliseconds=1))
    return out


def record_rows(
    record: np.ndarray, *, dt_s: float, start: Any, clock: bool, max_points: int = MAX_POINTS,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """`downsample` of a run straight from the engine's record, in numpy: the same rows
    (without t_s) and the row index each bucket starts at. The Lab takes this path on every
    move: it skips building the polars timeline. `start` is the scenario's start (for `clock`)."""
    n = record.shape[0]
    step = bucket_step(n, max_points)
    t_s = np.arange(n, dtype=np.float64) * dt_s
    window = max(1, min(n, round(LOAD_WINDOW_S / dt_s) if dt_s > 0 else 1))
    offered = record["presence_offered_ops"]
    capacity = _rolling_mean(record["presence_capacity_ops"], window, center=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        load = np.where(capacity > 0, _rolling_mean(offered, window, center=False) / capacity,
                        np.nan)
        connected = record["users_connected"]
        stalled_share = np.where(connected > 1e-9, record["users_stalled"] / connected, 0.0)
    series = {"load": (load, "max"), "stalled_share": (stalled_share, "max")}
    for column, (field, how) in _FIELDS.items():
        values = record[column]
        if column == "presence_offered_ops":
            values = _rolling_mean(values, window, center=True)
        series[field] = (values, how)
    columns: dict[str, np.ndarray] = {}
    for how in ("max", "mean", "first", "last"):
        names = [name for name, (_, h) in series.items() if h == how]
        if names:
            bucketed = _bucketed(np.vstack([series[name][0] for name in names]), step, how)
            columns.update(zip(names, bucketed, strict=True))
    columns = {name: columns[name] for name in series}  # in the polars path's column order
    starts = np.arange(0, n, step)
    # minutes as polars divides them: times the reciprocal, so the x values match exactly
    x = _wall_clock_ms(start, t_s[starts]) if clock else (t_s[starts] * (1 / 60.0)).tolist()
    rounded = _sig6(np.vstack(list(columns.values()))).tolist()
    lists = [[None if v != v else v for v in column] for column in rounded]
    names = ["x", *columns]
    return [dict(zip(names, row, strict=True)) for row in zip(x, *lists, strict=True)], starts


def record_dots(
    record: np.ndarray, rows_at: np.ndarray, xs: list[Any], *, rpc_timeout_s: float,
    reconnect_cap_s: float, n: int = DOTS,
) -> list[dict[str, Any]]:
    """`dots(session_states(...))` of a run at the record rows `rows_at` (charted at `xs`),
    in numpy: the mechanism view's rows on every move without a polars frame."""
    r = record[rows_at]
    stalled = np.clip(r["users_stalled"], 0.0, None)
    attempts = np.clip(r["reconnect_attempts"], 0.0, None)
    in_flight = np.minimum(stalled, attempts * rpc_timeout_s)
    waiting = np.minimum(stalled - in_flight, attempts * reconnect_cap_s)
    grid = np.clip(np.vstack([
        np.clip(r["users_connected"] - stalled, 0.0, None),
        np.clip(stalled - in_flight - waiting, 0.0, None),
        waiting, in_flight,
        np.clip(r["users_reconnecting"], 0.0, None),
        np.clip(r["users_offline"], 0.0, None),
    ]), 0.0, None)  # fmt: skip
    total = grid.sum(axis=0)
    share = np.divide(grid.cumsum(axis=0), total, out=np.zeros_like(grid), where=total > 0)
    end = np.rint(share * n).astype(np.int64)
    start = np.vstack([np.zeros((1, len(rows_at)), dtype=np.int64), end[:-1]])
    states = list(SESSION_STATES)
    keep = np.nonzero((end > start).T)  # time-major, states in order: as `dots` sorts them
    return [
        {"x": xs[j], "state": states[i], "start": int(start[i, j]), "end": int(end[i, j])}
        for j, i in zip(*keep, strict=True)
    ]


def record_chart_data(
    run: Any, *, clock: bool, backdrop: dict[str, list[dict[str, Any]]],
    oom_gb: float | None, max_points: int = MAX_POINTS,
) -> dict[str, list[dict[str, Any]]]:
    """`chart_data` of a `Run` with `sessions` and an earlier call's `backdrop`, from its
    record in numpy (the same datasets): a Lab move takes ~3 ms here, ~25 ms through polars."""
    params = run.scenario.params
    rows, starts = record_rows(run.record, dt_s=params.dt_s, start=run.scenario.start,
                               clock=clock, max_points=max_points)
    sessions = record_dots(run.record, starts, [r["x"] for r in rows],
                           rpc_timeout_s=params.rpc_timeout_s,
                           reconnect_cap_s=params.reconnect_cap_s)
    return {
        "current": rows,
        "baseline": backdrop["baseline"],
        "report": backdrop["report"],
        "limits": [{"oom_gb": float(oom_gb)}] if oom_gb is not None else [],
        "sessions": sessions,
    }
