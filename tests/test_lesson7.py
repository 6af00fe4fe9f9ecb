"""Lesson 7's checkers on the lesson's report: right answers pass, and each wrong answer in
the tables below is rejected with feedback that contains the listed words."""

from __future__ import annotations

import polars as pl
import pytest

import incidentlab as il
from incidentlab import check
from incidentlab.check.lesson7 import OWN_KEY, OWN_REPORT, REVIEW_BELOW

REPORT = il.report_text(OWN_REPORT)
OWN = il.parse_report(REPORT, date=check.OWN_DATE, tz=check.OWN_TZ)
CLOCK = pl.col("time").dt.strftime("%H:%M")


def relabel(frame: pl.DataFrame, **by_clock: str) -> pl.DataFrame:
    kind = pl.col("kind")
    for hhmm, label in by_clock.items():
        kind = pl.when(hhmm.replace("_", ":") == CLOCK).then(pl.lit(label)).otherwise(kind)
    return frame.with_columns(kind.alias("kind"))


REVIEWED = relabel(OWN, **{"09_20": "mitigation", "09_41": "mitigation"})


def text_of(feedback) -> str:
    return " ".join((*feedback.right, *feedback.next))


def test_the_report_really_is_mislabelled_where_the_parser_is_unsure():
    unsure = OWN.filter(pl.col("kind_confidence") < REVIEW_BELOW)
    wrong = unsure.filter(pl.col("kind") != CLOCK.replace_strict(OWN_KEY))
    assert unsure.height >= 3
    assert wrong["time"].dt.strftime("%H:%M").to_list() == ["09:20", "09:41"]
    # and the rows the parser is sure of are right
    sure = OWN.filter(pl.col("kind_confidence") >= REVIEW_BELOW)
    assert (sure["kind"] == sure["time"].dt.strftime("%H:%M").replace_strict(OWN_KEY)).all()
    # every hand label covers a parsed row
    assert sorted(OWN_KEY) == OWN["time"].dt.strftime("%H:%M").to_list()


def test_right_answers_pass():
    assert check.lesson7.own_events(OWN, report=REPORT)
    fb = check.lesson7.own_review(REVIEWED, report=REPORT)
    assert fb and "09:20" in text_of(fb) and "09:41" in text_of(fb)
    # a learner who also sets a sure row to its (unchanged) right kind passes too
    assert check.lesson7.own_review(relabel(REVIEWED, **{"09_17": "detection"}), report=REPORT)
    assert check.lesson7.own_time_to_mitigate(8, report=REPORT)


OWN_EVENTS_WRONG = [
    (il.parse_report(REPORT, date=check.OWN_DATE, tz="UTC"), ("hour", "zone", "Berlin")),
    (il.parse_report(REPORT, date="2024-12-03", tz=check.OWN_TZ), ("dates", "2024-03-12",
                                                                   "year-month-day")),
    (OWN.head(5), ("5 events", "12", "whole report")),
]


@pytest.mark.parametrize(("answer", "words"), OWN_EVENTS_WRONG)
def test_own_events_rejects(answer, words):
    fb = check.lesson7.own_events(answer, report=REPORT)
    assert not fb
    for word in words:
        assert word in text_of(fb), (word, str(fb))


OWN_REVIEW_WRONG = [
    ("the table unedited", OWN, ("unedited", "kind_confidence", "2 of them")),
    ("every row relabelled", OWN.with_columns(pl.lit("mitigation").alias("kind")),
     ("wholesale", "row by row", "sure of")),
    ("sure rows relabelled too",
     relabel(REVIEWED, **{"09_17": "impact", "09_21": "impact", "09_30": "impact",
                          "09_34": "impact", "09_55": "impact"}),
     ("wholesale", "changed", "kind_confidence")),
    ("one unsure row missed", relabel(OWN, **{"09_20": "mitigation"}),
     ("09:41", "warming the cache", "mitigation")),
    ("an unsure row set to the parser's runner-up", relabel(REVIEWED, **{"09_20": "diagnosis"}),
     ("09:20", "rollback", "suspects")),
    ("a sure row broken", relabel(REVIEWED, **{"09_30": "mitigation"}),
     ("09:30", "sure of", "keep the parser's kind")),
    ("a row dropped", REVIEWED.filter(CLOCK != "09:41"), ("11 rows", "12", "without filtering")),
    ("not a kind", relabel(REVIEWED, **{"09_41": "fix"}), ("'fix'", "not a kind", "mitigation")),
]


@pytest.mark.parametrize(("what", "answer", "words"), OWN_REVIEW_WRONG,
                         ids=[w[0] for w in OWN_REVIEW_WRONG])
def test_own_review_rejects(what, answer, words):
    fb = check.lesson7.own_review(answer, report=REPORT)
    assert not fb, what
    for word in words:
        assert word in text_of(fb), (word, str(fb))


def test_own_review_needs_the_confidence_column():
    with pytest.raises(il.CheckError, match="kind_confidence"):
        check.lesson7.own_review(REVIEWED.drop("kind_confidence"), report=REPORT)


OWN_MITIGATE_WRONG = [
    (22, ("unreviewed", "not the one asked for", "reviewed table")),
    (5, ("time to detection", "not the one asked for", "first mitigation")),
    (480, ("60 times", "units", "reviewed table")),
    (-8, ("wrong sign", "subtract", "first mitigation")),
]


@pytest.mark.parametrize(("answer", "words"), OWN_MITIGATE_WRONG)
def test_own_time_to_mitigate_rejects(answer, words):
    fb = check.lesson7.own_time_to_mitigate(answer, report=REPORT)
    assert not fb
    for word in words:
        assert word in text_of(fb), (word, str(fb))
