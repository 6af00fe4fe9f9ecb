"""Altair chart builders: polars frame in, altair chart out. They never simulate.

The run panels (memory, presence, users, events) read their rows from named
datasets ("current", "baseline", "report", "limits") carried in the chart's
top-level `datasets`. The spec therefore depends only on the layout, not on
the numbers, and the Lab can swap the data of a drawn chart in place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import altair as alt
import polars as pl

from incidentlab import fmt
from incidentlab.errors import IncidentlabError

#: Rows per run sent to the browser at most; the model steps every second.
MAX_POINTS = 300
#: The presence load headline is offered / capacity over one-minute means, as in the Outcome.
LOAD_WINDOW_S = 60.0

WIDTH = 520
PANEL_HEIGHT = 130
GHOST = "#9e9e9e"
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
        "series": {"offered": "offered (1-min mean)", "capacity": "capacity", "goodput": "goodput"},
        "colors": ["#d62728", "#7f7f7f", "#2ca02c"],
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

_KIND_COLORS = {
    "trigger": "#d62728",
    "impact": "#ff7f0e",
    "detection": "#bcbd22",
    "diagnosis": "#17becf",
    "mitigation": "#2ca02c",
    "recovery": "#1f77b4",
    "communication": "#9467bd",
    "followup": "#8c564b",
}


def offline_in_kernel() -> bool:
    """In a Jupyter kernel, draw altair charts offline; True when this switched the renderer.

    Altair's default renderer loads Vega from a CDN, which fails in a workshop with
    no network. The "jupyter" renderer draws with JupyterChart and the Vega
    JavaScript bundled by vl-convert instead. A renderer the user chose is kept.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the Jupyter dependencies
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel") or alt.renderers.active != "default":
        return False
    alt.renderers.enable("jupyter", offline=True)
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
    # As the Outcome does: load over one-minute means, stalled as a share of connected sessions.
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
    step = max(1, math.ceil(frame.height / max_points))
    aggregations = [
        (pl.col("_clock") if clock else pl.col("_minutes")).first().alias("x"),
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
    floats = [c for c, t in rows.schema.items() if t.is_float() and c != "x"]
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


def chart_data(
    timeline: pl.DataFrame,
    *,
    baseline: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    oom_gb: float | None = None,
    clock: bool = False,
    backdrop: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The named datasets the run panels draw: current run, ghost baseline, report marks, limits.

    `backdrop` is the "baseline" and "report" datasets of an earlier call with the same
    baseline, events, clock and run span: given, they are reused instead of rebuilt, since
    the Lab's updates change only the run.
    """
    current = downsample(timeline, clock=clock)
    if backdrop is None:
        backdrop = _backdrop(current, _time_zone(timeline), baseline, events, clock)
    limits = [{"oom_gb": float(oom_gb)}] if oom_gb is not None else []
    return {
        "current": current.to_dicts(),
        "baseline": backdrop["baseline"],
        "report": backdrop["report"],
        "limits": limits,
    }


def _backdrop(
    current: pl.DataFrame,
    tz: str | None,
    baseline: pl.DataFrame | None,
    events: pl.DataFrame | None,
    clock: bool,
) -> dict[str, list[dict[str, Any]]]:
    """What the run is drawn against: the ghost baseline, and the report's marks in its span."""
    ghost = downsample(baseline, clock=clock) if baseline is not None else current.clear()
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


def _panel(
    name: str, *, clock: bool, last: bool, ghosted: bool, marks: bool, limits: bool
) -> alt.LayerChart:
    spec = _PANELS[name]
    series = spec["series"]
    labels = list(series.values())
    label_expr = " : ".join(f"datum.key == '{k}' ? '{v}'" for k, v in series.items()) + " : ''"
    xt = _x(clock, title=last)
    # SI prefixes read badly to learners where G means billion: write B instead.
    labels_expr = f"replace(format(datum.value, '{spec['yformat']}'), 'G', 'B')"
    y = alt.Y("value:Q", title=spec["unit"], axis=alt.Axis(labelExpr=labels_expr))
    time_tip = (
        alt.Tooltip("x:T", title="time", format="%H:%M", formatType="utc")
        if clock
        else alt.Tooltip("x:Q", title="minute", format=".1f")
    )
    ghost = (
        alt.Chart(alt.NamedData("baseline"))
        .transform_fold(list(series), as_=["key", "value"])
        .mark_line(strokeDash=[4, 3], opacity=0.6, color=GHOST)
        .encode(x=xt, y=y, detail="key:N")
    )
    current = (
        alt.Chart(alt.NamedData("current"))
        .transform_fold(list(series), as_=["key", "value"])
        .transform_calculate(series=label_expr)
        .mark_line(strokeWidth=2)
        .encode(
            x=xt,
            y=y,
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=labels, range=spec["colors"]),
                legend=alt.Legend(title=None, orient="top", direction="horizontal", offset=4),
            ),
            tooltip=[time_tip, alt.Tooltip("series:N"), alt.Tooltip("value:Q", format=",.4~r")],
        )
    )
    aggregate, text = _HEADLINES[name]
    headline = (
        alt.Chart(alt.NamedData("current"))
        .transform_aggregate(aggregate)
        .transform_calculate(headline=text)
        .mark_text(align="right", baseline="top", dx=-4, dy=4, fontSize=12, fontWeight="bold")
        .encode(
            x=alt.value(WIDTH),
            y=alt.value(0),
            text="headline:N",
            description="headline:N",
        )
    )
    layers: list[alt.Chart] = [ghost, current, headline] if ghosted else [current, headline]
    if name == "memory" and limits:
        layers.append(
            alt.Chart(alt.NamedData("limits"))
            .mark_rule(color="black", strokeDash=[2, 2])
            .encode(y="oom_gb:Q", tooltip=[alt.Tooltip("oom_gb:Q", title="OOM at (GB)")])
        )
    if marks:
        layers.append(
            alt.Chart(alt.NamedData("report"))
            .mark_rule(opacity=0.45, strokeWidth=1)
            .encode(
                x=xt,
                color=alt.Color(
                    "kind:N",
                    scale=alt.Scale(domain=list(_KIND_COLORS), range=list(_KIND_COLORS.values())),
                    legend=None,
                ),
                tooltip=[
                    alt.Tooltip("clock:N", title="report time (PDT)"),
                    alt.Tooltip("kind:N"),
                    alt.Tooltip("text:N"),
                ],
            )
        )
    return (
        alt.layer(*layers)
        .properties(
            title=alt.Title(spec["title"], anchor="start", fontSize=13),
            width=WIDTH,
            height=PANEL_HEIGHT,
        )
        .resolve_scale(color="independent")
    )


