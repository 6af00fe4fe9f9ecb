"""Every class of failure in issue 10, each from a text of our own (small, inline)."""

from __future__ import annotations

import json
import warnings

import polars as pl
import pytest

from incidentlab import ReportParseError
from incidentlab.reports import IncidentlabWarning, parse_report, parse_report_with_warnings


def clocks(events: pl.DataFrame, fmt: str = "%H:%M") -> list[str]:
    return events["time"].dt.strftime(fmt).to_list()


def kinds(events: pl.DataFrame) -> dict[str, str]:
    return dict(zip(clocks(events), events["kind"], strict=True))


# --- relative times -----------------------------------------------------------------------


def test_t_plus_minutes_count_from_a_stated_t0():
    text = ("Queue outage, 3 March 2022\n\nT+0 is 09:47 UTC.\n\n"
            "T+1 min - the queue depth alert fires\nT+40 min - we restart the brokers\n"
            "T+168 min - backlog drained, queue recovered\n")
    events = parse_report(text)
    assert clocks(events) == ["09:48", "10:27", "12:35"]  # the T+0 line defines, it is no event
    assert events["line"].to_list() == [5, 6, 7]


@pytest.mark.parametrize(("phrase", "expected"), [
    ("+5m - the api returns errors", "14:05"),
    ("(T+2h) the api returns errors", "16:00"),
    ("Five minutes later the api returned errors.", "14:05"),
    ("After 20 minutes the api returned errors.", "14:20"),
])
def test_relative_forms(phrase, expected):
    text = f"On 2022-03-03 at 14:00 UTC a deploy of the api began.\n\n{phrase}\n"
    assert clocks(parse_report(text)) == ["14:00", expected]


def test_later_counts_from_the_event_before_not_from_t0():
    text = ("On 2022-03-03 at 14:00 UTC a node failed. At 14:30 UTC alerts fired. "
            "Ten minutes later the on-call engineer restarted it.")
    assert clocks(parse_report(text)) == ["14:00", "14:30", "14:40"]


# --- dates that are not the incident's ------------------------------------------------------


def test_a_background_date_in_prose_does_not_date_the_timeline():
    text = ("Checkout outage — 19 May 2023\n\n"
            "On 12 May we shipped the release that later caused this outage, and nobody noticed "
            "anything for a week.\n\n"
            "14:02 UTC - checkout errors begin\n14:10 UTC - alerts fire\n"
            "Later the same day, at 18:00 UTC, the release was rolled back.\n")
    events = parse_report(text)
    assert clocks(events, "%m-%d %H:%M") == ["05-19 14:02", "05-19 14:10", "05-19 18:00"]


def test_a_year_from_a_title_range_dates_the_day_headings():
    text = ("Storage outage, October 28-31, 2021 (times UTC)\n\nOctober 29\n\n"
            "10:00 - disks fill up\n\nOctober 30\n\n09:00 - the cluster is healthy again\n")
    assert clocks(parse_report(text), "%Y-%m-%d %H:%M") == ["2021-10-29 10:00",
                                                            "2021-10-30 09:00"]


def test_a_new_day_heading_restarts_the_clock():
    text = ("Outage, 1-2 June 2020. All times UTC.\n\nJune 1\n\n22:00 - api fails\n\n"
            "June 2\n\n02:00 - api still failing\n")
    assert clocks(parse_report(text), "%d %H:%M") == ["01 22:00", "02 02:00"]


# --- status-page exports -------------------------------------------------------------------


YAML_EXPORT = """\
incident:
  name: Login errors
  started_at: 2021-10-04T15:39:00Z
  resolved_at: 2021-10-04T22:40:00Z
updates:
  - state: investigating
    at: 2021-10-04T15:50:00Z
    body: We are looking into login errors.
  - state: resolved
    at:
      2021-10-04T22:40:00Z
    body: Logins work again.
"""


