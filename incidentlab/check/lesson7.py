"""Lesson 7 checkers: bring your own postmortem."""

from __future__ import annotations

import datetime as dt
from typing import Any

from incidentlab.check._common import (
    Feedback,
    _close,
    _describe,
    _diagnose,
    _exercise,
    _minutes,
    _minutes_between,
    _qty,
)
from incidentlab.errors import CheckError

# The exercise's facts, given in the lesson's prose (they are not in the text itself).
OWN_DATE = "2024-03-12"
OWN_TZ = "Europe/Berlin"
# What a careful reader labels these three, whatever the parser's keyword cues guess.
OWN_KINDS = {"09:12": "trigger", "09:17": "detection", "09:30": "diagnosis"}


def _own_report(report: Any, ex: str) -> str:
    if not isinstance(report, str):
        raise CheckError(f"{ex} needs the report text too: call it with report=report "
                         f"(a str); got {_describe(report)}.")
    return report


def _own_events(report: str):
    from incidentlab.reports import parse_report

    return parse_report(report, date=OWN_DATE, tz=OWN_TZ)


def _own_labelled(report: str):
    import polars as pl

    events = _own_events(report)
    clock = pl.col("time").dt.strftime("%H:%M")
    kind = pl.col("kind")
    for hhmm, label in OWN_KINDS.items():
        kind = pl.when(clock == hhmm).then(pl.lit(label)).otherwise(kind)
    return events.with_columns(kind.alias("kind"))


def _events_frame(answer: Any, ex: str, what: str):
    import polars as pl

    if not isinstance(answer, pl.DataFrame):
        raise CheckError(f"{ex} expects a polars DataFrame ({what}); got {_describe(answer)}.")
    if "time" not in answer.columns or not isinstance(answer.schema["time"], pl.Datetime):
        raise CheckError(f"{ex} expects the events table with its datetime `time` column; "
                         f"your columns are {answer.columns}.")
    return answer


@_exercise(7, "own", "the report parsed with the date and zone it lacks", ("report",))
def own_events(answer: Any, report: Any = None) -> Feedback:
    """parse_report(report, date=..., tz=...) with the date and zone the lesson states."""
    ex = "07.own_events"
    answer = _events_frame(answer, ex, "what parse_report returns")
    expected = _own_events(_own_report(report, ex))
    right, nxt = [], []
    zone = answer.schema["time"].time_zone
    if answer.height != expected.height:
        nxt.append(f"You have {answer.height} events; parsing the whole report gives "
                   f"{expected.height}. Parse `report` itself, not a part of it.")
        return Feedback(ex, False, (), tuple(nxt))
    want, have = expected["time"].to_list(), answer["time"].to_list()
    if have == want:
        right.append(f"All {expected.height} events, at the right instants.")
    else:
        shift = (have[0] - want[0]).total_seconds() / 3600
        uniform = all((h - w).total_seconds() / 3600 == shift
                      for h, w in zip(have, want, strict=True))
        if shift and abs(shift) < 24 and uniform:
            nxt.append(f"Every time is {abs(shift):g} hour(s) off: the zone is wrong. The team "
                       f"wrote their times in Berlin time: tz=\"{OWN_TZ}\".")
        elif {t.date() for t in have} != {t.date() for t in want}:
            nxt.append(f"The dates are off: the incident was on {OWN_DATE} "
                       f"(date=\"{OWN_DATE}\", year-month-day).")
        else:
            nxt.append("Some times differ from what the parser gives with the right date and zone.")
    if zone == expected.schema["time"].time_zone:
        right.append(f"The times are in {zone}, the team's own zone, as they wrote them.")
    elif have == want:
        right.append(f"Same instants, shown in {zone}; {OWN_TZ} would match the text's clock.")
    return Feedback(ex, not nxt, tuple(right), tuple(nxt))


@_exercise(7, "labelled", "your events with the trigger, detection and diagnosis labelled",
           ("report",))
def own_kinds(answer: Any, report: Any = None) -> Feedback:
    """The parsed events with 09:12 a trigger, 09:17 a detection and 09:30 a diagnosis."""
    ex = "07.own_kinds"
    answer = _events_frame(answer, ex, "your parsed events, kinds corrected")
    if "kind" not in answer.columns:
        raise CheckError(f"{ex} expects a `kind` column; your columns are {answer.columns}.")
    expected = _own_labelled(_own_report(report, ex))
    if answer.height != expected.height:
        return Feedback(ex, False, (), (
            f"You have {answer.height} rows, the parsed report {expected.height}: change kinds "
            "with `with_columns`, without dropping or adding rows.",))
    have = dict(zip(answer["time"].dt.strftime("%H:%M").to_list(), answer["kind"].to_list(),
                    strict=False))
    want = dict(zip(expected["time"].dt.strftime("%H:%M").to_list(), expected["kind"].to_list(),
                    strict=False))
    wrong = [hhmm for hhmm in want if have.get(hhmm) != want[hhmm]]
    if not wrong:
        return Feedback(ex, True, (
            "The 09:12 configuration change is the trigger, the 09:17 alert the detection, and "
            "09:30, when the cause was found, the diagnosis.",
            "Every other kind is as the parser guessed.",
        ), ("A parser reads words, not intent: always review its kinds before computing metrics.",))
    return Feedback(ex, False, tuple(
        f"{hhmm} is {want[hhmm]}." for hhmm in OWN_KINDS if hhmm not in wrong), tuple(
        f"At {hhmm} your kind is {have.get(hhmm)!r}; a reader would call it {want[hhmm]!r}."
        for hhmm in wrong))


@_exercise(7, "own_detect_min", "minutes from the trigger to detection in your report",
           ("report",))
def own_time_to_detect(answer: Any, report: Any = None) -> Feedback:
    """Minutes from the first trigger to the first detection, after correcting the kinds."""
    import polars as pl

    ex = "07.own_time_to_detect"
    value = _minutes(answer, ex)
    events = _own_labelled(_own_report(report, ex))

    def first(kind: str) -> dt.datetime:
        return events.filter(pl.col("kind") == kind)["time"].min()

    expected = _minutes_between(first("trigger"), first("detection"))
    if _close(value, expected, 0.0, 0.5):
        return Feedback(ex, True, (f"{_qty(expected, 'minute')} from the bad change to the "
                                   "alert.",),
                        ("Compare with Discord's one minute: what made each fast or slow?",))
    mixups = {
        "counted from the first event the parser labelled a trigger (before correcting kinds)":
            None,
        "the time to diagnosis": _minutes_between(first("trigger"), first("diagnosis")),
        "the time to recovery": _minutes_between(first("trigger"), first("recovery")),
    }
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "minutes", mixups, {"60 times": 60}),
        "Use your corrected table: the first trigger is now the 09:12 change.",
    ))
