"""What a run returns: `Run` (timeline frame + outcome) and `Outcome` (the small summary).

The timeline is built once, on first access, from the engine's preallocated record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from incidentlab import fmt
from incidentlab.model.columns import COLUMNS

if TYPE_CHECKING:
    import polars as pl

    from incidentlab.model.scenario import Scenario

__all__ = ["COLUMNS", "Outcome", "Run", "outcome_from_tally", "outcomes_from_record",
           "timeline_frame"]

RECOVERED_TOLERANCE = 0.002  # share of users that may still be off, stalled or unlinked


@dataclass(frozen=True)
class Outcome:
    """The headline numbers of one run (fields fixed in docs/architecture.md)."""

    first_oom_s: float | None  # seconds after the fault (or after t=0 without a fault)
    oom_crashes: int
    peak_stalled_fraction: float  # stalled / connected sessions, at its worst
    events_produced: float
    events_delivered: float
    events_lost: float  # lost in crashes
    events_dropped: float  # dropped by a buffer policy or a deliberate reboot
    recovered: bool  # every remaining user connected, unstalled, linked; presence back to demand
    time_to_recover_s: float | None  # after the fault, until the final healthy stretch begins
    peak_presence_load_ratio: float  # offered / capacity over one minute, at its worst
    user_minutes_lost: float  # minutes users spent offline, reconnecting or stalled

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready; every field is a plain number, bool or None,
        so no deep copy is needed: a sweep makes one per scenario)."""
        return {name: getattr(self, name) for name in OUTCOME_FIELDS}

    def sentences(self) -> list[str]:
        """Short plain-words sentences a learner can repeat."""
        out = []
        if self.first_oom_s is None:
            out.append("No session node ran out of memory.")
        else:
            out.append(f"The first session node ran out of memory {self.first_oom_s / 60:.1f} "
                       "minutes after the fault.")
            out.append(f"Session nodes crashed {self.oom_crashes} time"
                       f"{'s' if self.oom_crashes != 1 else ''} in all.")
        out.append(f"At worst {self.peak_stalled_fraction:.0%} of connected sessions were stalled.")
        out.append(f"Presence was offered up to {self.peak_presence_load_ratio:.1f} times what it "
                   "could serve.")
        if self.events_lost > 0:
            out.append(f"{fmt.count(self.events_lost)} events were lost in crashes.")
        if self.events_dropped > 0:
            out.append(f"{fmt.count(self.events_dropped)} events were dropped on purpose.")
        if self.events_lost == 0 and self.events_dropped == 0:
            out.append("No event was lost.")
        if self.recovered:
            out.append(f"Everyone was back to normal {self.time_to_recover_s / 60:.1f} minutes "
                       "after the fault.")
        else:
            out.append("The system did not recover before the end of the run.")
        out.append(f"Users lost {fmt.count(self.user_minutes_lost)} user-minutes of service.")
        return out


OUTCOME_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Outcome))


class Run:
    """One simulated scenario: `timeline` (polars, one row per step) and `outcome`."""

    def __init__(self, scenario: Scenario, record: np.ndarray, outcome: Outcome):
        self.scenario = scenario
        self.outcome = outcome
        self._record = record
        self._timeline: pl.DataFrame | None = None

    @property
    def timeline(self) -> pl.DataFrame:
        """One row per step: t_s, time (tz-aware), then the columns of docs/architecture.md."""
        if self._timeline is None:
            self._timeline = timeline_frame(self.scenario, self._record)
        return self._timeline

    @property
    def record(self) -> np.ndarray:
        """The engine's record: every column of columns.RECORD, internal ones included."""
        return self._record

    def __repr__(self) -> str:
        return f"Run({self.scenario.name!r}, {self.outcome})"


def timeline_frame(scenario: Scenario, record: np.ndarray) -> pl.DataFrame:
    """Build the timeline frame once from the record (T,) of columns.RECORD."""
    import polars as pl  # here, so that a run read only for its outcome never loads polars

    p = scenario.params
    t_s = np.arange(record.shape[0], dtype=np.float64) * p.dt_s
    start = scenario.start
    tz = getattr(start.tzinfo, "key", None) or "UTC"
    naive = start.astimezone(start.tzinfo).replace(tzinfo=None)
    if tz == "UTC":
        naive = start.astimezone(dt.UTC).replace(tzinfo=None)
    micros = np.round(t_s * 1e6).astype(np.int64)
    time = (pl.Series("time", [naive], dtype=pl.Datetime("us")).dt.replace_time_zone(tz)
            .extend_constant(None, 0))
    frame = {"t_s": t_s}
    cols = {name: record[name] for name in COLUMNS}
    out = pl.DataFrame(frame).with_columns(
        time=time.first() + pl.Series(micros).cast(pl.Duration("us")))
    return out.with_columns(**{k: pl.Series(k, v, dtype=pl.Float64) for k, v in cols.items()})


