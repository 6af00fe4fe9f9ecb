"""Each checker gives useful feedback: what is right on a right answer, a specific hint on a
wrong one, a gentle prompt when there is no answer yet, and CheckError for a wrong type."""

import datetime as dt

import polars as pl
import pytest

import incidentlab as il
from incidentlab import CheckError, check


@pytest.fixture(scope="module")
def events():
    return il.load_report("discord-2017-03-20")


def _hints(feedback) -> str:
    return " ".join(feedback.next)


def test_no_answer_yet_points_to_the_variable_and_the_solution():
    fb = check.lesson1.time_to_detect(None)
    assert fb.passed is None and not fb
    assert "time_to_detect_min" in _hints(fb)
    assert "%load solutions/01_time_to_detect.py" in _hints(fb)


def test_feedback_renders_as_text_and_markdown():
    fb = check.lesson1.recurrences(2)
    assert str(fb).startswith("01.recurrences: right.")
    assert fb._repr_markdown_().startswith("✅")


def test_mitigations(events):
    right = events.filter(pl.col("kind") == "mitigation").sort("time")
    fb = check.lesson1.mitigations(right)
    assert fb and any("in time order" in r for r in fb.right)
    fb = check.lesson1.mitigations(right.sort("time", descending=True))
    assert not fb and "sort" in _hints(fb)
    fb = check.lesson1.mitigations(events.filter(pl.col("kind") != "followup"))
    assert not fb and "communication" in _hints(fb)
    fb = check.lesson1.mitigations(right.head(2))
    missing = f"{right.height - 2} of the {right.height} mitigations are missing"
    assert not fb and missing in _hints(fb)
    fb = check.lesson1.mitigations(right.select("time"))
    assert not fb and "filter" in _hints(fb)
    with pytest.raises(CheckError, match=r"polars DataFrame.*collect"):
        check.lesson1.mitigations(right.lazy())
    with pytest.raises(CheckError, match="polars DataFrame"):
        check.lesson1.mitigations([1, 2])


def test_time_to_detect_accepts_minutes_or_timedelta_and_spots_mixups():
    assert check.lesson1.time_to_detect(1)
    assert check.lesson1.time_to_detect(dt.timedelta(seconds=60))
    fb = check.lesson1.time_to_detect(13)
    assert not fb and "status update" in _hints(fb)
    fb = check.lesson1.time_to_detect(60)
    assert not fb and "units" in _hints(fb)
    fb = check.lesson1.time_to_detect(-1)
    assert not fb and "sign" in _hints(fb)
    with pytest.raises(CheckError, match=r"number of minutes.*got str"):
        check.lesson1.time_to_detect("1")
    with pytest.raises(CheckError, match="got bool"):
        check.lesson1.time_to_detect(True)


def test_time_to_first_update(events):
    first = events.filter(pl.col("source") == "status_update")["time"].min()
    trigger = events.filter(pl.col("kind") == "trigger")["time"].min()
    assert check.lesson1.time_to_first_update(first - trigger)
    fb = check.lesson1.time_to_first_update(1)
    assert not fb and "time to detect" in _hints(fb)
    fb = check.lesson1.time_to_first_update((first - trigger).total_seconds())
    assert not fb and "60 times" in _hints(fb)


def test_recurrences(events):
    triggers = events.filter(pl.col("kind") == "trigger").height
    assert check.lesson1.recurrences(triggers - 1)
    fb = check.lesson1.recurrences(triggers)
    assert not fb and "first trigger too" in _hints(fb)
    assert not check.lesson1.recurrences(0)
    with pytest.raises(CheckError, match=r"\.height"):
        check.lesson1.recurrences(events)
    with pytest.raises(CheckError, match="int"):
        check.lesson1.recurrences(2.0)
