"""parse_report on report shapes other than Discord's: tests/reports/* and small inline texts.

The expected rows were written by reading each report, not by copying parser output; where
a label is a judgement call the comment says so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from incidentlab import parse_report

REPORTS = Path(__file__).parent / "reports"


def rows(events: pl.DataFrame) -> list[tuple]:
    """(local time, end, kind, approximate, status) per event, times as 'YYYY-MM-DD HH:MM'."""
    fmt = "%Y-%m-%d %H:%M"
    return [
        (r["time"].strftime(fmt), r["end"].strftime(fmt) if r["end"] else None, r["kind"],
         r["approximate"], r["status"])
        for r in events.iter_rows(named=True)
    ]


def parse_file(name: str, **kwargs) -> pl.DataFrame:
    return parse_report((REPORTS / name).read_text(encoding="utf-8"), **kwargs)


def test_github_style_dated_headings_and_utc_per_time():
    events = parse_file("github-2018-10-21.md")
    assert events.schema["time"].time_zone == "UTC"
    assert rows(events) == [
        # the summary's "At 22:52 UTC on October 21" restates the timeline's first entry
        ("2018-10-21 22:52", None, "trigger", False, None),
        ("2018-10-21 22:54", None, "detection", False, None),
        ("2018-10-21 23:07", None, "mitigation", False, None),
        ("2018-10-21 23:19", None, "mitigation", False, None),
        ("2018-10-22 00:05", None, "mitigation", False, None),  # "October 22" heading
        ("2018-10-22 06:51", None, "recovery", False, None),
        ("2018-10-22 23:03", None, "recovery", False, None),
    ]
    # "24 hours and 11 minutes", "43 seconds" and "100G" are not events
    assert events["line"].to_list() == [11, 14, 17, 20, 23, 26, 29]
    assert events["text"][0].startswith("2018 October 21 22:52 UTC During the network partition")
    assert events["services"].to_list()[0] == ["network", "database"]


def test_gitlab_style_slash_dates_ish_and_non_events():
    events = parse_file("gitlab-2017-01-31.md")
    assert rows(events) == [
        # context with no cue takes the default kind (impact): a known limit of keyword rules
        ("2017-01-31 16:00", None, "impact", False, None),
        ("2017-01-31 21:00", None, "trigger", False, None),   # spam, high load
        ("2017-01-31 22:00", None, "detection", False, None),  # paged
        ("2017-01-31 23:00", None, "trigger", True, None),     # "23:00-ish", rm -rf by mistake
        ("2017-01-31 23:27", None, "detection", False, None),  # sees the directory is gone
        ("2017-02-01 00:36", None, "diagnosis", False, None),
        ("2017-02-01 10:00", None, "mitigation", True, None),  # "around 10:00", restoring
        ("2017-02-01 18:14", None, "recovery", False, None),
    ]
    # backups "every day at 02:00 UTC", "take 1:30 hours", versions 9.2/9.6/8.17.0: no events
    assert not events["text"].str.contains("every day").any()
    assert events["text"][1] == ("2017/01/31 21:00: Spam hits the database, causing high load; "
                                 "the primary database starts lagging replication to db2.")


def test_cloudflare_style_hhmm_dash_list_under_a_zone_heading():
    events = parse_file("cloudflare-2019-07-02.md")
    assert events.schema["time"].time_zone == "UTC"  # "(all times UTC)"
    assert rows(events) == [
        ("2019-07-02 13:42", None, "trigger", False, None),  # "deploys a minor change"
        ("2019-07-02 13:45", None, "detection", False, None),
        ("2019-07-02 13:46", None, "detection", False, None),
        ("2019-07-02 13:48", None, "communication", False, None),
        ("2019-07-02 14:00", None, "diagnosis", False, None),
        ("2019-07-02 14:02", None, "mitigation", False, None),
        ("2019-07-02 14:07", None, "mitigation", False, None),
        ("2019-07-02 14:09", None, "recovery", False, None),
        ("2019-07-02 14:52", None, "mitigation", False, None),  # re-enabled: judgement call
    ]


def test_aws_style_twelve_hour_clock_pst():
    events = parse_file("aws-s3-2017-02-28.txt")
    assert events.schema["time"].time_zone == "Etc/GMT+8"  # PST = UTC-8
    assert events["time"][0] == dt.datetime(2017, 2, 28, 9, 37,
                                            tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    assert rows(events) == [
        ("2017-02-28 09:37", None, "trigger", False, None),  # "morning of February 28th, 2017"
        ("2017-02-28 11:37", None, "communication", False, None),  # Service Health Dashboard
        ("2017-02-28 12:26", None, "recovery", True, None),  # "By 12:26PM PST"
        ("2017-02-28 13:18", None, "recovery", True, None),  # "fully recovered by 1:18PM PST"
        ("2017-02-28 13:54", None, "recovery", False, None),
    ]
    assert events["text"][4].startswith("The placement subsystem recovered at 1:54PM PST")


def test_statuspage_newest_first_with_status_words_and_a_range():
    events = parse_file("statuspage-api-errors.txt")
    assert rows(events) == [
        # "Between 23:18 and 23:57 UTC" inside the 00:41 update: the day before its posting
        ("2023-11-03 23:18", "2023-11-03 23:57", "impact", False, None),
        ("2023-11-03 23:22", None, "communication", False, "investigating"),
        ("2023-11-03 23:40", None, "communication", False, "identified"),
        ("2023-11-03 23:58", None, "communication", False, "identified"),  # "Update"
        ("2023-11-04 00:41", None, "communication", False, "monitoring"),
        ("2023-11-04 02:03", None, "communication", False, "resolved"),
    ]
    updates = events.filter(pl.col("source") == "status_update")
    assert updates["text"][0] == (
        "We are investigating elevated error rates on the API and dashboard.")
    assert updates["line"].to_list() == [22, 18, 14, 10, 6]  # Posted lines, newest first
    # "Next update at 01:00 UTC" is a promise, not an event
    assert "2023-11-04 01:00" not in [r[0] for r in rows(events)]


def test_heading_date_rolls_past_midnight_with_a_document_zone():
    events = parse_file("ci-builds-midnight.md")
    assert events.schema["time"].time_zone == "Etc/GMT+4"  # "All times ... are EDT"
    assert rows(events) == [
        ("2019-06-11 22:47", None, "detection", False, None),
        ("2019-06-11 23:05", None, "diagnosis", False, None),
        ("2019-06-11 23:58", None, "mitigation", False, None),
        ("2019-06-12 00:20", None, "recovery", False, None),  # 12:20 AM: the next day
        ("2019-06-12 14:03", None, "followup", False, None),  # patch deployed after recovery
    ]
    # "runs at 3:00 AM every day" is a schedule
    assert events.height == 5


def test_date_and_tz_fill_what_the_text_lacks():
    text = (REPORTS / "undated-timeline.txt").read_text()
    with pytest.raises(Exception, match=r"no date found for '14:05' on line 3; pass date="):
        parse_report(text)
    with pytest.raises(Exception, match=r"no time zone found for '14:05' on line 3; pass tz="):
        parse_report(text, date="2024-05-02")
    events = parse_report(text, date=dt.date(2024, 5, 2), tz="UTC")
    assert rows(events) == [
        ("2024-05-02 14:05", None, "trigger", False, None),  # first action before detection
        ("2024-05-02 14:09", None, "detection", False, None),
        ("2024-05-02 14:20", None, "mitigation", True, None),  # "approx. 14:20"
        ("2024-05-02 14:31", None, "recovery", False, None),
    ]
    # the ISO 8601 "2024-05-02T14:05:00" repeats 14:05; "v1.13.2", "02:00 daily": no events
    assert events.height == 4
    pacific = parse_report(text, date="2024-05-02", tz="America/Los_Angeles")
    assert pacific.schema["time"].time_zone == "America/Los_Angeles"
    assert pacific["time"][0].utcoffset() == dt.timedelta(hours=-7)


# --- small inline shapes ------------------------------------------------------------------


def one(text: str, **kwargs) -> dict:
    events = parse_report(text, **kwargs)
    assert events.height == 1, rows(events)
    return events.row(0, named=True)


@pytest.mark.parametrize(("text", "hhmm", "offset_h"), [
    ("On 2019-03-01 at 9:37AM PST the api crashed.", "09:37", -8),
    ("On 2019-03-01 at 2:03 PM PDT the api crashed.", "14:03", -7),
    ("On 2019-03-01 at 12:05 a.m. EST the api crashed.", "00:05", -5),
    ("On 2019-03-01 at 1AM CET the api crashed.", "01:00", 1),
    ("2019-03-01T22:52:00Z the api crashed.", "22:52", 0),
    ("2019-03-01 22:52 UTC+2 the api crashed.", "22:52", 2),
    ("2019-03-01 22:52 IST the api crashed.", "22:52", 5.5),
])
@pytest.mark.filterwarnings("ignore::incidentlab.errors.IncidentlabWarning")  # IST
def test_clock_forms_and_zones(text, hhmm, offset_h):
    event = one(text)
    assert event["time"].strftime("%H:%M") == hhmm
    assert event["time"].utcoffset() == dt.timedelta(hours=offset_h)


def test_times_in_another_zone_are_converted_into_the_document_zone():
    text = ("All times are PDT.\n\nMarch 20, 2017\n\n"
            "At 11:38 a node fails. At 18:52 UTC the api crashed again.")
    events = parse_report(text)
    assert events.schema["time"].time_zone == "Etc/GMT+7"
    assert events["time"].dt.strftime("%H:%M").to_list() == ["11:38", "11:52"]


@pytest.mark.parametrize(("phrase", "approximate"), [
    ("at", False), ("around", True), ("about", True), ("approximately", True), ("by", True),
    ("at roughly", True), ("~", True), ("shortly after", True), ("until", False),
])
def test_approximate_words(phrase, approximate):
    assert one(f"On 2019-03-01 {phrase} 14:00 UTC the api crashed.")["approximate"] is approximate


def test_ish_suffix_is_approximate():
    assert one("On 2019-03-01 at 14:00-ish UTC the api crashed.")["approximate"] is True


@pytest.mark.parametrize("text", [
    "On 2019-03-01, between 14:18 and 14:57 UTC, the api returned errors.",
    "On 2019-03-01 from 14:18 to 14:57 UTC the api returned errors.",
    "2019-03-01 14:18–14:57 UTC: the api returned errors.",
])
def test_ranges_give_an_end(text):
    event = one(text)
    assert (event["time"].strftime("%H:%M"), event["end"].strftime("%H:%M")) == ("14:18", "14:57")


def test_range_past_midnight_ends_the_next_day():
    event = one("On 2019-03-01 from 23:50 to 00:20 UTC the api returned errors.")
    assert event["end"] - event["time"] == dt.timedelta(minutes=30)


@pytest.mark.parametrize("noise", [
    "The outage lasted 24 hours and 11 minutes.",
    "Restores usually take 1:30 hours.",
    "Backups run every day at 02:00 UTC.",
    "The job runs at 03:00 daily.",
    "We upgraded to version 1.13.2 and 10.4.17.",
    "Next update at 17:00 UTC.",
    "We will post an update by 18:30 UTC.",
    "The ratio was 3:1 and the price $12:50.",
])
def test_non_events_are_not_events(noise):
    events = parse_report(f"On 2019-03-01 at 14:00 UTC the api crashed. {noise}")
    assert events["time"].dt.strftime("%H:%M").to_list() == ["14:00"]


def test_weekday_and_next_day_advance_the_date():
    events = parse_report("On Monday, March 20, 2017 at 22:00 UTC the api crashed. "
                          "Fixes were deployed at 1AM UTC on Tuesday. The following day at "
                          "09:00 UTC we published this report.")
    # "the following day" counts from the day the text is at (Tuesday), not the incident day
    assert events["time"].dt.strftime("%m-%d %H:%M").to_list() == [
        "03-20 22:00", "03-21 01:00", "03-22 09:00"]


def test_tz_fills_only_unzoned_times():
    events = parse_report("On 2019-03-01 at 14:00 UTC the api crashed. At 14:30 it recovered.",
                          tz="PDT")
    # 14:30 carries the text's own UTC; tz= would only apply to a text with no zone
    assert events["time"].dt.strftime("%H:%M %z").to_list() == ["14:00 +0000", "14:30 +0000"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_bytes_in_unicode_encodings_are_text(encoding):
    text = "On 2019-03-01 at 14:00 UTC the api crashed — badly.\r\nAt 14:20 UTC it recovered."
    assert parse_report(text.encode(encoding)).equals(parse_report(text))


def test_minimal_statuspage_posted_lines():
    text = ("Resolved - This incident has been resolved.\nMar 1, 2019 - 15:00 UTC\n"
            "Investigating - We are looking into elevated errors.\nMar 1, 2019 - 14:10 UTC\n")
    events = parse_report(text)
    assert rows(events) == [
        ("2019-03-01 14:10", None, "communication", False, "investigating"),
        ("2019-03-01 15:00", None, "communication", False, "resolved"),
    ]
    assert events["text"].to_list() == ["We are looking into elevated errors.",
                                        "This incident has been resolved."]


def test_markdown_table_with_a_zone_in_the_header():
    text = ("# Incident 42\n\nDate: 2022-08-09\n\n| Time (UTC) | Event |\n|---|---|\n"
            "| 14:05 | Deploy of build 1.13.2 begins |\n"
            "| 14:09 | Alerts fire for elevated 5xx on the API |\n"
            "| 14:31 | Error rates back to normal |\n")
    events = parse_report(text)
    assert events.schema["time"].time_zone == "UTC"
    assert rows(events) == [
        ("2022-08-09 14:05", None, "trigger", False, None),
        ("2022-08-09 14:09", None, "detection", False, None),
        ("2022-08-09 14:31", None, "recovery", False, None),
    ]
    assert events["text"][0] == "14:05 | Deploy of build 1.13.2 begins"


def test_statuspage_postmortem_block_holds_the_timeline():
    text = ("Degraded performance for EU customers\nIncident Report for Example\n\n"
            "Postmortem\nOn June 3, 2021, EU customers saw slow page loads. All times are UTC.\n\n"
            "14:02 - A cache node fails and traffic shifts to the database.\n"
            "14:10 - Engineers notice elevated latency and begin investigating.\n"
            "14:45 - The cache node is replaced and latency recovers.\n\n"
            "Posted Jun 04, 2021 - 10:00 UTC\n\n"
            "Resolved\nThis incident has been resolved.\nPosted Jun 03, 2021 - 15:00 UTC\n\n"
            "Investigating\nWe are investigating slow page loads for EU customers.\n"
            "Posted Jun 03, 2021 - 14:15 UTC\n")
    assert rows(parse_report(text)) == [
        ("2021-06-03 14:02", None, "trigger", False, None),
        ("2021-06-03 14:10", None, "detection", False, None),
        ("2021-06-03 14:15", None, "communication", False, "investigating"),
        ("2021-06-03 14:45", None, "recovery", False, None),
        ("2021-06-03 15:00", None, "communication", False, "resolved"),
        ("2021-06-04 10:00", None, "communication", False, "postmortem"),
    ]
