"""Bad input gets a ReportParseError that says what is missing and how to supply it; no input
crashes the parser otherwise (its speed is measured in benchmarks/parser.py)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlab import IncidentlabError, ReportParseError, parse_report, report_text
from incidentlab.reports import EVENT_SCHEMA, MAX_BYTES, parse_report_with_warnings


@pytest.mark.parametrize(("text", "message"), [
    ("", r"report text is empty; pass the text of an incident report"),
    ("  \n\t\n", r"report text is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", r"not UTF-8 text \(byte 0x89 at offset 0\)"),
    ("At 11:38\x00 UTC on 2017-03-20", r"looks binary \(NUL character at offset 8\)"),
    (b"At 11:38\x00 UTC on 2017-03-20", r"looks binary \(NUL character at offset 8\)"),
    ("\x01\x02\x03\x04\x05\x06" * 50, r"looks binary \(300 control characters"),
    ("We had an outage on Monday. It was bad; sorry.", r"no times found in the report"),
    ("At 11:38 UTC a node failed.", r"no date found for '11:38 UTC' on line 1; pass date="),
    ("Intro.\n\nAt 11:38 on March 20 a node failed. All times are UTC.",
     r"no year for the date 'March 20' on line 3; pass date="),
    ("On 2017-03-20 at 11:38 a node failed.", r"no time zone found for '11:38' on line 1; "
                                              r"pass tz='UTC'"),
    ("All times are XYZ.\n\nOn 2017-03-20 at 11:38 a node failed.",
     r"unknown time zone 'XYZ' on line 1"),
    (12345, r"report must be str \(or UTF-8 bytes\), got int"),
])
def test_bad_input_says_what_is_missing(text, message):
    with pytest.raises(ReportParseError, match=message):
        parse_report(text)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"date": "2017-13-01"}, r"date='2017-13-01' is not a date; pass date='YYYY-MM-DD'"),
    ({"date": "yesterday"}, r"date='yesterday' is not a date"),
    ({"tz": "Mars/Olympus"}, r"tz='Mars/Olympus' is not a time zone I know"),
    ({"tz": "XYZ"}, r"tz='XYZ' is not a time zone I know; pass an abbreviation such as UTC"),
    ({"tz": "+15:00"}, r"tz='\+15:00' is not a time zone"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ReportParseError, match=message):
        parse_report("At 11:38 a node failed.", **kwargs)


def test_errors_are_in_the_family():
    assert issubclass(ReportParseError, IncidentlabError)
    assert issubclass(ReportParseError, ValueError)


def test_a_20_mb_text_is_refused_at_once():
    big = "At 11:38 UTC on 2017-03-20 a node failed. " * (20 * 2**20 // 42)
    with pytest.raises(ReportParseError, match=r"report is 20\.0 MiB; the limit is 10 MiB"):
        parse_report(big)
    with pytest.raises(ReportParseError, match=r"the limit is 10 MiB"):
        parse_report(big.encode())


def test_a_log_is_not_a_report():
    log = "".join(f"2017-03-20 11:{m % 60:02d}:{s:02d} UTC GET /api 200\n"
                  for m in range(60) for s in range(0, 60, 2))
    with pytest.raises(ReportParseError, match=r"1,800 clock times in .* KiB; the limit is 1,000"):
        parse_report(log)


def synthetic_report(size: int) -> str:
    """A long but plausible report: dated sections of timeline lines and prose."""
    prose = ("Engineers noticed elevated errors on the api while customers reported latency; "
             "the database primary was restarted, version 1.13.2 rolled back, and 3 of 12 "
             "nodes stayed degraded for 24 hours and 11 minutes. ") * 40
    parts, day = ["All times are UTC.\n\n"], 0
    while sum(map(len, parts)) < size:
        parts.append(f"March {day % 28 + 1}, 2019\n\n")
        parts += [f"{h:02d}:{m:02d} - The api was restarted and error rates fell again.\n"
                  for h in range(24) for m in (7, 37)]
        parts.append("\n" + prose + "\n\n")
        day += 1
    return "".join(parts)


def test_a_long_report_parses():
    # its speed is measured by `python -m benchmarks.parser`, not asserted here
    events = parse_report(synthetic_report(256 * 2**10))
    assert events.height > 500
    assert events["time"].is_sorted()


def test_the_size_limit_is_ten_mebibytes():
    assert MAX_BYTES == 10 * 2**20


# --- property: any input gives events or a ReportParseError, fast --------------------------

FRAGMENTS = [
    "11:38", "9:37AM", "2:03 PM", "12:20 a.m.", "1AM", "23:59:59", "24:00", "00:00", "99:99",
    " PDT", " PST", " UTC", " UTC+2", " XYZ", "Z", "-07:00", "-ish", "~", "around ", "by ",
    "between ", " and ", " to ", "–", " - ", "March 20", "March 20, 2017", "2017/01/31",
    "2018 October 21", "2017-02-30", "31 December 1999", "Feb 29", "on Tuesday", "the next day",
    "All times are PDT", "All times are XYZ", "(all times UTC)", "Posted Mar 20, 2017 - 16:54 PDT",
    "Posted 3 hours ago.", "Resolved", "Update - ", "Monitoring\n", "Investigating - ",
    "\n", "\n\n", ". ", ", and ", "; ", "- ", "* ", "| ", "approx. ", "every day at ", "1:30 hours",
    "version 1.13.2", "engineers restart the presence service", "status page", "crash",
    "soft-lock", "recovered", "isolated", "notice", "deployed", "DMs", "\r\n", "\t", "“", "⅓",
]
reportish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)),
                     max_size=60).map("".join)


def check(text, **kwargs) -> None:
    try:
        events = parse_report_with_warnings(text, **kwargs).events
    except ReportParseError as err:
        assert str(err)
        return
    assert list(events.schema) == list(EVENT_SCHEMA)
    assert events.height > 0
    assert events["time"].null_count() == 0
    assert events["time"].is_sorted()
    assert events.schema["services"] == pl.List(pl.String)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reportish, st.sampled_from([None, "2017-03-20"]), st.sampled_from([None, "UTC", "PDT"]))
def test_no_text_crashes_the_parser(text, date, tz):
    check(text, date=date, tz=tz)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_no_unicode_crashes_the_parser(text):
    check(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_no_bytes_crash_the_parser(data):
    check(data)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 400), st.text(max_size=30))
def test_cut_and_spliced_discord_report_never_crashes(start, length, insert):
    text = report_text()
    check(text[:start] + insert + text[start + length:])
