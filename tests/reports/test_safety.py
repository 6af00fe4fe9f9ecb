"""Every `date=`/`tz=` value and every text either parses or raises ReportParseError."""

from __future__ import annotations

import datetime as dt
import warnings

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlab import ReportParseError
from incidentlab.reports import (
    EVENT_SCHEMA,
    IncidentlabWarning,
    parse_report,
    parse_report_with_warnings,
)

TEXTS = [
    "At 23:59 the api crashed. The next day at 00:10 it recovered.",
    "At 00:01 +14:00 the api crashed. At 23:59 -12:00 it recovered.",
    "T+0 is 23:00. T+90 min the api crashed. (T+2h) it recovered.",
    "December 31\n\n23:59 - api crashed\n\nJanuary 1\n\n00:10 - api recovered",
    "On Sunday at 01:00 the api crashed. Posted 02:00",
]
OFFSET = st.builds(lambda sign, h, m: f"{sign}{h:02d}:{m:02d}", st.sampled_from("+-"),
                   st.integers(0, 99), st.integers(0, 99))
TZ = st.one_of(st.none(), OFFSET, st.sampled_from(
    ["UTC", "PDT", "CST", "IST", "America/Los_Angeles", "Pacific/Kiritimati", "Etc/GMT+12",
     "", "Z", "UTC+14", "GMT-12", "\x00", "\ud800", "../../etc/passwd", "+05:99"]),
               st.text(max_size=8))
DATE = st.one_of(st.none(), st.dates(), st.sampled_from(
    ["0001-01-01", "9999-12-31", "2017-02-29", "2020-02-29", "", "\ud800", "0000-01-01"]),
                 st.text(max_size=10), st.datetimes())
PIECES = st.sampled_from(["\ud800", "\udfff", "\x00", "25:61", "24:00", "+05:99", " CST",
                          "T+99999 min", "after 9999 hours", "31 December 9999", "1 January 1900",
                          "\n", "12:00 UTC", " – "])


def check(text, date=None, tz=None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncidentlabWarning)  # warnings come back, not raised
        try:
            events = parse_report_with_warnings(text, date=date, tz=tz).events
        except ReportParseError as err:
            assert str(err)
            return
    assert list(events.schema) == list(EVENT_SCHEMA)
    assert events["time"].null_count() == 0 and events["time"].is_sorted()
    assert events["kind_confidence"].is_between(0, 1).all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TEXTS), DATE, TZ)
def test_every_date_and_tz_parses_or_is_refused(text, date, tz):
    check(text, date=date, tz=tz)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(PIECES, st.sampled_from(TEXTS), st.text(max_size=6)), max_size=12)
       .map("".join), st.sampled_from([None, "0001-01-01", "9999-12-31", "2017-03-20"]),
       st.sampled_from([None, "+14:00", "-12:00", "UTC"]))
def test_extreme_texts_parse_or_are_refused(text, date, tz):
    check(text, date=date, tz=tz)


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize("text", TEXTS)
def test_the_ends_of_the_calendar(text, date):
    check(text, date=date, tz="+14:00")
    check(text, date=date, tz="-12:00")


def test_tz_offset_minutes_must_be_below_sixty():
    with pytest.raises(ReportParseError, match=r"tz='\+05:99' is not a time zone"):
        parse_report(TEXTS[0], date="2017-03-20", tz="+05:99")
    ok = parse_report(TEXTS[0], date="2017-03-20", tz="+05:45")
    assert ok["time"][0].utcoffset() == dt.timedelta(hours=5, minutes=45)


def test_a_lone_surrogate_is_replaced_with_a_warning():
    parsed = parse_report_with_warnings("On 2017-03-20 at 11:38 UTC the api\ud800 crashed.")
    assert "\ufffd" in parsed.events["text"][0]
    assert any("lone surrogate" in w for w in parsed.warnings)
    assert parsed.events.schema["text"] == pl.String


def test_nul_is_refused():
    with pytest.raises(ReportParseError, match="NUL"):
        parse_report("On 2017-03-20 at 11:38 UTC\x00 the api crashed.")
