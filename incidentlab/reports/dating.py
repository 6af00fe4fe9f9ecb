"""Dating: give every time its calendar date, zone and instant.

A time takes a date in its clause; else the date the text is at (carried from a heading, a
timed sentence or the line before, rolled past midnight when the clock jumps back more than
12 hours); else `date=`; else its status update's Posted date. A date in an untimed prose
sentence ("On 12 May we shipped the release that ...") is background: it is carried only when
the text has no heading, title or timed date at all. A date without a year takes the year of
the text's dates (a title range "October 28-31, 2021" gives it to the headings below), and a
date more than half a year before the one the text is at is read in the next year.
Relative times ("T+40 min", "5 minutes later") count from T+0 or from the event before.
"""

from __future__ import annotations

import bisect
import datetime as dt

from incidentlab.errors import ReportParseError
from incidentlab.reports.clock import DateMention, Mention, Zone, zone_of
from incidentlab.reports.segment import Posting
from incidentlab.reports.source import Source


def carried_dates(src: Source, dates: list[DateMention], mentions: list[Mention]
                  ) -> list[DateMention]:
    """The dates that may carry to later times: all of them, unless the text has a heading,
    title or timed date, when untimed prose dates are background and left out."""
    starts = sorted(m.start for m in mentions)
    strong, prose = [], []
    short: dict[int, bool] = {}  # per line: short enough to be a heading, or not prose
    for d in dates:
        line = src.line_of(d.start)
        start, end = src.line_span(line)
        if line not in short:
            content = src.text[start:min(end, start + 200)].strip()
            short[line] = ((end - start <= 60 and not content.endswith((".", ",", ";")))
                           or not content.lstrip("#*_-|> ")[:1].isalpha())
        lo, hi = src.sentence_start(d.start, start), src.sentence_end(d.end, end)
        timed = bisect.bisect_left(starts, lo) < bisect.bisect_left(starts, hi)
        (strong if short[line] or timed or d.kind != "abs" else prose).append(d)
    if any(d.kind == "abs" for d in strong) or src.base_date is not None:
        return strong
    return dates


def resolve_dates(src: Source, dates: list[DateMention], mentions: list[Mention],
                  postings: list[Posting], years: list[DateMention],
                  para: dict[Mention, tuple[int, int]]) -> dict[Mention, dt.date]:
    """The date of each absolute time (relative ones are dated by `resolve_instants`) from
    the dates that carry; a date without a year takes it from the nearest of `years` before
    it. `para` holds the narrative times' paragraphs; the other times are postings."""
    doc_years = [(d.start, d.year) for d in years if d.year is not None]
    date_starts = [d.start for d in dates]
    current: dt.date | None = None
    last_clock: int | None = None
    cursor = 0  # dates before this index have been folded into `current`
    absolute = [m for m in mentions if m.offset_s is None]
    date_of: dict[Mention, dt.date] = {}
    for i, m in enumerate(absolute):
        posting = m not in para
        lo = max(absolute[i - 1].end if i else 0, src.line_starts[m.line - 1]
                 if posting else para[m][0])
        hi = absolute[i + 1].start if i + 1 < len(absolute) else len(src.text)
        hi = min(hi, src.line_span(m.line)[1] if posting else para[m][1],
                 src.sentence_end(m.end, hi))
        lo = max(lo, src.sentence_start(m.start, lo))
        while cursor < len(dates) and dates[cursor].start < lo:
            carried = _apply(src, dates[cursor], current, doc_years)
            if carried is not None and carried != current:
                current, last_clock = carried, None  # a new day: its clock starts afresh
            cursor += 1
        own = dates[bisect.bisect_left(date_starts, lo): bisect.bisect_left(date_starts, hi)]
        chosen: dt.date | None = None
        for d in sorted(own, key=lambda d: abs(d.start - m.start)):
            if d.kind == "abs":
                chosen = _apply(src, d, current, doc_years)
                break
        if chosen is None:
            for d in own:
                if d.kind != "abs" and (current or src.base_date):
                    chosen = _apply(src, d, current or src.base_date, doc_years)
                    break
        if chosen is not None:
            date_of[m] = chosen
            if not posting:
                current, last_clock = chosen, m.clock
            while cursor < len(dates) and dates[cursor].start < hi:
                cursor += 1
        elif not posting and current is not None:
            if last_clock is not None and m.clock < last_clock - 12 * 60:
                current = current + dt.timedelta(days=1)
            date_of[m], last_clock = current, m.clock
        elif not posting and src.base_date is not None:
            current, last_clock = src.base_date, m.clock
            date_of[m] = current
        elif posting and (current or src.base_date):  # "Posted 19:03 UTC": the text's date
            date_of[m] = current or src.base_date
    # times still undated take the date of the status update they sit in
    # (an update reports the past: a clock later than its Posted clock is the day before)
    block_starts = [p.block[0] for p in postings]
    for m in absolute:
        i = bisect.bisect_right(block_starts, m.start) - 1
        if m not in date_of and i >= 0 and m.start < postings[i].block[1]:
            posted = postings[i].mention
            if posted in date_of:
                back = 1 if m.clock > posted.clock else 0
                date_of[m] = date_of[posted] - dt.timedelta(days=back)
        if m not in date_of:
            raise ReportParseError(
                f"no date found for {src.text[m.start:m.end].strip()!r} on line {m.line}; "
                "pass date='YYYY-MM-DD' (e.g. date='2017-03-20'; on the command line --date) "
                "or add a date line such as 'March 20, 2017' above it"
            )
    return date_of


