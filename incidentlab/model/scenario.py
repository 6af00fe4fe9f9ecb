"""Scenarios: knobs plus a schedule of faults and operator actions, and the step that turns the
report's events into such a schedule (`Scenario.from_events`) — the one place that knows both
the events vocabulary and the model's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from incidentlab.errors import ScenarioError
from incidentlab.model.params import Params

if TYPE_CHECKING:
    import polars as pl

PACIFIC = ZoneInfo("Etc/GMT+7")  # PDT as the report parser gives it: fixed UTC-7

ACTION_KINDS: dict[str, str] = {
    "lockup": "the faulty presence node locks up for `value` seconds (default lockup_duration_s)",
    "disable_sending": "message sending disabled: only sending_disabled_event_fraction of events",
    "enable_sending": "message sending enabled again",
    "full_reboot": "every session dropped, every client reconnects through the admission limit, "
                   "presence restarted",
    "restart_presence": "the presence service restarted: every link lost, its queue emptied",
    "reboot_presence_node": "the faulty presence node rebooted on another host: its lockups and "
                            "split brain end for good",
    "set_connect_rate_limit": "the gateway admission limit becomes `value` per second",
    "ignore_presence": "sessions stop waiting on presence and deliver their buffers, until "
                       "presence restarts or a full reboot",
}

PATCHED_CONNECT_RATE_LIMIT = 6000.0  # admissions/s after the 13:35 API patches (see ASSUMPTIONS)
# The report gives no time for 'ignore the presence cluster': it is decided at 14:54 and takes
# effect, the model assumes, this long after (work on the sessions cluster, not a switch).
IGNORE_PRESENCE_DELAY_S = 240.0


@dataclass(frozen=True)
class Action:
    """One scheduled event: at `t_s` seconds after the scenario start, do `kind`."""

    t_s: float
    kind: str
    value: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ScenarioError(f"action kind {self.kind!r} at t_s={self.t_s} is unknown; "
                                f"accepted: {', '.join(ACTION_KINDS)}")
        if not isinstance(self.t_s, int | float) or not self.t_s >= 0:
            raise ScenarioError(f"action {self.kind!r} has t_s={self.t_s!r}; accepted: a number "
                                ">= 0 (seconds after the scenario start)")
        if self.value is not None and not (isinstance(self.value, int | float)
                                           and self.value > 0):
            raise ScenarioError(f"action {self.kind!r} at t_s={self.t_s} has value="
                                f"{self.value!r}; accepted: a number > 0 or None")


def _empty_unmapped() -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(schema={"time": pl.Datetime("us", "UTC"), "kind": pl.String,
                                "text": pl.String, "reason": pl.String})


@dataclass(frozen=True)
class Scenario:
    """Knobs (`params`) + a schedule (`actions`) + a tz-aware `start` for the timeline."""

    params: Params = field(default_factory=Params)
    actions: tuple[Action, ...] = ()
    start: dt.datetime = dt.datetime(2017, 3, 20, 11, 38, tzinfo=PACIFIC)
    name: str = "custom"
    description: str = ""
    unmapped: pl.DataFrame = field(default=None, compare=False)  # see _Unmapped below

    def __post_init__(self) -> None:
        if not isinstance(self.params, Params):
            raise ScenarioError(f"Scenario params must be Params, not {type(self.params).__name__}")
        if self.start.tzinfo is None:
            raise ScenarioError(f"Scenario start {self.start} has no time zone; accepted: a "
                                "tz-aware datetime")
        object.__setattr__(self, "actions", tuple(sorted(self.actions, key=lambda a: a.t_s)))
        for a in self.actions:
            if not isinstance(a, Action):
                raise ScenarioError(f"Scenario actions must be Action, not {type(a).__name__}")
            if a.t_s > self.params.horizon_s:
                raise ScenarioError(f"action {a.kind!r} at t_s={a.t_s} is beyond horizon_s="
                                    f"{self.params.horizon_s}; accepted: 0 <= t_s <= horizon_s")

    def replace(self, **knobs: Any) -> Scenario:
        """The same scenario with some knobs changed (validated)."""
        return self._copy(params=self.params.replace(**knobs))

    def scaled(self, factor: float) -> Scenario:
        """The same scenario with `factor` times the users and what goes with them (presence
        capacity, node memory, admission limits, in-flight limits), so that the fluid outcome is
        unchanged (the fluid model is scale-free) while an agent-level run gets affordable.
        Where node memory would fall below its accepted minimum, the sizes of a session and of
        an event grow instead by the same ratio; in-flight limits round to whole requests."""
        if not isinstance(factor, int | float) or not 0 < factor <= 1000:
            raise ScenarioError(f"scaled({factor!r}): accepted: a number in (0, 1000]")
        p = self.params
        users = max(1, round(p.users * factor))
        f = users / p.users  # the factor the rounded population really has
        memory = max(p.node_memory_gb * f, 0.1)
        grow = memory / (p.node_memory_gb * f)

        def rate(value: float | None) -> float | None:
            return None if value is None else value * f

        knobs: dict[str, Any] = {
            "users": users, "presence_capacity": p.presence_capacity * f,
            "node_memory_gb": memory, "session_base_kb": p.session_base_kb * grow,
            "event_kb": p.event_kb * grow, "connect_rate_limit": rate(p.connect_rate_limit)}
        if p.inflight_limit is not None:
            knobs["inflight_limit"] = max(1, round(p.inflight_limit * f)) if p.inflight_limit \
                else 0
        actions = tuple(dataclasses.replace(a, value=rate(a.value))
                        if a.kind == "set_connect_rate_limit" else a for a in self.actions)
        return self._copy(params=p.replace(**knobs), actions=actions,
                                   name=f"{self.name} x{factor:g}")

    def _copy(self, **changes: Any) -> Scenario:
        """dataclasses.replace that carries `unmapped` as stored (None stays None: no polars)."""
        return dataclasses.replace(self, unmapped=self.__dict__["unmapped"], **changes)

    @property
    def fault_s(self) -> float | None:
        """Seconds from the start to the first presence lockup, or None without a fault."""
        times = [a.t_s for a in self.actions if a.kind == "lockup"]
        if self.params.lockup_count > 0:
            times.append(self.params.lockup_start_s)
        return min(times) if times else None

    def schedule(self) -> pl.DataFrame:
        """The actions as a frame: t_s, time, kind, value, note."""
        import polars as pl

        tz = getattr(self.start.tzinfo, "key", "UTC")
        return pl.DataFrame({
            "t_s": [a.t_s for a in self.actions],
            "time": [self.start + dt.timedelta(seconds=a.t_s) for a in self.actions],
            "kind": [a.kind for a in self.actions],
            "value": [a.value for a in self.actions],
            "note": [a.note for a in self.actions],
        }, schema={"t_s": pl.Float64, "time": pl.Datetime("us", tz), "kind": pl.String,
                   "value": pl.Float64, "note": pl.String})

    @classmethod
    def from_events(cls, events: pl.DataFrame, params: Params | None = None, *,
                    start: dt.datetime | None = None, end: dt.datetime | None = None,
                    name: str = "replay") -> Scenario:
        """Turn report events (docs/architecture.md schema) into a schedule.

        Maps by kind and text: presence lockups ('soft-lock', 'disconnected from its other
        cluster members'), disabling/enabling message sending, the full reboot, restarting the
        presence service, rebooting the faulty server, and the API patches' admission limit.
        Every event it cannot map is kept in `scenario.unmapped` with a reason.
        Default window: 11:30 to 17:00 of the first event's day, in the events' zone.
        """
        need = {"time", "kind", "text", "source"}
        missing = need - set(events.columns)
        if missing:
            raise ScenarioError(f"events frame lacks column(s) {sorted(missing)}; accepted: the "
                                "events schema of docs/architecture.md")
        return cls.from_event_rows(list(events.iter_rows(named=True)),
                                   events.schema["time"].time_zone or "UTC", params,
                                   start=start, end=end, name=name)

    @classmethod
    def from_event_rows(cls, rows: list[dict], tz: str, params: Params | None = None, *,
                        start: dt.datetime | None = None, end: dt.datetime | None = None,
                        name: str = "replay") -> Scenario:
        """`from_events` on the events as dicts in the table's order (`tz`: the name of its
        zone), as `incidentlab.reports.event_rows` gives them: a replay built without polars."""
        if not rows:
            raise ScenarioError("events frame is empty; accepted: at least one event")
        zone = ZoneInfo(tz) if tz not in ("UTC",) and not tz.startswith(("+", "-")) else dt.UTC
        first = min(row["time"] for row in rows).astimezone(zone)
        start = start or first.replace(hour=11, minute=30, second=0, microsecond=0)
        end = end or start.replace(hour=17, minute=0)
        if start.tzinfo is None or end <= start:
            raise ScenarioError(f"replay window {start} .. {end} is not a tz-aware forward range")
        horizon = (end - start).total_seconds()
        params = (params or Params()).replace(horizon_s=horizon, lockup_count=0)
        actions: list[Action] = []
        unmapped: list[dict] = []
        for row in rows:
            when = row["time"]
            if not start <= when <= end:
                unmapped.append({"time": when, "kind": row["kind"], "text": row["text"],
                                 "reason": f"at {when:%Y-%m-%d %H:%M}, outside the replay window "
                                           f"{start:%H:%M}-{end:%H:%M}"})
                continue
            found, reason = _map_event(row, (when - start).total_seconds(), start)
            if not found:
                unmapped.append({"time": when, "kind": row["kind"], "text": row["text"],
                                 "reason": reason})
            actions.extend(a for a in found if 0 <= a.t_s <= horizon)
            unmapped.extend({"time": when, "kind": row["kind"], "text": row["text"],
                             "reason": f"{a.kind} at {start + dt.timedelta(seconds=a.t_s):%H:%M}"
                                       " is outside the replay window"}
                            for a in found if not 0 <= a.t_s <= horizon)
        return cls(params=params, actions=tuple(actions), start=start, name=name,
                   description=f"replay of {len(actions)} scheduled actions from the report, "
                               f"{start:%H:%M}-{end:%H:%M} {start:%Z}",
                   unmapped=_UnmappedRows(unmapped, tz))


class _Unmapped:
    """`Scenario.unmapped`: the report events a replay could not map (an empty frame when the
    scenario was built by hand). Made on first read, so building a Scenario needs no polars."""

    def __get__(self, obj: Scenario | None, owner: type | None = None) -> pl.DataFrame | None:
        if obj is None:
            return None
        stored = obj.__dict__.get("unmapped")
        if stored is None:
            obj.__dict__["unmapped"] = _empty_unmapped()
        elif isinstance(stored, _UnmappedRows):
            obj.__dict__["unmapped"] = stored.frame()
        return obj.__dict__["unmapped"]

    def __set__(self, obj: Scenario, value: pl.DataFrame | None) -> None:
        obj.__dict__["unmapped"] = value


Scenario.unmapped = _Unmapped()


class _UnmappedRows(NamedTuple):
    """The unmapped events of a replay as `from_event_rows` found them, a frame on first read."""

    rows: list[dict]
    tz: str

    def frame(self) -> pl.DataFrame:
        import polars as pl

        return pl.DataFrame(self.rows, schema={"time": pl.Datetime("us", self.tz),
                                               "kind": pl.String, "text": pl.String,
                                               "reason": pl.String})


# Each action, the patterns that name it (the report's wording and plain paraphrases of it).
_LOCKUP = re.compile(r"soft[- ]?lock|lockup|disconnect\w* from its (other )?cluster|netsplit")
_RESTART_PRESENCE = re.compile(r"(reboot|restart)\w*( and recover)? the presence (service|cluster)")
_REBOOT_NODE = re.compile(r"misbehaving server is rebooted|rebooted onto another"
                          r"|(reboot|restart)\w* the (faulty|misbehaving|one) (presence )?server")
_DISABLE = re.compile(r"disabl\w* (sending messages|(the )?message sending|sending)"
                      r"|(message )?sending (of messages )?(is |was )?disabled")
_ENABLE = re.compile(r"enabl\w* (the )?(sending|message sending)"
                     r"|(message )?sending (of messages )?(is |was )?enabled")
_FULL_REBOOT = re.compile(r"(began|begin|begins|start|starts|started) (the )?(full )?(\"|“)?"
                          r"reboot|reboot process|start this process")
_PATCHES_DONE = re.compile(r"patch\w* (rollout|roll-out) (has )?complet|rollout of the "
                           r"(aforementioned )?(api )?patches has completed")
_IGNORE = re.compile(r"ignore the presence (cluster|service)")
_AT_CLOCK = re.compile(r"start this process at (\d{1,2}):(\d{2})")


def _map_event(row: dict, t_s: float, start: dt.datetime) -> tuple[list[Action], str]:
    """Actions for one event (by its kind and text), or ([], the reason it maps to nothing)."""
    text = row["text"] or ""
    low = text.lower()
    kind = row["kind"]
    note = f"{row['time']:%H:%M} {text[:80]}"
    if row.get("source") == "status_update":
        return [], "status-page update: tells users, changes nothing in the cluster"
    if _IGNORE.search(low):  # told in the sentences of the 14:54 detection
        return [Action(t_s + IGNORE_PRESENCE_DELAY_S, "ignore_presence", note=note)], ""
    if kind in ("detection", "communication", "impact", "followup"):
        return [], _reason(kind, low)
    acts: list[Action] = []
    if "presence" in low and _LOCKUP.search(low) and "isolated" not in low:
        acts.append(Action(t_s, "lockup", note=note))
    if _RESTART_PRESENCE.search(low):
        acts.append(Action(t_s, "restart_presence", note=note))
    if _REBOOT_NODE.search(low):
        acts.append(Action(t_s, "reboot_presence_node", note=note))
    if _DISABLE.search(low):
        acts.append(Action(t_s, "disable_sending", note=note))
    if _ENABLE.search(low):
        acts.append(Action(t_s, "enable_sending", note=note))
    if _FULL_REBOOT.search(low) and "prepare" not in low and "decision" not in low:
        m = _AT_CLOCK.search(low)
        when = start.replace(hour=int(m[1]), minute=int(m[2])) if m else None
        acts.append(Action(t_s if when is None else (when - start).total_seconds(),
                           "full_reboot", note=note))
    if _PATCHES_DONE.search(low):
        acts.append(Action(t_s, "set_connect_rate_limit", PATCHED_CONNECT_RATE_LIMIT, note=note))
    if acts:
        return acts, ""
    return [], _reason(kind, low)


def _reason(kind: str, low: str) -> str:
    if kind == "detection":
        return "detection: engineers noticing changes nothing in the cluster"
    if kind == "impact":
        return "impact: the model produces this itself (compare it, do not schedule it)"
    if kind == "communication":
        return "communication: tells people, changes nothing in the cluster"
    if kind == "recovery":
        return "recovery: an outcome the model produces, not an action"
    if "prepare" in low:
        return "preparation only; the action itself is a separate event"
    if "patches" in low:
        return "work in progress; the patches take effect when their rollout completes (13:35)"
    return f"{kind}: no model action matches this text"
