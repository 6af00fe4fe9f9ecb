"""Lesson 7 checkers: bring your own postmortem (parse it, review the unsure kinds, measure)."""

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

# The lesson's report (data/checkout-2024-03-12.md) and the facts its prose gives.
OWN_REPORT = "checkout-2024-03-12"
OWN_DATE = "2024-03-12"
OWN_TZ = "Europe/Berlin"
# Rows the parser is unsure of: the lesson reviews every row below this kind_confidence.
REVIEW_BELOW = 0.5
# Every row as a careful reader labels it (clock -> kind), whatever the parser's cues guess.
OWN_KEY = {
    "09:12": "trigger", "09:14": "impact", "09:17": "detection", "09:20": "mitigation",
    "09:21": "communication", "09:26": "impact", "09:30": "diagnosis", "09:34": "mitigation",
    "09:41": "mitigation", "09:43": "recovery", "09:55": "recovery", "10:10": "communication",
}
# Why a reader labels an unsure row so: shown when a learner's label differs.
OWN_WHY = {
    "09:14": "the cache emptying and the database saturating is harm: impact",
    "09:20": "starting a rollback is an action taken to stop the damage, even one that does "
             "not help: mitigation ('suspects' made the parser guess diagnosis)",
    "09:26": "failing checkouts are harm users feel: impact",
    "09:41": "warming the cache is an action to limit the damage: mitigation (no cue word, so "
             "the parser fell back to impact)",
}


def _own_report(report: Any, ex: str) -> str:
    if not isinstance(report, str):
        raise CheckError(f"{ex} needs the report text too: call it with report=report "
                         f"(a str); got {_describe(report)}.")
    return report


def _own_events(report: str):
    from incidentlab.reports import parse_report_with_warnings

    return parse_report_with_warnings(report, date=OWN_DATE, tz=OWN_TZ).events


def _clock(frame) -> list[str]:
    return frame["time"].dt.strftime("%H:%M").to_list()


def _events_frame(answer: Any, ex: str, what: str, need: tuple[str, ...] = ()):
    import polars as pl

    if not isinstance(answer, pl.DataFrame):
        raise CheckError(f"{ex} expects a polars DataFrame ({what}); got {_describe(answer)}.")
    if "time" not in answer.columns or not isinstance(answer.schema["time"], pl.Datetime):
        raise CheckError(f"{ex} expects the events table with its datetime `time` column; "
                         f"your columns are {answer.columns}.")
    missing = [c for c in need if c not in answer.columns]
    if missing:
        raise CheckError(f"{ex} expects the columns {list(need)}; {missing} are missing from "
                         f"your columns {answer.columns}.")
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