def _apply(src: Source, d: DateMention, current: dt.date | None,
           doc_years: list[tuple[int, int]]) -> dt.date | None:
    """The calendar date `d` names, read from `current` (the date the text is at)."""
    if d.kind == "next":
        return current + dt.timedelta(days=1) if current else None
    if d.kind == "same":
        return current
    if d.kind.startswith("wd"):
        if current is None:
            return None
        return current + dt.timedelta(days=(int(d.kind[2:]) - current.weekday()) % 7)
    said, line = src.text[d.start:d.end], src.line_of(d.start)
    year = d.year
    if year is None and current is not None:
        year = current.year
        if (dt.date(year, d.month, min(d.day, 28)) - current).days < -183:
            year += 1  # "December 31" ... "January 1": the year turned
            src.warn(f"the date {said!r} on line {line} has no year; read as {year}, the "
                     f"year after {current.isoformat()} written before it")
    if year is None:
        if src.base_date is not None:
            year = src.base_date.year
        elif doc_years:
            i = bisect.bisect_left([s for s, _ in doc_years], d.start)
            before = doc_years[i - 1] if i else None
            year = before[1] if before else doc_years[0][1]
    if year is None:
        raise ReportParseError(
            f"no year for the date {said!r} on line {line}; pass date='YYYY-MM-DD' or "
            "write the year, e.g. 'March 20, 2017'"
        )
    try:
        return dt.date(year, d.month, d.day)
    except (ValueError, OverflowError):
        raise ReportParseError(
            f"the date {said!r} on line {line} does not exist in {year}; "
            "correct it or write the year"
        ) from None


def column_zone(src: Source, mentions: list[Mention], doc_zone: Zone | None) -> Zone:
    """The report's own zone: the document zone, else the first zone written, else `tz=`."""
    explicit = [zone_of(m.zone) for m in mentions if m.zone]
    first = next((z for z in explicit if z is not None), None)
    zone = doc_zone or first or src.tz_arg
    if zone is None:
        m = mentions[0]
        raise ReportParseError(
            f"no time zone found for {src.text[m.start:m.end].strip()!r} on line {m.line}; "
            "pass tz='UTC' (or 'PDT', 'America/Los_Angeles', '-07:00'; on the command line "
            "--tz) or add a line such as 'All times are UTC'"
        )
    return zone


def resolve_instants(src: Source, mentions: list[Mention], date_of: dict[Mention, dt.date],
                     posted: frozenset[Mention], doc_zone: Zone | None, first_zone: Zone
                     ) -> dict[Mention, dt.datetime]:
    """The instant of every time: absolute ones from date, clock and zone (the time's own,
    else the document's, else the last one written, else `tz=`), relative ones from T+0 (the
    time a "T+0 is 09:47" line names, else the first absolute time) or the event before."""
    carried: Zone | None = None
    t0: dt.datetime | None = None
    previous: dt.datetime | None = None
    instant: dict[Mention, dt.datetime] = {}
    for m in mentions:
        if m.offset_s is not None:
            base = t0 if m.from_t0 else previous
            if base is None:
                base = t0 or previous
            if base is None:
                raise ReportParseError(
                    f"the relative time {src.text[m.start:m.end].strip()!r} on line {m.line} "
                    "has nothing to count from; add a line such as 'T+0 is 09:47 UTC'")
            instant[m] = base + dt.timedelta(seconds=m.offset_s)
            if m not in posted:
                previous = instant[m]
            continue
        own = zone_of(m.zone) if m.zone else None
        if own is not None:
            carried = own
        zone = own or doc_zone or carried or src.tz_arg or first_zone
        date = date_of[m]
        instant[m] = _at(date, m.clock, m.second, zone.tzinfo)
        if m.anchor or (t0 is None and m not in posted):
            t0 = instant[m]
        if m not in posted and not m.anchor:
            previous = instant[m]
        if m.end_mention is not None:
            e = m.end_mention
            end_date = date + dt.timedelta(days=1) if e.clock < m.clock else date
            e_zone = zone_of(e.zone) if e.zone else None
            instant[e] = _at(end_date, e.clock, e.second, (e_zone or zone).tzinfo)
    return instant


def _at(date: dt.date, clock: int, second: int, tzinfo: dt.tzinfo) -> dt.datetime:
    """The aware instant `clock` minutes (1440 for "24:00") after midnight of `date`."""
    return (dt.datetime.combine(date, dt.time(0), tzinfo=tzinfo)
            + dt.timedelta(minutes=clock, seconds=second))
