"""Incident metrics from an events table: how long until people noticed, told users, fixed it.

Every figure counts minutes from the first `trigger` event, to the first event of a kind at
or after it: detection; public update (the first status update, or the first narrative
`communication` when the report has no status updates); recovery; and resolution (the last
`resolved` status update, else the last recovery). `recurrences` counts triggers after the
first. `update_lags` pairs each status update with the narrative event it reports (the latest
one at or before the posting whose kind matches the update's status, see `STATUS_REPORTS`)
and says how late it came; None where no such event exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from incidentlab.errors import ReportParseError

REQUIRED_COLUMNS = ("time", "source", "kind", "status", "text")

# Which narrative kinds a status update reports; None = the latest event of any kind.
STATUS_REPORTS: dict[str, tuple[str, ...] | None] = {
    "investigating": ("detection", "impact"),
    "identified": ("diagnosis",),
    "monitoring": ("mitigation", "recovery"),
    "resolved": ("recovery",),
    "postmortem": None,
}

_LAG_SCHEMA = {
    "posted": pl.Datetime("us", "UTC"),
    "status": pl.String(),
    "update": pl.String(),
    "event_time": pl.Datetime("us", "UTC"),
    "event_kind": pl.String(),
    "event_text": pl.String(),
    "lag_min": pl.Float64(),
}


@dataclass(frozen=True)
class IncidentMetrics:
    """Minutes from the first trigger to each milestone (None where the events lack one)."""

    start: dt.datetime
    minutes_to_detect: float | None
    minutes_to_first_update: float | None
    minutes_to_first_recovery: float | None
    minutes_to_resolution: float | None
    recurrences: int
    update_lags: pl.DataFrame = field(compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 strings with their UTC offset."""
        lags = [
            {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items()}
            for row in self.update_lags.iter_rows(named=True)
        ]
        return {
            "start": self.start.isoformat(),
            "minutes_to_detect": self.minutes_to_detect,
            "minutes_to_first_update": self.minutes_to_first_update,
            "minutes_to_first_recovery": self.minutes_to_first_recovery,
            "minutes_to_resolution": self.minutes_to_resolution,
            "recurrences": self.recurrences,
            "update_lags": lags,
        }

    def __str__(self) -> str:
        lines = [
            f"Incident metrics, counted from the first trigger at {_stamp(self.start)}",
            f"  time to detect          {_minutes(self.minutes_to_detect)}",
            f"  time to first update    {_minutes(self.minutes_to_first_update)}",
            f"  time to first recovery  {_minutes(self.minutes_to_first_recovery)}",
            f"  time to resolution      {_minutes(self.minutes_to_resolution)}",
            f"  recurrences             {self.recurrences}",
        ]
        if self.update_lags.height:
            lines += ["", "Status updates and the event each reports:",
                      f"  {'posted':<23} {'status':<13} {'reports':<23} {'kind':<11} lag"]
            for row in self.update_lags.iter_rows(named=True):
                event = _stamp(row["event_time"]) if row["event_time"] else "-"
                kind = row["event_kind"] or "-"
                lines.append(f"  {_stamp(row['posted']):<23} {row['status'] or '-':<13} "
                             f"{event:<23} {kind:<11} {_minutes(row['lag_min'])}")
        return "\n".join(lines)


def incident_metrics(events: pl.DataFrame) -> IncidentMetrics:
    """Metrics of an events table (from `parse_report`, `load_report` or `answer_key`)."""
    if not isinstance(events, pl.DataFrame):
        raise ReportParseError(
            f"incident_metrics needs a polars DataFrame of events, got {type(events).__name__}; "
            "pass incidentlab.load_report() or parse_report(text)"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise ReportParseError(
            f"events table lacks column(s) {missing}; incident_metrics needs "
            f"{list(REQUIRED_COLUMNS)} as made by parse_report"
        )
    if not isinstance(events.schema["time"], pl.Datetime):
        raise ReportParseError(
            f"events column 'time' is {events.schema['time']}, not a Datetime; "
            "pass the frame parse_report returns"
        )
    events = events.filter(pl.col("time").is_not_null()).sort("time", maintain_order=True)
    narrative = events.filter(pl.col("source") == "narrative")
    updates = events.filter(pl.col("source") == "status_update")
    triggers = narrative.filter(pl.col("kind") == "trigger")["time"]
    if triggers.is_empty():
        raise ReportParseError(
            f"no trigger event among {events.height} events (kinds: "
            f"{sorted(set(events['kind'].drop_nulls()))}); metrics count from the first "
            "trigger, so label the event that started the failure kind='trigger'"
        )
    start = triggers[0]

    def first(frame: pl.DataFrame) -> float | None:
        after = frame.filter(pl.col("time") >= start)["time"]
        return None if after.is_empty() else _between(start, after[0])

    def of_kind(kind: str) -> pl.DataFrame:
        return narrative.filter(pl.col("kind") == kind)

    public = updates if updates.height else narrative.filter(pl.col("kind") == "communication")
    resolved = updates.filter(pl.col("status") == "resolved")["time"]
    recoveries = of_kind("recovery")["time"]
    final = resolved if not resolved.is_empty() else recoveries
    return IncidentMetrics(
        start=start,
        minutes_to_detect=first(of_kind("detection")),
        minutes_to_first_update=first(public),
        minutes_to_first_recovery=first(of_kind("recovery")),
        minutes_to_resolution=None if final.is_empty() else _between(start, final[-1]),
        recurrences=len(triggers) - 1,
        update_lags=_update_lags(narrative, updates, events.schema["time"]),
    )


def _update_lags(narrative: pl.DataFrame, updates: pl.DataFrame,
                 time_type: pl.DataType) -> pl.DataFrame:
    rows = []
    for update in updates.iter_rows(named=True):
        kinds = STATUS_REPORTS.get(update["status"] or "", ())
        earlier = narrative.filter(pl.col("time") <= update["time"])
        if kinds is not None:
            earlier = earlier.filter(pl.col("kind").is_in(list(kinds)))
        event = earlier.row(-1, named=True) if earlier.height else None
        rows.append({
            "posted": update["time"],
            "status": update["status"],
            "update": update["text"],
            "event_time": event["time"] if event else None,
            "event_kind": event["kind"] if event else None,
            "event_text": event["text"] if event else None,
            "lag_min": _between(event["time"], update["time"]) if event else None,
        })
    schema = {**_LAG_SCHEMA, "posted": time_type, "event_time": time_type}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(
        schema=schema)


def _between(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds() / 60


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    whole = round(value)
    if abs(whole) < 60:
        return f"{value:g} min"
    hours, minutes = divmod(whole, 60)
    return f"{value:g} min ({hours} h {minutes:02d} min)"


def _stamp(moment: dt.datetime) -> str:
    offset = moment.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else ""
    return moment.strftime("%Y-%m-%d %H:%M") + (f" {offset}" if offset else "")
