"""The pipeline: text -> Source -> times and dates -> segments -> dates and instants -> kinds
-> the events table. Each stage is a function of the stages before it (see the modules).

Warnings (ambiguous zones, impossible times, 24:00, a year taken from further down, a lone
surrogate) never stop a parse: `parse_report_with_warnings` returns them beside the events,
and `parse_report` issues each as an `IncidentlabWarning` (the CLI prints them on stderr).
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import warnings as pywarnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from incidentlab.errors import IncidentlabWarning, ReportParseError
from incidentlab.gcpause import cycle_collector_paused
from incidentlab.reports import classify, clock, dating, segment
from incidentlab.reports.source import Source, as_text

if TYPE_CHECKING:
    import polars as pl

# A report, not a log: at most this many times, plus this many per KiB of text. Discord's report
# has 3 per KiB; a dense "HH:MM - text" timeline about 30 per KiB over its first thousand lines.
MAX_TIMES = 1000
MAX_TIMES_PER_KIB = 5
# the events table's columns, in order (their types: EVENT_SCHEMA)
EVENT_COLUMNS = ("time", "end", "source", "kind", "services", "approximate", "status", "text",
                 "line", "kind_confidence", "kind_reason")


def __getattr__(name: str) -> object:
    """EVENT_SCHEMA is made on first use: it needs polars, which `event_rows` does without."""
    if name == "EVENT_SCHEMA":
        return _event_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _event_schema() -> dict[str, pl.DataType]:
    """The events table's columns and types (docs/architecture.md), in order."""
    import polars as pl

    return dict(zip(EVENT_COLUMNS, (
        pl.Datetime("us", "UTC"), pl.Datetime("us", "UTC"), pl.String(), pl.String(),
        pl.List(pl.String()), pl.Boolean(), pl.String(), pl.String(), pl.Int64(), pl.Float64(),
        pl.String()), strict=True))


class Parsed(NamedTuple):
    """What a parse gives: the events table and the warnings about the text (plain sentences)."""

    events: pl.DataFrame
    warnings: tuple[str, ...]


def parse_report(
    text: str | bytes, *, date: str | dt.date | None = None, tz: str | None = None
) -> pl.DataFrame:
    """Turn an incident report's text into the events table (schema in docs/architecture.md).

    `date=` ("2017-03-20") dates times the text leaves undated; `tz=` ("PDT", "UTC",
    "America/Los_Angeles", "-07:00") zones times the text leaves unzoned. Raises
    ReportParseError naming what is missing and how to supply it; warns (IncidentlabWarning)
    about what it had to guess.
    """
    parsed = parse_report_with_warnings(text, date=date, tz=tz)
    _warn(parsed.warnings)
    return parsed.events


def parse_report_with_warnings(
    text: str | bytes, *, date: str | dt.date | None = None, tz: str | None = None
) -> Parsed:
    """`parse_report`, returning the warnings with the events instead of issuing them."""
    with cycle_collector_paused():
        rows, zone, notes = _parse(text, date, tz)
        with _within_calendar():
            return Parsed(_frame(rows, zone), notes)


class EventRows(NamedTuple):
    """The events as `event_rows` gives them: one dict per row of the events table, in its
    order and with its columns (times aware, in the table's zone), and that zone's name."""

    rows: list[dict]
    zone: str


def event_rows(text: str | bytes, *, date: str | dt.date | None = None,
               tz: str | None = None) -> EventRows:
    """`parse_report` without polars: what `events.iter_rows(named=True)` would give, for a
    caller that walks the events once (the replay preset starts faster without polars)."""
    with cycle_collector_paused():
        rows, zone, notes = _parse(text, date, tz)
    _warn(notes)
    local = ZoneInfo(zone.polars)
    out = []
    with _within_calendar():
        for r in sorted(rows, key=_table_order):
            row = {name: r[name] for name in EVENT_COLUMNS}
            row["time"] = r["time"].astimezone(local)
            row["end"] = r["end"] and r["end"].astimezone(local)
            row["services"] = list(r["services"])
            out.append(row)
    return EventRows(out, zone.polars)


