"""Each stage of the parser alone: what it takes, what it gives."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from incidentlab.reports import classify, clock, dating, segment
from incidentlab.reports.cues import KIND_CUES, KINDS
from incidentlab.reports.source import Source


def test_source_indexes_lines_and_sentences():
    src = Source("First line. Second sentence.\nApprox. 14:00 the api crashed.")
    assert src.line_of(0) == 1 and src.line_of(30) == 2
    assert src.line_span(2) == (29, len(src.text))
    # "Approx." ends no sentence
    assert src.sentence_start(40, 0) == 29


def test_clock_finds_times_ranges_and_skips_durations():
    src = Source("Between 14:18 and 14:57 UTC errors; restores take 1:30 hours; at 9:37AM PST.")
    found = clock.clock_mentions(src)
    assert [(m.clock, m.zone) for m in found] == [(14 * 60 + 18, "UTC"), (9 * 60 + 37, "PST")]
    assert found[0].end_mention.clock == 14 * 60 + 57


def test_clock_finds_relative_times_and_the_t0_definition():
    src = Source("T+0 is 09:47 UTC.\nT+40 min: restart.\nFive minutes later it recovered.")
    rel = clock.relative_mentions(src)
    assert [(m.offset_s, m.from_t0) for m in rel] == [(2400.0, True), (300.0, False)]
    assert [m.anchor for m in clock.clock_mentions(src)] == [True]


def test_clock_finds_dates_with_ranges_and_relative_days():
    src = Source("October 28-31, 2021. On Monday, the next day, the same day, 2021-10-29.")
    got = [(d.year, d.month, d.day, d.kind) for d in clock.date_mentions(src)]
    assert got == [(2021, 10, 28, "abs"), (None, 0, 0, "wd0"), (None, 0, 0, "next"),
                   (None, 0, 0, "same"), (2021, 10, 29, "abs")]


def test_segment_reads_export_records():
    text = "- state: identified\n  at: 2021-10-04T19:10:00Z\n  body: Cause found.\n"
    src = Source(text)
    mentions = clock.clock_mentions(src)
    postings, metadata = segment.export_postings(src, mentions)
    assert [(p.status_word, p.body, p.mention.line) for p in postings] == [
        ("identified", "Cause found.", 2)]
    assert postings[0].mentions == (mentions[0],) and not metadata


def test_segment_joins_a_wrapped_line_to_its_paragraph():
    src = Source("The page went out at\n11:02 UTC.\n11:30 UTC - recovered\n")
    narrative = clock.clock_mentions(src)
    para = segment.paragraphs(src, narrative)
    assert para[narrative[0]][0] == 0  # 11:02 belongs to the paragraph of line 1
    assert para[narrative[1]][0] == src.line_starts[2]  # a timeline line starts its own


def test_dating_keeps_background_prose_dates_out():
    src = Source("Outage of 19 May 2023\n\nOn 12 May we shipped the release that broke it, "
                 "and it waited a week.\n\n14:02 - errors\n")
    mentions = clock.clock_mentions(src)
    dates = clock.date_mentions(src)
    carried = dating.carried_dates(src, dates, mentions)
    assert [(d.month, d.day) for d in carried] == [(5, 19)]
    para = segment.paragraphs(src, mentions)
    date_of = dating.resolve_dates(src, carried, mentions, [], dates, para)
    assert date_of == {mentions[0]: dt.date(2023, 5, 19)}


def test_segment_cuts_clauses_and_dedupes_a_time_told_twice():
    src = Source("Summary: it recovered around 13:56 UTC.\n\n13:56 UTC - service recovered\n")
    mentions = clock.clock_mentions(src)
    para = segment.paragraphs(src, mentions)
    clause = segment.clauses(src, mentions, para)
    assert [clause[m].score for m in mentions] == [0, 2]
    instant = dict.fromkeys(mentions, dt.datetime(2024, 1, 1, 13, 56, tzinfo=dt.UTC))
    assert segment.dedupe(mentions, instant, clause) == {mentions[0]}


def test_classify_reads_one_clause():
    guess = classify.read_kind(classify.cue_text("the on-call engineer was paged"))
    assert guess.kind == "detection" and "paged" in guess.reason
    assert classify.read_kind(classify.cue_text("lunch was served")) is None
    denied = classify.read_kind(classify.cue_text("the api has not yet recovered"))
    assert denied.kind == "impact"
    both = classify.read_kind(classify.cue_text("engineers restarted it and it recovered"))
    assert both.kind == "recovery" and both.runner_up == "mitigation"
    assert both.confidence < classify.read_kind(classify.cue_text("it recovered")).confidence


def test_cue_tables_are_readable_data():
    for group in KIND_CUES:
        assert group.kind in KINDS and group.why and 0 < group.weight <= 1
        for word in group.words:
            assert re.compile(word).pattern == word
    weights = [g.weight for g in KIND_CUES]
    assert weights == sorted(weights, reverse=True)  # heavier groups first, as matched


def test_a_parse_leaves_the_cycle_collector_as_it_found_it():
    import gc

    from incidentlab.errors import ReportParseError
    from incidentlab.reports import parse_report

    assert gc.isenabled()
    parse_report("14:00 UTC the api crashed", date="2020-01-01")
    assert gc.isenabled()
    with pytest.raises(ReportParseError):
        parse_report("no times here")
    assert gc.isenabled()
    gc.disable()
    try:
        parse_report("14:00 UTC the api crashed", date="2020-01-01")
        assert not gc.isenabled()
    finally:
        gc.enable()