LOAD_WINDOW_S = 300.0  # the load ratio is taken over five-minute averages: sustained overload,
# on dt_s: synchronised retries arrive as one-step spikes whose height is 1/dt_s


def _moving_mean(x: np.ndarray, dt_s: float) -> np.ndarray:
    n = max(1, min(len(x), round(LOAD_WINDOW_S / dt_s)))
    c = np.concatenate([[0.0], np.cumsum(x)])
    return (c[n:] - c[:-n]) / n


def outcomes_from_record(scenarios: list[Scenario], records: list[np.ndarray]) -> list[Outcome]:
    """Outcomes from each scenario's timeline record (columns.RECORD)."""
    out = []
    for b, sc in enumerate(scenarios):
        r = records[b]
        p = sc.params
        dt_s, users = p.dt_s, float(p.users)
        fault = sc.fault_s
        fault0 = 0.0 if fault is None else fault
        crashes = r["crashes"]
        crashed = np.flatnonzero(crashes)
        first = None if len(crashed) == 0 else float(max(0.0, crashed[0] * dt_s - fault0))
        connected = r["users_connected"]
        stalled = r["users_stalled"]
        frac = np.divide(stalled, connected, out=np.zeros_like(stalled), where=connected > 1e-9)
        offered = _moving_mean(r["presence_offered_ops"], dt_s)
        capacity = _moving_mean(r["presence_capacity_ops"], dt_s)
        ratio = np.divide(offered, capacity, out=np.full(len(offered), np.inf),
                          where=capacity > 0)
        tol = RECOVERED_TOLERANCE * users
        healthy = ((users - connected <= tol) & (stalled <= tol)
                   & (r["users_unlinked"] <= tol) & (r["presence_queue"] <= tol)
                   & (r["presence_goodput_ops"]
                      >= (1 - RECOVERED_TOLERANCE) * r["presence_demand_ops"]))
        recovered = bool(healthy[-1])
        ttr = None
        if recovered:
            bad = np.flatnonzero(~healthy)
            begin = 0.0 if len(bad) == 0 else (bad[-1] + 1) * dt_s
            ttr = float(max(0.0, begin - fault0))
        unserved = np.maximum((users - connected) + stalled, 0.0)
        out.append(Outcome(
            first_oom_s=first,
            oom_crashes=int(crashes.sum()),
            peak_stalled_fraction=float(frac.max()),
            events_produced=float(r["events_produced"][-1]),
            events_delivered=float(r["events_delivered"][-1]),
            events_lost=float(r["events_lost"][-1]),
            events_dropped=float(r["events_dropped"][-1]),
            recovered=recovered,
            time_to_recover_s=ttr,
            peak_presence_load_ratio=float(ratio.max()),
            user_minutes_lost=float(unserved.sum() * dt_s / 60.0),
        ))
    return out


def outcome_from_tally(sc: Scenario, tally: np.void, cluster: np.void, offered: np.ndarray,
                       capacity: np.ndarray, unserved: np.ndarray) -> Outcome:
    """The outcome of a run the loop tallied (engine.run_outcome) instead of recording: the
    same figures as outcomes_from_record, by the same arithmetic (tests hold them equal)."""
    dt_s = sc.params.dt_s
    fault0 = 0.0 if sc.fault_s is None else sc.fault_s
    first = tally["first_crash"]
    offered, capacity = _moving_mean(offered, dt_s), _moving_mean(capacity, dt_s)
    ratio = np.divide(offered, capacity, out=np.full(len(offered), np.inf), where=capacity > 0)
    recovered = bool(tally["healthy"])
    ttr = None
    if recovered:
        begin = (tally["last_unhealthy"] + 1) * dt_s
        ttr = float(max(0.0, begin - fault0))
    return Outcome(
        first_oom_s=None if first < 0 else float(max(0.0, first * dt_s - fault0)),
        oom_crashes=int(tally["crashes"]),
        peak_stalled_fraction=float(tally["peak_stalled"]),
        events_produced=float(cluster["produced"]),
        events_delivered=float(cluster["delivered"]),
        events_lost=float(cluster["lost"]),
        events_dropped=float(cluster["dropped"]),
        recovered=recovered,
        time_to_recover_s=ttr,
        peak_presence_load_ratio=float(ratio.max()),
        user_minutes_lost=float(unserved.sum() * dt_s / 60.0),
    )