def _compose(
    panels: Sequence[str], datasets: dict[str, list[dict[str, Any]]], clock: bool
) -> alt.VConcatChart | alt.LayerChart:
    shown = {k: bool(v) for k, v in datasets.items()}
    charts = [
        _panel(
            p,
            clock=clock,
            last=i == len(panels) - 1,
            ghosted=shown["baseline"],
            marks=shown["report"],
            limits=shown["limits"],
        )
        for i, p in enumerate(panels)
    ]
    top = charts[0] if len(charts) == 1 else alt.vconcat(*charts, spacing=14)
    top = top.resolve_scale(color="independent", x="shared") if len(charts) > 1 else top
    return top.properties(datasets=datasets).configure_view(stroke=None)


def dashboard(
    timeline: pl.DataFrame,
    *,
    baseline: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    oom_gb: float | None = None,
    clock: bool = False,
    panels: Sequence[str] = ("memory", "presence", "users", "events"),
) -> alt.VConcatChart:
    """The Lab's four run panels stacked on one shared time axis.

    `baseline` is drawn as a grey dashed ghost; with `clock` the axis is the
    wall-clock time of the timeline's zone and `events` (the parsed report)
    appear as rules with their text in a tooltip.
    """
    unknown = [p for p in panels if p not in _PANELS]
    if unknown or not panels:
        accepted = ", ".join(_PANELS)
        raise ChartError(f"panels: unknown {unknown or 'empty list'}; accepted: {accepted}")
    data = chart_data(timeline, baseline=baseline, events=events, oom_gb=oom_gb, clock=clock)
    return _compose(panels, data, clock)


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
        return _compose([name], data, clock)

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


offline_in_kernel()


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
