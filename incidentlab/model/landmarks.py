"""The replay scored against the report: each landmark the report gives a time for, the time the
model reaches it, and the error in minutes. Which agreements were calibrated (knobs tuned to
them), which follow from the schedule, and which the model predicts, is said in each row.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np
import polars as pl

from incidentlab.model.outcome import Run

# "mostly recovered": this share of users connected and not stalled. A choice: the model's two
# reboots take the same time, the report's "mostly recovered" comes 11 and 16 minutes after each
# began, and 95% sits between them.
MOSTLY = 0.95
WORKING = 0.80  # "for the most part, Discord functions": the share that must be served
STALL = 0.10  # a share of users stalled that is an incident, not noise
MEMORY_RISE = 1.25  # "issues with memory usage": the fullest node 25% above its normal level
TOLERANCE_MIN = 3.0  # the aim: every landmark within this many minutes


class Landmark(NamedTuple):
    name: str
    report: str  # the report's words
    at: str  # the report's clock time, HH:MM
    basis: str  # calibrated | scheduled | predicted


LANDMARKS: tuple[Landmark, ...] = (
    Landmark("first OOM", "By 11:50 ... members of the sessions cluster began to OOM", "11:50",
             "calibrated (node memory, event rate and size set it)"),
    Landmark("mostly recovered", "By 13:56 service has mostly recovered", "13:56",
             "predicted (admission limit calibrated to 'under 16 minutes')"),
    Landmark("second loss", "a subsequent disconnection ... at 14:52", "14:52",
             "scheduled (the 14:52 lockup)"),
    Landmark("memory trouble", "At 14:54 engineers yet again notice issues with memory usage",
             "14:54", "predicted"),
    Landmark("for the most part functions",
             "For the most part, Discord functions for users at this point", "15:00-16:00",
             "predicted, with the model's assumed time for ignoring presence (14:54 + 4 min)"),
    Landmark("the repeat", "At 16:04 ... effectively repeating the same issues", "16:04",
             "scheduled (the 16:04 presence restart)"),
    Landmark("mostly recovered again", "By 16:40 service is mostly recovered", "16:40",
             "predicted (admission limit calibrated to 'under 16 minutes')"),
    Landmark("reconnect millions", "took under 16 minutes to reconnect millions", "< 16 min",
             "calibrated (connect_rate_limit)"),
)


def score_replay(run: Run) -> pl.DataFrame:
    """One row per landmark: the report's time, the model's, the error in minutes, and whether
    it is inside the aim. `run` is a run of the march-2017-replay preset (or a variant)."""
    tl = run.timeline
    users = float(run.scenario.params.users)
    day = run.scenario.start
    t = tl["time"].to_list()
    served = ((tl["users_connected"] - tl["users_stalled"]) / users).to_numpy()
    stalled = (tl["users_stalled"] / users).to_numpy()
    connected = (tl["users_connected"] / users).to_numpy()
    memory = tl["node_memory_max_gb"].to_numpy()
    crashes = run.record["crashes"]

    def clock(hhmm: str) -> dt.datetime:
        h, m = map(int, hhmm.split(":"))
        return day.replace(hour=h, minute=m, second=0, microsecond=0)

    def index(when: dt.datetime) -> int:
        return int(np.searchsorted(np.array([x.timestamp() for x in t]), when.timestamp()))

    def first(mask: np.ndarray, after: str) -> dt.datetime | None:
        i0 = index(clock(after))
        hits = np.flatnonzero(mask[i0:])
        return None if len(hits) == 0 else t[i0 + hits[0]]

    normal = memory[0]
    reboots = [a.t_s for a in run.scenario.actions if a.kind == "full_reboot"]
    reconnect = []
    for r in reboots:
        i0 = round(r / run.scenario.params.dt_s)
        hits = np.flatnonzero(connected[i0:] >= 1 - 0.01)
        reconnect.append(None if len(hits) == 0 else hits[0] * run.scenario.params.dt_s / 60)
    window = slice(index(clock("15:00")), index(clock("16:00")))
    rows = []
    for mark in LANDMARKS:
        model: str
        error: float | None
        if mark.name == "first OOM":
            when = first(crashes > 0, "11:38")
        elif mark.name == "mostly recovered":
            when = first(served >= MOSTLY, "13:45")
        elif mark.name == "second loss":
            when = first(stalled >= STALL, "14:30")
        elif mark.name == "memory trouble":
            when = first(memory >= MEMORY_RISE * normal, "14:30")
        elif mark.name == "the repeat":
            when = first(stalled >= STALL, "16:00")
        elif mark.name == "mostly recovered again":
            when = first(served >= MOSTLY, "16:24")
        else:
            when = None
        if mark.name == "for the most part functions":
            worst = float(served[window].min()) if window.stop > window.start else float("nan")
            model = f"at least {worst:.0%} served"
            error = 0.0 if worst >= WORKING else None
        elif mark.name == "reconnect millions":
            done = [m for m in reconnect if m is not None]
            model = " and ".join(f"{m:.1f} min" for m in done) or "never"
            error = 0.0 if done and len(done) == len(reconnect) and max(done) < 16 else None
        elif when is None:
            model, error = "never", None
        else:
            model = f"{when:%H:%M:%S}"
            error = (when - clock(mark.at)).total_seconds() / 60
        rows.append({"landmark": mark.name, "report": mark.at, "model": model,
                     "error_min": error, "within_aim": error is not None
                     and abs(error) <= TOLERANCE_MIN, "basis": mark.basis,
                     "report_text": mark.report})
    return pl.DataFrame(rows, schema={"landmark": pl.String, "report": pl.String,
                                      "model": pl.String, "error_min": pl.Float64,
                                      "within_aim": pl.Boolean, "basis": pl.String,
                                      "report_text": pl.String})


def landmarks_markdown(table: pl.DataFrame) -> str:
    """The score table as markdown (docs/model.md holds it; a test keeps it current)."""
    lines = ["| landmark | report | model | error (min) | basis |", "|---|---|---|---|---|"]
    for r in table.iter_rows(named=True):
        err = "—" if r["error_min"] is None else f"{r['error_min']:+.1f}"
        lines.append(f"| {r['landmark']} | {r['report']} | {r['model']} | {err} | {r['basis']} |")
    return "\n".join(lines)
