"""Lesson 6 checkers: replay the day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from incidentlab.check._common import (
    Feedback,
    _big,
    _close,
    _describe,
    _diagnose,
    _exercise,
    _minutes,
    _qty,
)
from incidentlab.check._model import _knobs, _outcome, _preset, _run, _scenario
from incidentlab.errors import CheckError


def _replay():
    return _preset("march-2017-replay")


def _clock(answer: Any, ex: str, day: dt.datetime) -> dt.datetime:
    """A wall-clock answer: tz-aware datetime, naive datetime or time (read in the day's zone),
    or an "HH:MM[:SS]" string."""
    zone = day.tzinfo
    if isinstance(answer, dt.datetime):
        return answer if answer.tzinfo else answer.replace(tzinfo=zone)
    if isinstance(answer, dt.time):
        return dt.datetime.combine(day.date(), answer, tzinfo=zone)
    if isinstance(answer, str):
        try:
            parsed = dt.time.fromisoformat(answer.strip())
        except ValueError:
            raise CheckError(f"{ex} expects a clock time like \"11:50\" or a datetime; got "
                             f"{answer!r}.") from None
        return dt.datetime.combine(day.date(), parsed, tzinfo=zone)
    raise CheckError(f"{ex} expects a wall-clock time: a datetime (e.g. a `time` from the "
                     f"timeline) or a string like \"11:50\"; got {_describe(answer)}.")


@_exercise(6, "first_oom_at", "the wall-clock time of the first OOM crash in the replay")
def first_oom_clock(answer: Any) -> Feedback:
    """scenario start + fault_s + first_oom_s, within a minute; compared with the report."""
    ex = "06.first_oom_clock"
    scenario = _replay()
    outcome = _outcome(scenario)
    expected = scenario.start + dt.timedelta(seconds=scenario.fault_s + outcome.first_oom_s)
    value = _clock(answer, ex, scenario.start)
    off = (value - expected).total_seconds() / 60
    if abs(off) <= 1:
        return Feedback(ex, True, (
            f"The model's first session node runs out of memory at {expected:%H:%M:%S}.",
            "The report: 'By 11:50 ... members of the sessions cluster began to OOM and crash'.",
        ), ("Which knobs set this time? Change one (docs/model.md says which defaults are "
            "assumptions) and see how far the first crash moves.",))
    hints = [f"Your time is {abs(off):.0f} minutes {'late' if off > 0 else 'early'}."]
    if abs(off + scenario.fault_s / 60) <= 1:
        hints.append("You added the seconds to the scenario's start (11:30), but first_oom_s "
                     "counts from the fault (scenario.fault_s seconds later).")
    elif abs(off) >= 60 and abs(off) % 60 <= 1:
        hints.append("Off by whole hours: read the time in the replay's own zone (PDT).")
    hints.append("Find the first row of run.timeline where session_nodes_up drops, or add "
                 "fault_s + outcome.first_oom_s seconds to scenario.start.")
    return Feedback(ex, False, (), tuple(hints))


REBOOT_BACK_SHARE = 0.95


def _reboot_minutes(run, scenario) -> tuple[float, dt.datetime]:
    import polars as pl

    reboot = min(a.t_s for a in scenario.actions if a.kind == "full_reboot")
    users = scenario.params.users
    back = run.timeline.filter((pl.col("t_s") > reboot)
                               & (pl.col("users_connected") >= REBOOT_BACK_SHARE * users))
    if back.height == 0:  # pragma: no cover - the replay always reconnects
        raise CheckError("06.reboot_minutes: the replay no longer reconnects 95% of users after "
                         "its first reboot; this lesson needs updating")
    when = back["t_s"][0]
    return (when - reboot) / 60, scenario.start + dt.timedelta(seconds=reboot)


@_exercise(6, "reboot_min", "minutes from the first full reboot until 95% of users are back")
def reboot_minutes(answer: Any) -> Feedback:
    """From the first full_reboot action to users_connected >= 95% of users."""
    ex = "06.reboot_minutes"
    value = _minutes(answer, ex)
    scenario = _replay()
    expected, started = _reboot_minutes(_run(scenario), scenario)
    if _close(value, expected, 0.0, 0.5):
        verdict = "inside" if expected < 16 else "outside"
        return Feedback(ex, True, (
            f"{_qty(expected, 'minute')} after the reboot began at {started:%H:%M}, 95% of users "
            "are connected again.",
            f"That is {verdict} the report's 'under 16 minutes to reconnect millions of "
            "concurrent Discord users'.",
        ), ("What sets this time in the model? Look at connect_rate_limit (the API patches) "
            "and the client backoff.",))
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "minutes", {
            "the report's figure, not the model's": 16.0,
            "the time to the report's 'mostly recovered' at 13:56": 11.0},
            {"60 times (seconds?)": 60}),
        f"Start at the first full_reboot in day.schedule() ({started:%H:%M}) and find the first "
        "later row where users_connected reaches 95% of users.",
    ))


@_exercise(6, "fixed_day", "the replay scenario with the report's fixes")
def fixed_day(answer: Any) -> Feedback:
    """The replay's own schedule, the fixes' knobs, and no OOM crash all day."""
    from incidentlab.model.presets import FIXES

    ex = "06.fixed_day"
    scenario = _scenario(answer, ex, "the replay with the fixes' knobs")
    replay = _replay()
    if scenario.actions != replay.actions or scenario.start != replay.start:
        return Feedback(ex, False, (), (
            "Keep the day as it happened — the replay's start and actions — and change only "
            "knobs: il.presets['march-2017-replay'].replace(**fixes).",))
    missing = {k: v for k, v in FIXES.items() if getattr(scenario.params, k) != v}
    if missing:
        return Feedback(ex, False, (), (
            f"Set the report's fixes: {_knobs(missing)} (your scenario differs there).",))
    fixed, real = _outcome(scenario), _outcome(replay)
    if fixed.oom_crashes:
        return Feedback(ex, False, (), (
            f"With the fixes there are still {fixed.oom_crashes} crashes: check the other "
            f"knobs you changed ({_knobs(scenario.params.changed())}).",))
    return Feedback(ex, True, (
        f"With the fixes the day has no crash (in 2017: {real.oom_crashes}).",
        f"Users lose {_big(fixed.user_minutes_lost)} user-minutes instead of "
        f"{_big(real.user_minutes_lost)}; events lost: {_big(fixed.events_lost)} instead of "
        f"{_big(real.events_lost)}.",
    ), ("In this replay the operators still disable sending and reboot everything, on the "
        "same clock. With the fixes, which of those actions would they still need?",))