@_exercise(7, "reviewed", "your events with the unsure rows reviewed", ("report",))
def own_review(answer: Any, report: Any = None) -> Feedback:
    """The parsed events with every row below REVIEW_BELOW confidence labelled as a reader
    would, and the rows the parser was sure of left as they were (or corrected, if wrong)."""
    from incidentlab.reports import KINDS

    ex = "07.own_review"
    answer = _events_frame(answer, ex, "your parsed events, unsure kinds reviewed",
                           ("kind", "kind_confidence"))
    parsed = _own_events(_own_report(report, ex))
    if answer.height != parsed.height or _clock(answer) != _clock(parsed):
        return Feedback(ex, False, (), (
            f"You have {answer.height} rows at {', '.join(_clock(answer)[:3])}...; the parsed "
            f"report has {parsed.height}. Review kinds with `with_columns`, without filtering, "
            "dropping or adding rows.",))
    clocks = _clock(parsed)
    have = dict(zip(clocks, answer["kind"].to_list(), strict=True))
    guessed = dict(zip(clocks, parsed["kind"].to_list(), strict=True))
    sure = dict(zip(clocks, (c >= REVIEW_BELOW for c in parsed["kind_confidence"]),
                    strict=True))
    unsure = [c for c in clocks if not sure[c]]
    unknown = sorted({k for k in have.values() if k not in KINDS}, key=str)
    if unknown:
        return Feedback(ex, False, (), (
            f"{unknown} is not a kind; the kinds are {', '.join(KINDS)}.",))
    if have == guessed:
        wrong = [c for c in unsure if guessed[c] != OWN_KEY[c]]
        return Feedback(ex, False, (), (
            f"This is the parser's table unedited. {len(unsure)} rows have kind_confidence "
            f"below {REVIEW_BELOW} ({', '.join(unsure)}), and {len(wrong)} of them are labelled "
            "wrong: read each one's text and kind_reason, then relabel the wrong ones.",))
    changed_sure = [c for c in clocks if sure[c] and have[c] != guessed[c]]
    right_sure = [c for c in clocks if sure[c] and guessed[c] == OWN_KEY[c]]
    if len(set(have.values())) == 1 or len(changed_sure) > len(right_sure) / 2:
        return Feedback(ex, False, (), (
            f"You relabelled rows wholesale ({len(changed_sure)} rows the parser was sure of "
            "changed). Review row by row: start with the rows whose kind_confidence is below "
            f"{REVIEW_BELOW}, and keep a sure row unless its text says otherwise.",))
    wrong = [c for c in clocks if have[c] != OWN_KEY[c]]
    if not wrong:
        fixed = [c for c in unsure if guessed[c] != OWN_KEY[c]]
        return Feedback(ex, True, (
            f"You reviewed the {len(unsure)} unsure rows and corrected {len(fixed)} of them "
            f"({', '.join(fixed)}); the sure rows stand.",
        ), ("Confidence is the parser's own doubt, not the truth: a sure row can still be "
            "wrong, so skim those too before trusting a metric.",))
    hints = []
    for c in wrong:
        why = OWN_WHY.get(c, f"a reader calls it {OWN_KEY[c]!r}")
        if sure[c] and have[c] != guessed[c]:
            hints.append(f"At {c} you changed a row the parser was sure of ({guessed[c]!r}) "
                         f"to {have[c]!r}; its text says {OWN_KEY[c]}: keep the parser's kind.")
        else:
            hints.append(f"At {c} your kind is {have[c]!r}; reread its text: {why}.")
    right = [f"{c} is {OWN_KEY[c]}." for c in unsure if c not in wrong]
    return Feedback(ex, False, tuple(right), tuple(hints))


@_exercise(7, "own_mitigate_min", "minutes from the trigger to the first mitigation",
           ("report",))
def own_time_to_mitigate(answer: Any, report: Any = None) -> Feedback:
    """Minutes from the first trigger to the first mitigation, in the reviewed table."""
    import polars as pl

    ex = "07.own_time_to_mitigate"
    value = _minutes(answer, ex)
    parsed = _own_events(_own_report(report, ex))
    reviewed = parsed.with_columns(
        pl.col("time").dt.strftime("%H:%M").replace_strict(OWN_KEY, default=pl.col("kind"))
        .alias("kind"))

    def first(frame, kind: str) -> dt.datetime:
        return frame.filter(pl.col("kind") == kind)["time"].min()

    expected = _minutes_between(first(reviewed, "trigger"), first(reviewed, "mitigation"))
    unreviewed = _minutes_between(first(parsed, "trigger"), first(parsed, "mitigation"))
    if _close(value, expected, 0.0, 0.5):
        return Feedback(ex, True, (
            f"{_qty(expected, 'minute')} from the bad change to the first attempt to stop the "
            "damage (the rollback of the morning's release, which did not help).",),
            (f"Unreviewed, the parser's table says {_qty(unreviewed, 'minute')}: a review of a "
             "few unsure rows changed the metric.",))
    mixups = {
        "counted in the unreviewed table": unreviewed,
        "the time to detection": _minutes_between(first(reviewed, "trigger"),
                                                  first(reviewed, "detection")),
        "the time to diagnosis": _minutes_between(first(reviewed, "trigger"),
                                                  first(reviewed, "diagnosis")),
    }
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "minutes", mixups, {"60 times": 60}),
        "Use your reviewed table: the first mitigation is the first action taken against "
        "the damage, even one that did not help.",
    ))