def _warn(notes: tuple[str, ...]) -> None:
    """Issue the parse's notes as warnings, pointing at the caller of the public function."""
    for message in notes:
        pywarnings.warn(message, IncidentlabWarning, stacklevel=3)


def _table_order(r: dict) -> tuple:
    """The events table's order: by instant, a status update after narrative at the same
    instant, then by line."""
    return r["time"].astimezone(dt.UTC), r["source"] == "status_update", r["line"]


def _parse(text: str | bytes, date: str | dt.date | None, tz: str | None
           ) -> tuple[list[dict], clock.Zone, tuple[str, ...]]:
    notes: list[str] = []
    text = as_text(text, notes)
    # a JSON export is read as its records, one `key: value` a line (lines count in that form)
    text = segment.json_as_records(text) or text
    src = Source(text, clock.date_arg(date), clock.zone_arg(tz))
    src.warnings.extend(notes)
    with _within_calendar():
        rows, zone = _run(src)
    return rows, zone, tuple(src.warnings)


@contextlib.contextmanager
def _within_calendar() -> Iterator[None]:
    """A date pushed past the calendar by its zone or the day's turn, as a ReportParseError."""
    try:
        yield
    except (OverflowError, ValueError) as err:
        if isinstance(err, ReportParseError) or (
                isinstance(err, ValueError) and "out of range" not in str(err)):
            raise
        raise ReportParseError(
            f"a date in the report falls outside the calendar (years 1 to 9999) once its "
            f"zone or the day's turn is applied ({err}); pass a date= nearer today") from None


def _run(src: Source) -> tuple[list[dict], clock.Zone]:
    doc_zone = clock.document_zone(src) or clock.heading_zone(src)
    mentions = sorted(clock.clock_mentions(src) + clock.relative_mentions(src),
                      key=lambda m: m.start)
    if not [m for m in mentions if m.offset_s is None]:
        raise ReportParseError(
            "no times found in the report; an incident report needs timed events such as "
            "'At 11:38 ...', '14:18 UTC - ...', '9:37AM PST' or 'Posted Mar 20, 2017 - "
            "16:54 PDT'"
        )
    limit = MAX_TIMES + MAX_TIMES_PER_KIB * len(src.text) // 1024
    if len(mentions) > limit:
        raise ReportParseError(
            f"report has {len(mentions):,} clock times in {len(src.text) / 1024:,.0f} KiB; "
            f"the limit is {MAX_TIMES:,} plus {MAX_TIMES_PER_KIB} per KiB ({limit:,} here). "
            "This looks like a log, not an incident report: pass the report's timeline only"
        )
    postings, metadata = segment.export_postings(src, mentions)
    taken = metadata | {m for p in postings for m in p.mentions}
    postings += segment.postings(src, [m for m in mentions if m not in taken])
    postings.sort(key=lambda p: p.block[0])
    posted = frozenset(m for p in postings for m in p.mentions)
    narrative = [m for m in mentions if m not in posted and m not in metadata]
    para = segment.paragraphs(src, narrative)
    every_date = clock.date_mentions(src)
    dates = dating.carried_dates(src, every_date, mentions)
    live = [m for m in mentions if m not in metadata]
    date_of = dating.resolve_dates(src, dates, live, postings, every_date, para)
    zone = dating.column_zone(src, [m for m in mentions if m.offset_s is None], doc_zone)
    instant = dating.resolve_instants(src, live, date_of, posted, doc_zone, zone)
    clause = segment.clauses(src, narrative, para)
    dropped = segment.dedupe(narrative, instant, clause)
    kept = [m for m in narrative if m not in dropped and not m.anchor]
    rows = _narrative_rows(src, Segments(narrative, para, clause), kept, instant)
    rows += _status_rows(postings, kept, instant)
    classify.position_rules(rows)
    return rows, zone


class Segments(NamedTuple):
    """The narrative times in text order with their paragraphs and clauses."""

    narrative: list[clock.Mention]
    para: dict[clock.Mention, tuple[int, int]]
    clause: dict[clock.Mention, segment.Clause]


