"""The parser on the corpus of reports it was developed against (tests/reports/corpus) and on
held-out reports (tests/reports/heldout): the scorer itself, and the corpus aims."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from benchmarks.parser import AIMS, CORPUS, HELD_OUT, Score, corpus, score, score_corpus


def test_the_corpus_has_twelve_labelled_reports_each_naming_its_source():
    reports = corpus(CORPUS)
    assert len(reports) >= 12
    for name, text, key in reports:
        assert "retold in our own words" in text.lower(), name
        assert key.height >= 4, name
        assert set(key["source"]) <= {"narrative", "status_update"}
    assert len(corpus(HELD_OUT)) >= 4


def test_the_corpus_meets_the_aims():
    total = sum(score_corpus().values(), Score(0, 0, 0, 0, 0, 0)).figures()
    for name, aim in AIMS.items():
        assert total[name] >= aim, (name, total)


def test_every_corpus_report_is_parsed_not_refused():
    for name, s in score_corpus().items():
        assert s.parsed > 0, name
        assert s.matched / s.key >= 0.75, (name, s)


def key_of(rows):
    return pl.DataFrame(rows, schema={"time": pl.Datetime("us", "UTC"), "source": pl.String,
                                      "kind": pl.String, "status": pl.String}, orient="row")


def test_the_scorer_notices_what_is_wrong():
    t0 = dt.datetime(2021, 1, 1, 12, 0, tzinfo=dt.UTC)
    key = key_of([(t0, "narrative", "trigger", None),
                  (t0 + dt.timedelta(minutes=5), "narrative", "detection", None),
                  (t0 + dt.timedelta(minutes=9), "status_update", "communication", "identified")])
    assert score(key, key).figures() == {"recall": 1.0, "precision": 1.0, "kind": 1.0,
                                         "status": 1.0}
    wrong = key_of([(t0 + dt.timedelta(seconds=30), "narrative", "impact", None),
                    (t0 + dt.timedelta(minutes=9), "status_update", "communication",
                     "resolved"),
                    (t0 + dt.timedelta(minutes=30), "narrative", "recovery", None)])
    got = score(wrong, key).figures()
    assert got == pytest.approx({"recall": 2 / 3, "precision": 2 / 3, "kind": 0.5,
                                 "status": 0.0})
    # two minutes off is a different event, and a narrative row never pairs with an update
    late = key.with_columns(pl.col("time") + dt.timedelta(minutes=2))
    assert score(late, key).matched == 0
