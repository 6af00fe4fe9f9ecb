"""The bundled Discord report parses to the hand-labelled answer key (data/*.events.csv)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import incidentlab
from benchmarks.parser import match
from incidentlab.reports import EVENT_SCHEMA, KINDS, STATUSES

PDT = dt.timezone(dt.timedelta(hours=-7))


def scores(parsed: pl.DataFrame, key: pl.DataFrame) -> dict[str, float]:
    pairs = match(parsed, key)
    return {
        "precision": len(pairs) / parsed.height,
        "recall": len(pairs) / key.height,
        "kind_agreement": sum(a["kind"] == b["kind"] for a, b in pairs) / len(pairs),
        "status_agreement": sum(a["status"] == b["status"] for a, b in pairs) / len(pairs),
        "services_agreement": sum(set(a["services"]) == set(b["services"]) for a, b in pairs)
        / len(pairs),
    }


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return incidentlab.load_report("discord-2017-03-20")


@pytest.fixture(scope="module")
def key() -> pl.DataFrame:
    return incidentlab.answer_key("discord-2017-03-20")


def test_parser_matches_the_answer_key(events, key):
    s = scores(events, key)
    assert s["precision"] == 1.0
    assert s["recall"] == 1.0
    assert s["kind_agreement"] >= 0.9
    # today every label agrees; keep it that way unless a label is argued in PROVENANCE.md
    assert s == {"precision": 1.0, "recall": 1.0, "kind_agreement": 1.0,
                 "status_agreement": 1.0, "services_agreement": 1.0}


def test_scores_fall_when_the_parser_is_wrong(events, key):
    # the scorer is not vacuous: drop an event and relabel one, the scores notice
    worse = events.slice(1).with_columns(
        pl.when(pl.col("line") == 25).then(pl.lit("impact")).otherwise("kind").alias("kind"))
    s = scores(worse, key)
    assert s["recall"] == 29 / 30 and s["precision"] == 1.0
    assert s["kind_agreement"] == 28 / 29
    late = events.with_columns(pl.col("time") + dt.timedelta(minutes=7))
    assert scores(late, key)["recall"] < 0.5


def test_events_schema_is_the_contract(events, key):
    names = list(EVENT_SCHEMA)
    assert events.columns == names and key.columns == names
    assert events.schema == key.schema
    assert events.schema["time"] == pl.Datetime("us", "Etc/GMT+7")  # PDT, fixed UTC-7
    assert events["time"].is_sorted()
    assert set(events["kind"]) <= set(KINDS)
    assert set(events["status"].drop_nulls()) <= set(STATUSES)
    assert events["text"].str.len_chars().min() > 0


def test_every_row_equals_the_key_except_text(events, key):
    guesses = ["text", "kind_confidence", "kind_reason"]
    assert events.drop(guesses).equals(key.drop(guesses))
    assert events["kind_confidence"].is_between(0, 1).all()
    assert events["kind_reason"].null_count() == 0


def test_key_counts(key):
    # 22 narrative events (11:38 ... 16:54, 13:44 and 13:45 apart, 16:23 and 16:24 apart,
    # 1AM Tuesday) and 8 status updates (the postmortem + 7 updates)
    assert key.filter(pl.col("source") == "narrative").height == 22
    assert key.filter(pl.col("source") == "status_update").height == 8
    assert key.filter(pl.col("kind") == "trigger")["time"].dt.strftime("%H:%M").to_list() == [
        "11:38", "13:34", "14:52"]


def test_summary_times_are_not_duplicated(events):
    narrative = events.filter(pl.col("source") == "narrative")
    assert narrative["time"].is_unique().all()
    at = {t.strftime("%H:%M"): txt for t, txt in zip(narrative["time"], narrative["text"],
                                                      strict=True)}
    # the Sequence's 13:56 and 14:52 are kept, the summary's restatements are not
    assert at["13:56"].startswith("By 13:56 service has mostly recovered")
    assert at["14:52"].startswith("At 14:52 the presence server")
    # the 11:38 event ends before the summary's recap sentence
    assert at["11:38"].endswith("ran out of available memory and crashed.")


def test_texts_carry_the_operator_actions(events):
    # Scenario.from_events finds operator actions by text: untimed sentences stay with the
    # event before them
    at = {(t.strftime("%H:%M"), s): txt for t, s, txt in
          zip(events["time"], events["source"], events["text"], strict=True)}
    assert at[("16:04", "narrative")].endswith(
        "Engineers yet again globally disable message sending in an attempt to shed load.")
    assert "This misbehaving server is rebooted" in at[("16:10", "narrative")]
    assert at[("13:41", "narrative")] == (
        "At 13:41 engineers globally disable sending messages on Discord.")
    assert at[("13:45", "narrative")] == "and at 13:45 engineers began the reboot process."
    assert "message sending is enabled" in at[("16:40", "narrative")]
    assert "fast-fail" in at[("01:00", "narrative")]


def test_dates_zone_and_lines(events):
    first, followup, postmortem = (events.row(0, named=True),
                                   events.filter(pl.col("kind") == "followup").row(0, named=True),
                                   events.row(-1, named=True))
    assert first["time"] == dt.datetime(2017, 3, 20, 11, 38, tzinfo=PDT)
    assert first["line"] == 9
    assert followup["time"] == dt.datetime(2017, 3, 21, 1, 0, tzinfo=PDT)  # 1AM on Tuesday
    assert postmortem["status"] == "postmortem"
    assert postmortem["time"] == dt.datetime(2017, 3, 21, 16, 15, tzinfo=PDT)
    assert postmortem["line"] == 29


def test_status_updates_take_their_own_posted_time(events):
    updates = events.filter(pl.col("source") == "status_update")
    got = [(t.strftime("%m-%d %H:%M"), s) for t, s in zip(updates["time"], updates["status"],
                                                          strict=True)]
    assert got == [
        ("03-20 11:51", "investigating"), ("03-20 13:44", "identified"),
        ("03-20 14:07", "monitoring"), ("03-20 15:12", "investigating"),
        ("03-20 15:47", "identified"), ("03-20 16:20", "identified"),
        ("03-20 16:54", "resolved"), ("03-21 16:15", "postmortem"),
    ]
    # the body precedes its Posted line
    assert updates.filter(pl.col("status") == "monitoring")["text"][0] == (
        "A fix has been implemented and we are monitoring the results.")
    assert (updates.filter(pl.col("status") == "resolved")["text"][0]
            .startswith("We look to be back to nominal operation."))


def test_report_text_is_the_bundled_file():
    text = incidentlab.report_text()
    assert text.startswith("Connectivity Issues\nIncident Report for Discord")
    assert "Posted Mar 20, 2017 - 11:51 PDT" in text


def test_unknown_bundled_name_is_a_clear_error():
    with pytest.raises(incidentlab.ReportParseError, match="available: discord-2017-03-20"):
        incidentlab.load_report("discord-2099")
