"""Lesson 1 checkers: reading the postmortem."""

from __future__ import annotations

import datetime as dt
import numbers
from functools import cache
from typing import Any

from incidentlab.check._common import (
    REPORT,
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


@cache
def _events():
    from incidentlab.reports import load_report

    return load_report(REPORT)


def _first(kind: str | None = None, source: str | None = None) -> dt.datetime:
    import polars as pl

    events = _events()
    if kind is not None:
        events = events.filter(pl.col("kind") == kind)
    if source is not None:
        events = events.filter(pl.col("source") == source)
    return events["time"].min()


def _lesson1_times() -> dict[str, float]:
    """Minutes from the first trigger to the landmarks learners might confuse."""
    from incidentlab.metrics import incident_metrics

    m = incident_metrics(_events())
    return {
        "the time to detect": m.minutes_to_detect,
        "the time to the first public status update": m.minutes_to_first_update,
        "the time to the first sessions OOM (the first impact event)": _minutes_between(
            m.start, _first("impact")
        ),
        "the time to the first recovery": m.minutes_to_first_recovery,
        "the time to the final resolution": m.minutes_to_resolution,
    }


@_exercise(1, "mitigations", "the mitigation events, sorted by time")
def mitigations(answer: Any) -> Feedback:
    """The events table filtered to kind == "mitigation" and sorted by time."""
    import polars as pl

    ex = "01.mitigations"
    if not isinstance(answer, pl.DataFrame):
        hint = " (call .collect() on a LazyFrame)" if isinstance(answer, pl.LazyFrame) else ""
        raise CheckError(
            f"{ex} expects a polars DataFrame: the events table filtered to the mitigations"
            f"{hint}; got {_describe(answer)}."
        )
    events = _events()
    expected = events.filter(pl.col("kind") == "mitigation").sort("time", maintain_order=True)
    missing_cols = [c for c in ("time", "kind", "text") if c not in answer.columns]
    if missing_cols:
        return Feedback(ex, False, next=(
            f"Your table has no {', '.join(missing_cols)} column(s). Keep every column: "
            "`filter` chooses rows, `select` chooses columns; this exercise needs only `filter`.",
        ))
    if answer.height == 0:
        return Feedback(ex, False, next=(
            "Your table is empty: check the spelling in your condition (kinds are lower-case, "
            "e.g. \"mitigation\").",))
    right, nxt = [], []
    kinds = sorted(set(answer["kind"].to_list()))
    if kinds == ["mitigation"]:
        right.append("Every row you kept is a mitigation.")
    else:
        others = [k for k in kinds if k != "mitigation"]
        nxt.append(f"Your table also has kinds {others}: filter on `pl.col(\"kind\") == "
                   "\"mitigation\"`.")
    want = set(zip(expected["time"].to_list(), expected["text"].to_list(), strict=True))
    have = set(zip(answer["time"].to_list(), answer["text"].to_list(), strict=True))
    lost = want - have
    if not lost:
        right.append(f"All {len(want)} mitigations are there, from the API patches at "
                     f"{expected['time'][0]:%H:%M} to the final reboot at "
                     f"{expected['time'][-1]:%H:%M}.")
    else:
        first = min(lost)
        nxt.append(f"{len(lost)} of the {len(want)} mitigations are missing, e.g. the one at "
                   f"{first[0]:%H:%M}: \"{first[1][:70]}\".")
    if answer["time"].is_sorted():
        right.append("The rows are in time order.")
    else:
        nxt.append("The rows are not in time order: add `.sort(\"time\")`.")
    return Feedback(ex, not nxt, tuple(right), tuple(nxt))


def _minutes_check(ex: str, answer: Any, key: str, what: str) -> Feedback:
    value = _minutes(answer, ex)
    times = _lesson1_times()
    expected = times[key]
    if _close(value, expected, 0.0, 0.5):
        return Feedback(ex, True, (
            f"{_qty(expected, 'minute')} {what}.",
        ), ("Compare it with the other gaps: which one would you most like to shrink?",))
    others = {name: v for name, v in times.items() if name != key}
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "minutes", others, {"60 times": 60, "1/60 of": 1 / 60}),
        "Take the earliest `trigger` event and the earliest event that marks the answer, "
        "subtract the times, and divide by `timedelta(minutes=1)` (or use `.total_seconds()/60`).",
    ))


@_exercise(1, "time_to_detect_min", "minutes from the first trigger to the first detection")
def time_to_detect(answer: Any) -> Feedback:
    """Minutes from the first trigger event to the first detection event."""
    return _minutes_check("01.time_to_detect", answer, "the time to detect",
                          "from the first trigger to the first detection")


@_exercise(1, "time_to_first_update_min",
           "minutes from the first trigger to the first status-page update")
def time_to_first_update(answer: Any) -> Feedback:
    """Minutes from the first trigger to the first status update (source == "status_update")."""
    return _minutes_check("01.time_to_first_update", answer,
                          "the time to the first public status update",
                          "from the first trigger to the first public status update")


@_exercise(1, "recurrences", "how many times the failure started again after the first trigger")
def recurrences(answer: Any) -> Feedback:
    """Trigger events after the first one: the times the failure came back."""
    import polars as pl

    ex = "01.recurrences"
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        if isinstance(answer, pl.DataFrame):
            raise CheckError(f"{ex} expects a count (an int); you gave a DataFrame of "
                             f"{answer.height} rows. Use `.height` or `len(...)` to count it.")
        raise CheckError(f"{ex} expects a count (an int); got {_describe(answer)}.")
    triggers = _events().filter(pl.col("kind") == "trigger")
    expected = triggers.height - 1
    clock = ", ".join(f"{t:%H:%M}" for t in triggers["time"])
    if answer == expected:
        return Feedback(ex, True, (
            f"{expected} recurrences: triggers at {clock}, the first one starting it all.",
        ), ("The report says the same presence server failed each time. Lesson 4 asks why "
            "one flaky server could restart the whole cascade.",))
    hint = ("You counted the first trigger too: a recurrence is a trigger after the first."
            if answer == triggers.height else
            f"Filter the events to kind \"trigger\" and count them; there are {triggers.height}.")
    return Feedback(ex, False, (), (hint,))