def test_a_yaml_like_export_gives_status_updates_not_narrative():
    events = parse_report(YAML_EXPORT)
    assert events["source"].to_list() == ["status_update", "status_update"]
    assert events["status"].to_list() == ["investigating", "resolved"]
    assert clocks(events) == ["15:50", "22:40"]  # the metadata block is no event
    assert events["text"].to_list() == ["We are looking into login errors.", "Logins work again."]


def test_a_json_export_reads_like_the_yaml_one():
    data = {"incident": {"name": "Login errors", "status": "resolved",
                         "created_at": "2021-10-04T15:39:00Z"},
            "incident_updates": [
                {"status": "resolved", "created_at": "2021-10-04T22:40:00Z",
                 "body": "Logins work again."},
                {"status": "investigating", "created_at": "2021-10-04T15:50:00Z",
                 "body": "We are looking into login errors."}]}
    events = parse_report(json.dumps(data))
    assert events["status"].to_list() == ["investigating", "resolved"]
    assert clocks(events) == ["15:50", "22:40"]


def test_rendered_statuspage_markdown():
    text = ("### Resolved\nThis incident has been resolved.\n*Mar 15, 2023 - 00:31 UTC*\n\n"
            "### Investigating\nWe are investigating errors.\n*Mar 14, 2023 - 19:24 UTC*\n")
    events = parse_report(text)
    assert events["status"].to_list() == ["investigating", "resolved"]


# --- wrapped prose ---------------------------------------------------------------------------


def test_a_time_wrapped_onto_the_next_line_stays_in_its_clause():
    text = ("On 3 March 2022 the api failed from 10:40 a.m. PST. Engineers posted on the "
            "status page at\n11:02 a.m. PST. The api recovered at 11:30 a.m. PST.\n")
    events = parse_report(text)
    assert clocks(events) == ["10:40", "11:02", "11:30"]
    assert events["text"][1] == "Engineers posted on the status page at 11:02 a.m. PST."
    assert events["kind"][1] == "communication"


def test_a_time_followed_by_any_subject_is_an_event():
    text = "Game outage, 31 October 2021, times UTC.\n\nAt 16:45\nevery player could play again.\n"
    events = parse_report(text)
    assert clocks(events) == ["16:45"] and events["kind"][0] == "recovery"
    # "every day" after a time is still a schedule
    assert clocks(parse_report(text + "Backups run at 02:00 every day.\n")) == ["16:45"]


# --- kinds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("sentence", "kind"), [
    ("the provisioning service failed and no new VMs could start", "impact"),
    ("an error spike hit the api", "impact"),
    ("engineers removed the bad firewall rule", "mitigation"),
    ("the team decided to restore from the nightly backup", "mitigation"),
    ("the feature flag was turned off", "mitigation"),
    ("request rates were back at expected levels", "recovery"),
    ("the dashboard was usable again", "recovery"),
    ("the first customers were let back in", "recovery"),
    ("the first page arrives for the on-call engineer", "detection"),
    ("an incident is declared", "detection"),
    ("the post-incident review was held", "followup"),
    ("the api had not yet recovered", "impact"),
    ("no alert fired while the api was failing", "impact"),
])
def test_kind_cues_read_the_clause(sentence, kind):
    text = (f"On 2022-03-03 at 14:00 UTC a bad deploy broke the api. At 14:05 UTC alerts fired. "
            f"At 14:30 UTC {sentence}.")
    events = parse_report(text)
    assert events["kind"][-1] == kind, events["kind_reason"][-1]
    assert events["kind_reason"][-1]


def test_nothing_recovers_before_it_went_wrong():
    text = ("On 2022-03-03 at 09:00 UTC the nightly job was restored from its new image. "
            "At 14:00 UTC the api crashed. At 14:30 UTC the api recovered.")
    events = parse_report(text)
    assert events["kind"].to_list()[0] != "recovery"
    assert events["kind_confidence"][0] < 0.5
    assert "before anything went wrong" in events["kind_reason"][0]


def test_confidence_is_lower_where_the_words_disagree():
    text = ("On 2022-03-03 at 14:00 UTC alerts fired for the api. At 14:10 UTC something "
            "happened to the api. At 14:20 UTC engineers restarted the api, which recovered.")
    conf = dict(zip(clocks(parse_report(text)), parse_report(text)["kind_confidence"],
                    strict=True))
    assert conf["14:00"] > conf["14:20"] > conf["14:10"]


