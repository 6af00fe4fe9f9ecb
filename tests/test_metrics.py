"""incident_metrics on the Discord report, checked against minutes worked out by hand."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

import incidentlab
from incidentlab import ReportParseError, incident_metrics

PDT = dt.timezone(dt.timedelta(hours=-7))


@pytest.fixture(scope="module")
def metrics():
    return incident_metrics(incidentlab.load_report())


def test_discord_milestones_by_hand(metrics):
    # first trigger 11:38 (a presence node leaves its cluster)
    assert metrics.start == dt.datetime(2017, 3, 20, 11, 38, tzinfo=PDT)
    # 11:39 engineers notice: 1 min
    assert metrics.minutes_to_detect == 1
    # 11:51 first status update ("investigating"): 13 min
    assert metrics.minutes_to_first_update == 13
    # 13:56 service mostly recovered: 2 h 18 min = 138 min
    assert metrics.minutes_to_first_recovery == 138
    # 16:54 status "resolved": 5 h 16 min = 316 min
    assert metrics.minutes_to_resolution == 316
    # triggers at 13:34 and 14:52 after the first
    assert metrics.recurrences == 2


def test_discord_update_lags_by_hand(metrics):
    lags = metrics.update_lags
    assert lags.columns == ["posted", "status", "update", "event_time", "event_kind",
                            "event_text", "lag_min"]
    got = [(p.strftime("%d %H:%M"), s, e.strftime("%d %H:%M") if e else None, k, lag)
           for p, s, e, k, lag in lags.select("posted", "status", "event_time", "event_kind",
                                              "lag_min").iter_rows()]
    assert got == [
        # investigating reports detection/impact: 11:50 OOM crashes, 1 min before
        ("20 11:51", "investigating", "20 11:50", "impact", 1.0),
        # identified reports a diagnosis; none had been made by 13:44 or 15:47
        ("20 13:44", "identified", None, None, None),
        # monitoring reports mitigation/recovery: 13:56 recovered, 11 min before 14:07
        ("20 14:07", "monitoring", "20 13:56", "recovery", 11.0),
        # 14:54 engineers notice again -> 15:12: 18 min
        ("20 15:12", "investigating", "20 14:54", "detection", 18.0),
        ("20 15:47", "identified", None, None, None),
        # 16:10 isolated to one server's soft locks -> 16:20: 10 min
        ("20 16:20", "identified", "20 16:10", "diagnosis", 10.0),
        # 16:40 mostly recovered -> 16:54 resolved: 14 min
        ("20 16:54", "resolved", "20 16:40", "recovery", 14.0),
        # postmortem reports the last event, the 1AM deploy: 15 h 15 min = 915 min
        ("21 16:15", "postmortem", "21 01:00", "followup", 915.0),
    ]


def test_answer_key_gives_the_same_metrics(metrics):
    key = incident_metrics(incidentlab.answer_key())
    assert key == metrics
    assert key.update_lags.drop("update", "event_text").equals(
        metrics.update_lags.drop("update", "event_text"))


def test_as_dict_is_json_ready(metrics):
    data = json.loads(json.dumps(metrics.as_dict()))
    assert data["start"] == "2017-03-20T11:38:00-07:00"
    assert data["minutes_to_resolution"] == 316
    assert data["update_lags"][0]["posted"] == "2017-03-20T11:51:00-07:00"
    assert data["update_lags"][1]["event_time"] is None
    assert len(data["update_lags"]) == 8


def test_str_is_a_readable_table(metrics):
    text = str(metrics)
    assert "time to first recovery  138 min (2 h 18 min)" in text
    assert "recurrences             2" in text
    assert ("2017-03-20 16:54 -07:00 resolved      2017-03-20 16:40 -07:00 recovery    14 min"
            in text)
    assert max(map(len, text.splitlines())) <= 100


def test_without_status_updates_the_first_communication_counts():
    events = incidentlab.load_report().filter(pl.col("source") == "narrative")
    m = incident_metrics(events)
    # 11:51 "engineers alert our support team": still 13 min; resolution falls back to the
    # last recovery, 16:40: 302 min
    assert m.minutes_to_first_update == 13
    assert m.minutes_to_resolution == 302
    assert m.update_lags.height == 0


def test_missing_milestones_are_none():
    events = incidentlab.load_report().filter(pl.col("kind").is_in(["trigger", "impact"]))
    m = incident_metrics(events)
    assert (m.minutes_to_detect, m.minutes_to_first_update, m.minutes_to_first_recovery,
            m.minutes_to_resolution) == (None, None, None, None)
    assert "time to detect          -" in str(m)


def test_missing_columns_are_named():
    with pytest.raises(ReportParseError, match=r"lacks column\(s\) \['kind'\]"):
        incident_metrics(incidentlab.load_report().drop("kind"))


def test_no_trigger_is_a_clear_error():
    events = incidentlab.load_report().filter(pl.col("kind") != "trigger")
    with pytest.raises(ReportParseError, match=r"no trigger event among 27 events"):
        incident_metrics(events)
    with pytest.raises(ReportParseError, match=r"no trigger event among 0 events"):
        incident_metrics(events.clear())


def test_not_a_frame_or_not_times():
    with pytest.raises(ReportParseError, match=r"needs a polars DataFrame of events, got list"):
        incident_metrics([])
    bad = incidentlab.load_report().with_columns(pl.col("time").dt.to_string())
    with pytest.raises(ReportParseError, match=r"column 'time' is String, not a Datetime"):
        incident_metrics(bad)