def _narrative_rows(src: Source, seg: Segments, kept: list[clock.Mention],
                    instant: dict[clock.Mention, dt.datetime]) -> list[dict]:
    text = src.text
    starts = [m.start for m in seg.narrative]
    spans = []
    for m in kept:  # every time, kept or dropped, ends the text of the event before it
        para, clause = seg.para[m], seg.clause[m]
        end = para[1]
        cut = segment.next_cut(seg.narrative, starts, m, seg.para, seg.clause)
        if cut is not None:
            end = min(end, cut)
        first = segment.first_in_para(seg.narrative, starts, m, seg.para, seg.clause)
        start = para[0] if first else clause.start
        spans.append((start, end, min(end, src.sentence_end(m.end, end))))
    # each step over all events in turn: its regexes stay in the processor's cache
    bodies = [classify.clean(text[start:end]) for start, end, _ in spans]
    body_cues = [classify.cue_text(body) for body in bodies]
    guesses = [classify.classify(text[seg.clause[m].start: clause_end], body, cues)
               for m, (_, _, clause_end), body, cues in zip(kept, spans, bodies, body_cues,
                                                           strict=True)]
    services = [classify.services(cues) for cues in body_cues]
    rows: list[dict] = []
    for m, body, guess, named in zip(kept, bodies, guesses, services, strict=True):
        rows.append({
            "time": instant[m], "end": instant[m.end_mention] if m.end_mention else None,
            "source": "narrative", "kind": guess.kind if guess else None,
            "services": named,
            "approximate": m.approximate, "status": None, "text": body, "line": m.line,
            "kind_confidence": guess.confidence if guess else None,
            "kind_reason": guess.reason if guess else None,
            "_runner_up": guess.runner_up if guess else None,
            "_sentence": (seg.para[m], seg.clause[m].sentence),
        })
    classify.fill_unlabelled(rows)
    return rows


def _status_rows(postings: list[segment.Posting], narrative: list[clock.Mention],
                 instant: dict[clock.Mention, dt.datetime]) -> list[dict]:
    rows = []
    starts = [m.start for m in narrative]
    carried: str | None = None
    for p in sorted(postings, key=lambda p: instant[p.mention]):
        i = bisect.bisect_left(starts, p.block[0])
        has_narrative = i < len(starts) and starts[i] < p.block[1]
        status = classify.status_of(p.status_word, p.body, carried,
                                    has_narrative and p.paragraphs >= 3)
        if status != "postmortem":
            carried = status
        body = classify.clean(p.first_para if status == "postmortem" else p.body)
        if status == "postmortem" and len(body) > 200:
            body = body[:199].rstrip() + "…"
        rows.append({
            "time": instant[p.mention], "end": None, "source": "status_update",
            "kind": "communication", "services": classify.services(classify.cue_text(body)),
            "approximate": False, "status": status, "text": body, "line": p.mention.line,
            "kind_confidence": 1.0, "kind_reason": "a status update tells users",
        })
    return rows


def _frame(rows: list[dict], zone: clock.Zone) -> pl.DataFrame:
    import polars as pl

    utc = dt.UTC
    rows = sorted(rows, key=_table_order)
    for r in rows:
        r["time"] = r["time"].astimezone(utc).replace(tzinfo=None)
        if r["end"] is not None:
            r["end"] = r["end"].astimezone(utc).replace(tzinfo=None)
    for r in rows:  # one string per row builds faster than a list per row
        r["services"] = ";".join(r["services"])
    schema = {**_event_schema(), "time": pl.Datetime("us"), "end": pl.Datetime("us"),
              "services": pl.String()}
    frame = pl.DataFrame({name: [r[name] for r in rows] for name in schema}, schema=schema)
    frame = frame.with_columns(
        pl.col("services").str.split(";").list.filter(pl.element() != ""),
        pl.col("time", "end").dt.replace_time_zone("UTC").dt.convert_time_zone(zone.polars),
    )
    return frame
