"""Lesson 1 checkers: reading the postmortem."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from incidentlab.check._common import (
    REPORT,
    Feedback,
    _close,
    _describe,
    _diagnose,
    _exercise,
    _integer,
    _minutes,
    _minutes_between,
    _qty,
    not_yet,
    passed,
)
from incidentlab.check._predict import question
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
    """The events table filtered to kind == "mitigation" and sorted by time: rows of the report
    as they are (no relabelled kind, no duplicate, nothing missing)."""
    import polars as pl

    if not isinstance(answer, pl.DataFrame):
        hint = " (call .collect() on a LazyFrame)" if isinstance(answer, pl.LazyFrame) else ""
        raise CheckError("expects a polars DataFrame: the events table filtered to the "
                         f"mitigations{hint}; got {_describe(answer)}.")
    events = _events()
    expected = events.filter(pl.col("kind") == "mitigation").sort("time", maintain_order=True)
    missing_cols = [c for c in ("time", "kind", "text") if c not in answer.columns]
    if missing_cols:
        return not_yet((
            f"Your table has no {', '.join(missing_cols)} column(s). Keep every column: "
            "`filter` chooses rows, `select` chooses columns; this exercise needs only `filter`.",
        ))
    if answer.height == 0:
        return not_yet(("Your table is empty: check the spelling in your condition (kinds are "
                        "lower-case, e.g. \"mitigation\").",))
    right, nxt = [], []
    report_kind = dict(zip(zip(events["time"].to_list(), events["text"].to_list(), strict=True),
                           events["kind"].to_list(), strict=True))
    rows = list(zip(answer["time"].to_list(), answer["text"].to_list(),
                    answer["kind"].to_list(), strict=True))
    invented = [r for r in rows if (r[0], r[1]) not in report_kind]
    relabelled = [r for r in rows if (r[0], r[1]) in report_kind
                  and report_kind[(r[0], r[1])] != r[2]]
    if invented:
        nxt.append(f"{len(invented)} of your rows are not events of the report (e.g. "
                   f"\"{str(invented[0][1])[:60]}\"): keep the rows as `load_report` gives them.")
    if relabelled:
        t, text, _ = relabelled[0]
        nxt.append(f"You relabelled {len(relabelled)} row(s) as \"mitigation\": e.g. the one at "
                   f"{t:%H:%M} (\"{text[:50]}\") is a {report_kind[(t, text)]} in the report. "
                   "Choose rows with `filter`; do not overwrite `kind`.")
    duplicates = len(rows) - len(set(rows))
    if duplicates:
        nxt.append(f"{duplicates} row(s) appear more than once: each event belongs in the "
                   "table once (did you concatenate or join?).")
    kinds = sorted({r[2] for r in rows})
    if kinds == ["mitigation"] and not relabelled:
        right.append("Every row you kept is a mitigation.")
    elif kinds != ["mitigation"]:
        others = [k for k in kinds if k != "mitigation"]
        nxt.append(f"Your table also has kinds {others}: filter on `pl.col(\"kind\") == "
                   "\"mitigation\"`.")
    want = set(zip(expected["time"].to_list(), expected["text"].to_list(), strict=True))
    lost = want - {(r[0], r[1]) for r in rows}
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
    return Feedback("", not nxt, tuple(right), tuple(nxt))


def _minutes_check(answer: Any, key: str, what: str) -> Feedback:
    value = _minutes(answer)
    times = _lesson1_times()
    expected = times[key]
    if _close(value, expected, 0.0, 0.5):
        return passed((f"{_qty(expected, 'minute')} {what}.",),
                      ("Compare it with the other gaps: which one would you most like to "
                       "shrink?",))
    others = {name: v for name, v in times.items() if name != key}
    others["the minutes from the day's first event in the table, not from the trigger"] = (
        _minutes_between(_events()["time"].min(), _first_of(key)))
    return not_yet((
        *_diagnose(value, expected, "minutes", others,
                   {"60 times (seconds, not minutes)": 60, "1/60 of (hours?)": 1 / 60}),
        "Take the earliest `trigger` event and the earliest event that marks the answer, "
        "subtract the times, and divide by `timedelta(minutes=1)` (or use `.total_seconds()/60`).",
    ))


def _first_of(key: str) -> dt.datetime:
    return (_first("detection") if key == "the time to detect"
            else _first(source="status_update"))


@_exercise(1, "time_to_detect_min", "minutes from the first trigger to the first detection")
def time_to_detect(answer: Any) -> Feedback:
    """Minutes from the first trigger event to the first detection event."""
    return _minutes_check(answer, "the time to detect",
                          "from the first trigger to the first detection")


@_exercise(1, "time_to_first_update_min",
           "minutes from the first trigger to the first status-page update")
def time_to_first_update(answer: Any) -> Feedback:
    """Minutes from the first trigger to the first status update (source == "status_update")."""
    return _minutes_check(answer, "the time to the first public status update",
                          "from the first trigger to the first public status update")


@_exercise(1, "recurrences", "how many times the failure started again after the first trigger")
def recurrences(answer: Any) -> Feedback:
    """Trigger events after the first one: the times the failure came back."""
    import polars as pl

    if isinstance(answer, pl.DataFrame):
        raise CheckError(f"expects a count (an int); you gave a DataFrame of {answer.height} "
                         "rows. Use `.height` or `len(...)` to count it.")
    value = _integer(answer, "a count", 0)
    triggers = _events().filter(pl.col("kind") == "trigger")
    expected = triggers.height - 1
    clock = ", ".join(f"{t:%H:%M}" for t in triggers["time"])
    if value == expected:
        return passed((f"{expected} recurrences: triggers at {clock}, the first one starting "
                       "it all.",),
                      ("The report says the same presence server failed each time. Lesson 4 "
                       "asks why one flaky server could restart the whole cascade.",))
    slips = {
        triggers.height: "You counted the first trigger too: a recurrence is a trigger after "
                         "the first.",
        1: "The report's summary names one recurrence (14:52), but its Sequence of Events has "
           "more: count the `trigger` rows, not the summary's sentences.",
        0: "Zero would mean one fault all day: filter the events to kind \"trigger\".",
        40: "About 40 is the report's count of the server's CPU soft lockups, not of the "
            "times the cascade came back: count the `trigger` events.",
        39: "About 40 is the report's count of the server's CPU soft lockups, not of the "
            "times the cascade came back: count the `trigger` events.",
    }
    updates = _events().filter(pl.col("source") == "status_update").height
    slips.setdefault(updates, "That is the number of status-page updates: a recurrence is a "
                              "`trigger` event of the narrative.")
    return not_yet((slips.get(value, f"Filter the events to kind \"trigger\" and count them; "
                                      f"there are {triggers.height}."),))


@question(1, "predict_key",
          "the answer key labels every event of this report by hand. How many of its events "
          "will the parser find with the same time, source and kind?",
          {"a": "all of them", "b": "most, with a few missed or labelled differently",
           "c": "about half", "d": "hardly any: English is too loose to parse"},
          {"a": "A parser tuned on one report can match its key exactly; the joins below "
                "show it, and lesson 7 shows how the same parser does on a report it has not "
                "seen.",
           "b": "A reasonable prior for any parser of prose; the joins below say whether this "
                "one does better.",
           "c": "Times in this report are explicit ('At 11:38', 'By 11:50'), so the hard part "
                "is the kind, not the time.",
           "d": "The report's times and verbs are regular enough for keyword cues; the joins "
                "below count how far they get."},
          after="Run the joins below and compare.")
def predict_key() -> str:
    """The letter the join itself gives: all, most (>= 80%), about half, or hardly any."""
    events = _events()
    from incidentlab.reports import answer_key

    key = answer_key(REPORT)
    found = key.join(events, on=["time", "source", "kind"], how="semi").height / key.height
    return "a" if found == 1 else "b" if found >= 0.8 else "c" if found >= 0.3 else "d"