# --- warnings, not silence -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ("On 2022-03-03 at 14:00 CST the api crashed.", "'CST' on line 1 is ambiguous"),
    ("On 2022-03-03 at 14:00 IST the api crashed.", "'IST' on line 1 is ambiguous"),
    ("On 2022-03-03 at 14:00 UTC the api crashed. At 25:61 UTC it recovered.",
     "impossible time '25:61' on line 1 ignored"),
    ("On 2022-03-03 at 24:00 UTC the api crashed.", "read as midnight at the end of its day"),
    ("Outage of 31 December 2021. All times UTC.\n\nDecember 31\n\n23:50 - api fails\n\n"
     "January 1\n\n00:20 - api recovers\n", "read as 2022"),
])
def test_guesses_are_warned_about_and_the_parse_goes_on(text, words):
    parsed = parse_report_with_warnings(text)
    assert parsed.events.height >= 1
    assert any(words in w for w in parsed.warnings), parsed.warnings
    with pytest.warns(IncidentlabWarning, match=words.replace("(", r"\(")):
        parse_report(text)


def test_twenty_four_hundred_is_the_next_midnight():
    events = parse_report_with_warnings("On 2022-03-03 at 24:00 UTC the api crashed.").events
    assert clocks(events, "%d %H:%M") == ["04 00:00"]


def test_a_clean_report_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_report("On 2022-03-03 at 14:00 UTC the api crashed.")


# --- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["+05:99", "UTC+05:60", "-99:00", "+15:00", "PDT\x00", "\ud800"])
def test_impossible_offsets_are_refused(tz):
    with pytest.raises(ReportParseError, match="is not a time zone"):
        parse_report("At 11:38 a node failed.", date="2022-03-03", tz=tz)


def test_an_offset_in_the_text_with_impossible_minutes_is_not_a_zone():
    with pytest.raises(ReportParseError, match="no time zone found"):
        parse_report("On 2022-03-03 at 11:38 +05:99 a node failed.")


def test_a_json_lines_export():
    lines = [{"status": "investigating", "created_at": "2021-07-22T15:53:00Z",
              "body": "We are looking into DNS errors."},
             {"status": "resolved", "created_at": "2021-07-22T17:25:00Z",
              "body": "DNS answers normally again."}]
    events = parse_report("\n".join(json.dumps(x) for x in lines))
    assert events["status"].to_list() == ["investigating", "resolved"]
    assert events["source"].unique().to_list() == ["status_update"]


@pytest.mark.parametrize(("text", "day"), [
    ("Outage of 04.10.2021 (UTC)\n\n15:39 - api fails\n", "2021-10-04"),
    ("Incident on 10/4/2021 (times UTC)\n\n3:39 PM - api fails\n", "2021-10-04"),
    ("Incident on 25/4/2021 (times UTC)\n\n3:39 PM - api fails\n", "2021-04-25"),
    ("Outage 2021-10-04, times UTC\n\n~15:40 - api fails\n", "2021-10-04"),
])
def test_more_date_and_zone_lines(text, day):
    events = parse_report_with_warnings(text).events
    assert events["time"].dt.strftime("%Y-%m-%d").to_list() == [day]
    assert events.schema["time"].time_zone == "UTC"


def test_a_month_first_slash_date_is_read_with_a_warning():
    parsed = parse_report_with_warnings("Incident on 10/4/2021 (times UTC)\n\n15:39 - api fails\n")
    assert any("month first (US)" in w for w in parsed.warnings)


def test_a_zone_written_only_in_metadata_still_zones_the_report():
    text = ("Date: Mon, 4 Oct 2021 15:39:00 +0000\nSubject: outage\n\n"
            "At 15:45 the api failed. At 16:10 it recovered.\n")
    events = parse_report(text)
    assert clocks(events) == ["15:45", "16:10"]  # the header's time is metadata, its zone holds
    assert events.schema["time"].time_zone == "UTC"
