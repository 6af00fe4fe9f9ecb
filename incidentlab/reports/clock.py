"""Time and date recognition: clock times (absolute and relative), dates and zones in text.

Each function reads the text (through a `Source`) and returns what it found as frozen
records; nothing here decides which time is an event or which date a time has (segment.py
and dating.py do, returning their findings keyed by these records).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incidentlab.errors import ReportParseError
from incidentlab.reports import cuescan
from incidentlab.reports.source import Source

# --- zones ------------------------------------------------------------------------------------

# Abbreviation -> fixed offset in minutes, or an IANA name where the offset follows the date.
ZONE_NAMES: dict[str, int | str] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
    "PST": -480, "PDT": -420, "MST": -420, "MDT": -360, "CST": -360, "CDT": -300,
    "EST": -300, "EDT": -240, "AKST": -540, "AKDT": -480, "HST": -600, "BRT": -180,
    "BST": 60, "CET": 60, "WEST": 60, "CEST": 120, "EET": 120, "EEST": 180, "MSK": 180,
    "IST": 330, "SGT": 480, "HKT": 480, "AWST": 480, "JST": 540, "KST": 540,
    "ACST": 570, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
    "PT": "America/Los_Angeles", "MT": "America/Denver", "CT": "America/Chicago",
    "ET": "America/New_York", "PACIFIC": "America/Los_Angeles", "MOUNTAIN": "America/Denver",
    "CENTRAL": "America/Chicago", "EASTERN": "America/New_York",
}
# Abbreviations with more than one common meaning: read as ZONE_NAMES says, with a warning.
AMBIGUOUS_ZONES = {
    "CST": "US Central Standard Time (UTC-06:00), not China Standard Time (UTC+08:00)",
    "IST": "India Standard Time (UTC+05:30), not Irish (UTC+01:00) or Israel (UTC+02:00) time",
    "BST": "British Summer Time (UTC+01:00), not Bangladesh Standard Time (UTC+06:00)",
}
# polars names fixed offsets as Etc/GMT±H; offsets that are not whole hours need a city.
_FRACTIONAL_ZONES = {330: "Asia/Kolkata", 345: "Asia/Kathmandu", 570: "Australia/Darwin",
                     -210: "America/St_Johns", 630: "Australia/Adelaide"}


@dataclass(frozen=True)
class Zone:
    label: str
    tzinfo: dt.tzinfo
    polars: str  # the name polars uses for the column


def fixed_zone(minutes: int, label: str) -> Zone:
    tzinfo = dt.timezone(dt.timedelta(minutes=minutes))
    if minutes == 0:
        return Zone(label, dt.UTC, "UTC")
    if minutes % 60 == 0:
        return Zone(label, tzinfo, f"Etc/GMT{-minutes // 60:+d}")
    city = _FRACTIONAL_ZONES.get(minutes)
    return Zone(label, tzinfo if city is None else ZoneInfo(city), city or "UTC")


def offset_zone_name(offset: str) -> str:
    zone = zone_of(offset)
    return "UTC" if zone is None else zone.polars


@functools.lru_cache(maxsize=512)  # a report names a few zones many times
def zone_of(token: str) -> Zone | None:
    """A zone from an abbreviation, an offset ('-07:00', 'UTC+2') or an IANA name; None if the
    token is none of these (an offset needs minutes below 60 and at most 14 hours)."""
    key = re.sub(r"\s+", "", token)
    if not key or not key.isascii():
        return None
    named = ZONE_NAMES.get(key.upper()) if key.upper() == key or len(key) > 4 else None
    if named is None and key.upper() in ("PACIFIC", "MOUNTAIN", "CENTRAL", "EASTERN"):
        named = ZONE_NAMES[key.upper()]
    if isinstance(named, int):
        return fixed_zone(named, key.upper())
    if isinstance(named, str):
        return Zone(key.upper(), ZoneInfo(named), named)
    m = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d\d))?", key, re.I)
    if m:
        hours, mins = int(m.group(2)), int(m.group(3) or 0)
        if mins >= 60 or hours * 60 + mins > 14 * 60:
            return None
        minutes = hours * 60 + mins
        return fixed_zone(minutes if m.group(1) == "+" else -minutes, key)
    if "/" in key:
        try:
            return Zone(key, ZoneInfo(key), key)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return None
    return None


def zone_arg(tz: object) -> Zone | None:
    """`tz=` as a Zone, or a ReportParseError saying what is accepted."""
    if tz is None:
        return None
    zone = zone_of(str(tz).strip()) if isinstance(tz, str) else None
    if zone is None:
        raise ReportParseError(
            f"tz={tz!r} is not a time zone I know; pass an abbreviation such as UTC, PDT, "
            "PST, EDT, CET or IST (all: incidentlab.reports.ZONE_NAMES), an IANA name such as "
            "'America/Los_Angeles', or an offset such as '-07:00' (minutes below 60)"
        )
    return zone


def date_arg(date: object) -> dt.date | None:
    """`date=` as a date, or a ReportParseError saying what is accepted."""
    if date is None or (isinstance(date, dt.date) and not isinstance(date, dt.datetime)):
        return date
    if isinstance(date, dt.datetime):
        return date.date()
    try:
        if not isinstance(date, str):
            raise ValueError
        return dt.date.fromisoformat(date.strip())
    except ValueError:
        raise ReportParseError(
            f"date={date!r} is not a date; pass date='YYYY-MM-DD', e.g. date='2017-03-20'"
        ) from None


# --- patterns ---------------------------------------------------------------------------------

MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (r"(?P<{g}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|(?-i:May)|june?|july?|"
          r"aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"(?P<{g}>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?(?![\d:])"
# a day range in a title ("October 28-31, 2021", "28–31 October 2021") names its first day
_TO_DAY = r"(?:\s*[-–—]\s*(?:0?[1-9]|[12]\d|3[01])(?!\d)(?:st|nd|rd|th)?)?"
DATE_RE = re.compile(
    r"(?<![\d/.])(?P<iy>(?:19|20)\d\d)[-/.](?P<im>0?[1-9]|1[0-2])[-/.](?P<id>0?[1-9]|[12]\d|3[01])"
    r"(?![\d/])"
    rf"|\b(?P<ay>(?:19|20)\d\d)\s+{_MONTH.format(g='am')}\s+{_DAY.format(g='ad')}"
    rf"|\b{_MONTH.format(g='bm')}\s+{_DAY.format(g='bd')}{_TO_DAY}"
    r"(?:,?\s+(?P<by>(?:19|20)\d\d)\b)?"
    rf"|\b{_DAY.format(g='cd')}{_TO_DAY}\s+(?:of\s+)?{_MONTH.format(g='cm')}"
    r"(?:,?\s+(?P<cy>(?:19|20)\d\d)\b)?"
    # day.month.year (European) and month/day/year (US; day/month when the first is > 12)
    r"|(?<![\d/.])(?P<ed>0?[1-9]|[12]\d|3[01])\.(?P<em>0?[1-9]|1[0-2])\.(?P<ey>(?:19|20)\d\d)"
    r"(?![\d.])"
    r"|(?<![\d/.])(?P<sa>0?[1-9]|[12]\d|3[01])/(?P<sb>0?[1-9]|[12]\d|3[01])/"
    r"(?P<sy>(?:19|20)\d\d)(?![\d/])"
    r"|\b(?P<wd>mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b"
    r"|\b(?P<next>(?:next|following)\s+(?:day|morning))\b"
    r"|\b(?P<same>(?:the\s+)?same\s+(?:day|evening|night|afternoon|morning))\b",
    re.I,
)
# Where a date can start (on the ASCII-lower-cased text), at a word's start (after no ASCII
# letter or digit): a digit whose run goes on as a DATE_RE date does ("2019-03-..", "1.2.2020",
# "3/4/2021", "2021 Oct", "28-31 October"; not a clock time, a count or a version), or a month,
# weekday or relative-day word. DATE_RE is tried only there, which keeps date finding linear and
# fast on long texts full of numbers. Both scans start with what re can skip ahead to (a
# pattern that starts with a lookbehind is tried at every character); a word's start is
# checked apart.
_MONTH_WORDS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DATE_DIGIT_RE = re.compile(
    r"\d(?<![a-z0-9]\d)(?=(?i:(?<=1)9\d\d[-/.]\d|(?<=2)0\d\d[-/.]\d|\d?\.\d\d?\.(?:19|20)\d\d|"
    r"\d?/\d\d?/(?:19|20)\d\d|\d{0,3}(?:st|nd|rd|th)?(?:\s*[-–—]\s*\d{1,2}(?:st|nd|rd|th)?)?"
    rf"\s+(?:of\s+)?(?:{_MONTH_WORDS})))")
# the same on ASCII text, where (?i:...) changes nothing on lower-cased letters (it only lets
# "ſep" or a Kelvin sign match as re.I does) and costs about a sixth of the scan
_DATE_DIGIT_ASCII_RE = re.compile(_DATE_DIGIT_RE.pattern.replace("(?=(?i:", "(?=(?:", 1))
_DATE_WORD_RE = re.compile(cuescan.alternation([
    *_MONTH_WORDS.split("|"), "mon", "tue", "wed", "thu", "fri", "sat", "sun", "next",
    "following", "the(?= same)", "same"]))
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_ZONE_TOKEN = (r"(?P<{g}>(?-i:UTC|GMT)\s?[+-]\s?\d{{1,2}}(?::?[0-5]\d)?|"
               r"[+-](?:0\d|1[0-4]):?[0-5]\d(?!\d)|"
               r"(?-i:" + "|".join(sorted((z for z in ZONE_NAMES if z.isupper() and z != "Z"),
                                          key=len, reverse=True)) + r")\b|(?<=\d)(?-i:Z)\b)")
TIME_RE = re.compile(
    r"(?:(?<![\w.:/$£€#+])|(?<=\dT))"
    r"(?:(?P<h>[01]?\d|2[0-4]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d)(?:\.\d+)?)?"
    r"(?:\s?(?P<ap>[ap])\.?m\b\.?)?"
    r"|(?P<h12>1[0-2]|0?[1-9])\s?(?P<ap12>[ap])\.?m\b\.?)"
    r"(?!(?!Z\b)\w|[:.]\d)"
    r"(?P<ish>-?ish\b)?"
    rf"(?:\s?\(?{_ZONE_TOKEN.format(g='zone')}\)?)?"
    r"(?P<ish2>-?ish\b)?",
    re.I,
)
# Every match of TIME_RE starts where this does (no digit inside a match of this can start
# one: it follows a digit or a colon), and this one is fast to scan for: it starts with a digit.
_TIME_HINT_RE = re.compile(r"\d\d?(?::\d\d|\s?[ap]\.?m)", re.I)
# A clock that cannot be one ("25:61", "12:75"): reported, never read as a time.
_CLOCKISH_RE = re.compile(r"\d{1,2}:\d\d(?![\d:])")
# the same clocks where they are impossible (hour above 24 or minute above 59), in ASCII text
# (written to start with a digit, so that re skips to the digits)
_BAD_CLOCK_RE = re.compile(r"\d(?:(?<=2)[5-9]:\d\d|(?<=[3-9])\d:\d\d|\d?:[6-9]\d)(?![\d:])")
_NOT_BEFORE_CLOCK = frozenset("._:/$£€#")
# Relative times: "T+40 min", "(T+2h)", "+5m" at a line's start; "5 minutes later" and
# "after 20 minutes" count from the event before.
_UNIT = r"(?P<{g}>h(?:ours?|rs?)?|m(?:in(?:ute)?s?)?)\b"
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
                 "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
                 "forty-five": 45, "sixty": 60, "ninety": 90, "few": 3}
_NUM = (r"(?P<{g}>\d{{1,4}}(?:\.\d+)?|"
        + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")")
RELATIVE_RE = re.compile(
    rf"(?<![\w+])T\s?(?P<sign>[+-])\s?{_NUM.format(g='n1')}\s?(?:{_UNIT.format(g='u1')})?"
    rf"|(?m:^[ \t\-*•|#>(\[]*)\+\s?{_NUM.format(g='n2')}\s?{_UNIT.format(g='u2')}"
    rf"|\b(?:a\s+)?{_NUM.format(g='n3')}\s+(?P<u3>hours?|minutes?|mins?)\s+later\b"
    rf"|\bafter\s+(?:another\s+|a\s+further\s+)?{_NUM.format(g='n4')}\s+"
    r"(?P<u4>hours?|minutes?|mins?)\b",
    re.I)
# Where a relative time can be: "t+5", "+5", "later", "after" (the last two as whole words: the
# word start is checked apart, so that re can skip to the letters t, +, l and a).
_RELATIVE_HINT_RE = re.compile(r"t ?[+-] ?\d|\+ ?\d|later\b|after\b")
_WORD_CHAR_RE = re.compile(r"\w")
# "T+0 is 09:47 UTC", "T0 = 09:47", "T+0 (09:47 UTC)": the anchor of relative times.
ANCHOR_RE = re.compile(r"\bT\s?(?:\+\s?)?0\s*(?:min\w*\s*)?(?:is|=|:|was|at|means|\(|–|-)\s*"
                       r"(?:at\s+)?$", re.I)
_ANCHOR_AFTER_RE = re.compile(r"\s*(?:min\w*\s*)?(?:is|=|:|was|at|means|\()", re.I)
_ZONE_WORD = (r"(?-i:[A-Z][A-Za-z_]+/[A-Za-z_/]+|[A-Z]{2,5}(?:[+-]\d{1,2}(?::?\d\d)?)?\b|"
              r"Pacific|Eastern|Central|Mountain)|[+-]\d\d:?\d\d")
_DOC_ZONE_RE = re.compile(
    r"\b(?:all\s+)?times?\b(?:\s+[\w’']+){0,5}?\s+(?:are|is|in|listed\s+in|given\s+in|"
    rf"shown\s+in)\s+(?:in\s+)?(?:the\s+)?(?P<z>{_ZONE_WORD})"
    rf"|\b(?:time\s*zone|timezone)\s*[:=]\s*(?P<z2>{_ZONE_WORD})"
    rf"|\b(?:all\s+times|times?|timestamps?)\s*[:(,]?\s*\(?(?P<z3>{_ZONE_WORD})\)"
    rf"|\b(?:all\s+(?:the\s+)?times|times|timestamps?|all\s+timestamps)\s+(?:are\s+)?(?:in\s+)?"
    rf"(?P<z4>{_ZONE_WORD})(?=[ \t]*(?:[.;,)\n]|$))"
    rf"|\btime\s?stamps?\s+(?:are|is)\s+(?:in\s+)?(?P<z5>{_ZONE_WORD})",
    re.I,
)
_RANGE_GAP_RE = re.compile(r"^\s*(?:-|–|—|to|until|till|through|and)\s*$", re.I)
_APPROX_RE = re.compile(
    r"(?:\b(?:around|about|approximately|approx\.?|roughly|circa|nearly|near|by|shortly\s+"
    r"(?:after|before)|sometime\s+(?:after|before|around))|~)\s*(?:at\s+)?$", re.I)
# one of these is in every match of _APPROX_RE (sought in lower-cased ASCII text)
_APPROX_HINT_RE = re.compile("around|about|approx|roughly|circa|near|by|shortly|sometime|~")
# After a time: a duration or a schedule, not an event ("1:30 hours", "03:00 every day").
_NON_EVENT_AFTER_RE = re.compile(
    r"\s*(?:hours?\b|hrs?\b|h\b|minutes?\b|mins?\b|of downtime|(?:(?-i:[A-Z]{2,4})\s+)?(?:daily|"
    r"nightly|hourly|(?:every|each)\s+(?:day|night|morning|evening|hour|week|weekday|month|"
    r"\d)))", re.I)
_NON_EVENT_HINT_RE = re.compile(  # cheap test before the anchored search below
    r"(?i:every|each|daily|nightly|hourly|weekly|last|duration|total|will|expect|eta|next|"
    r"schedul)")
# the same test on lower-cased ASCII text (faster: re can skip to the words' first letters)
_NON_EVENT_HINT_ASCII_RE = re.compile(_NON_EVENT_HINT_RE.pattern[4:-1])
_NON_EVENT_BEFORE_RE = re.compile(
    r"\b(?:every|each|daily|nightly|hourly|weekly|lasted|lasting|duration|for a total of|"
    r"will|expect(?:ed|s)?\s+to|eta|next\s+update|scheduled\s+(?:for|at))\b[^.;!?]*$", re.I)


# --- what recognition finds ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Mention:
    """One time found in the text, as recognition found it. Later stages never change it:
    they return what they find about it in mappings keyed by the mention."""

    start: int
    end: int
    clock: int  # minutes after midnight (1440 for "24:00")
    second: int
    zone: str | None
    approximate: bool
    line: int
    offset_s: float | None = None  # relative time: seconds after its base
    from_t0: bool = False  # relative to T+0 (else to the event before)
    anchor: bool = False  # "T+0 is 09:47": defines T+0, is no event
    end_mention: Mention | None = None  # the end of a range ("14:18 to 14:57")


class DateMention(NamedTuple):
    """A date in the text: absolute ('abs', year may be missing), a weekday ('wd0' is Monday
    ... 'wd6'), 'next' ("the next day") or 'same' ("the same day")."""

    start: int
    end: int
    year: int | None
    month: int
    day: int
    kind: str


def document_zone(src: Source) -> Zone | None:
    """The zone of an "All times within this document are PDT" line, if any."""
    pos = src.lower.find("time")
    while pos >= 0:
        m = _DOC_ZONE_RE.search(src.text, max(0, pos - 4), pos + 120)
        pos = src.lower.find("time", pos + 4)
        if m is None:
            continue
        token = next(g for g in m.group("z", "z2", "z3", "z4", "z5") if g)
        zone = zone_of(token)
        if zone is not None:
            note_ambiguous(src, token, m.start())
            return zone
        if re.fullmatch(r"[A-Z]{2,5}|[A-Za-z_]+/[A-Za-z_/]+|(?:UTC|GMT)[+-].*", token):
            raise ReportParseError(
                f"unknown time zone {token!r} on line {src.line_of(m.start())}; use an "
                "abbreviation such as PDT or UTC, an offset such as UTC-7, or pass "
                "tz='America/Los_Angeles'"
            )
    return None


# A title or heading that ends in a zone: "Week of 4 October 2021 outage (UTC)".
_HEADING_ZONE_RE = re.compile(
    r"^[^\n]{0,80}\((?P<z>(?-i:" + "|".join(sorted((z for z in ZONE_NAMES if z.isupper()
                                                  and len(z) > 1), key=len, reverse=True))
    + r"))\)[ \t]*$", re.M)


def heading_zone(src: Source) -> Zone | None:
    """The zone a heading names in parentheses at its end, in the text's first 40 lines."""
    head = src.text[: src.line_starts[min(40, len(src.line_starts) - 1)] or len(src.text)]
    m = _HEADING_ZONE_RE.search(head)
    if m is None:
        return None
    note_ambiguous(src, m.group("z"), m.start("z"))
    return zone_of(m.group("z"))


def note_ambiguous(src: Source, token: str, pos: int) -> None:
    key = token.strip().upper()
    if key in AMBIGUOUS_ZONES and key not in src.noted_zones:
        src.noted_zones.add(key)
        src.warn(f"time zone {key!r} on line {src.line_of(pos)} is ambiguous; read as "
                 f"{AMBIGUOUS_ZONES[key]}. Write an offset such as UTC+8 to say otherwise")


def clock_mentions(src: Source) -> list[Mention]:
    """Every clock time that is not a duration, schedule or promise, ranges joined."""
    found: list[Mention] = []
    text = src.text
    for m in list(_time_matches(text)):  # all first: each regex stays in cache
        start, end = m.span()
        h12, ap12, h, mm, ap, s, zone, ish, ish2 = m.group(
            "h12", "ap12", "h", "m", "ap", "s", "zone", "ish", "ish2")
        if h12:
            hour, minute, ap = int(h12), 0, ap12
        else:
            hour, minute = int(h), int(mm)
        bad_ap = bool(ap) and (hour > 12 or hour == 0)
        if ap and not bad_ap:
            hour = hour % 12 + (12 if ap.lower() == "p" else 0)
        second = int(s or 0)
        before = text[max(0, start - 80): start]
        if _NON_EVENT_AFTER_RE.match(text, end) or (
                _non_event_hint(before) and _NON_EVENT_BEFORE_RE.search(before)):
            continue
        if hour == 24 or bad_ap:
            said = text[start:end].strip()
            if hour == 24 and not minute and not second and not ap:
                src.warn(f"'{said}' on line {src.line_of(start)} read as midnight at the "
                         "end of its day (00:00 the next day)")
            else:
                src.warn(f"impossible time '{said}' on line {src.line_of(start)} ignored")
                continue
        if zone:
            note_ambiguous(src, zone, start)
        found.append(Mention(
            start=start, end=end, clock=hour * 60 + minute, second=second, zone=zone,
            approximate=bool(_approximate(before[-32:]) or ish or ish2),
            line=src.line_of(start),
            anchor="0" in before[-24:] and bool(ANCHOR_RE.search(before[-24:])),
        ))
    for bad in (_BAD_CLOCK_RE if text.isascii() else _CLOCKISH_RE).finditer(text):
        hour, minute = map(int, bad.group().split(":"))
        before = text[bad.start() - 1: bad.start()]
        if (hour > 24 or minute > 59) and not (before.isalnum() or before in _NOT_BEFORE_CLOCK):
            src.warn(f"impossible time {bad.group()!r} on line {src.line_of(bad.start())} "
                     "ignored")
    merged: list[Mention] = []
    for m in found:
        prev = merged[-1] if merged else None
        if (prev is not None and prev.end_mention is None and m.start - prev.end <= 12
                and _RANGE_GAP_RE.match(text[prev.end: m.start])
                and (text[prev.end:m.start].strip().lower() != "and"
                     or text[max(0, prev.start - 9): prev.start].lower().rstrip()
                     .endswith("between"))):
            merged[-1] = dataclasses.replace(prev, end_mention=m, zone=prev.zone or m.zone)
            continue
        merged.append(m)
    return merged


def _time_matches(text: str) -> Iterator[re.Match[str]]:
    """TIME_RE.finditer(text), tried only where _TIME_HINT_RE finds a start."""
    taken = 0
    for hint in _TIME_HINT_RE.finditer(text):
        if hint.start() >= taken:
            m = TIME_RE.match(text, hint.start())
            if m is not None:
                taken = m.end()
                yield m


def _approximate(before: str) -> bool:
    """Whether `before` ends in "around", "about", "~" and the like (see _APPROX_RE)."""
    if before.isascii() and not _APPROX_HINT_RE.search(before.lower()):
        return False
    return bool(_APPROX_RE.search(before))


def _non_event_hint(before: str) -> bool:
    if before.isascii():
        return bool(_NON_EVENT_HINT_ASCII_RE.search(before.lower()))
    return bool(_NON_EVENT_HINT_RE.search(before))


def relative_mentions(src: Source) -> list[Mention]:
    """"T+40 min", "+5m", "5 minutes later", "after 20 minutes": times counted from T+0 or
    from the event before (dating.py resolves them)."""
    found = []
    taken = 0
    for hint in _RELATIVE_HINT_RE.finditer(src.lower):
        if hint.group()[0] in "la" and hint.start() and _WORD_CHAR_RE.match(
                src.lower, hint.start() - 1):
            continue  # "later" or "after" inside a word
        m = RELATIVE_RE.search(src.text, max(taken, hint.start() - 24), hint.end() + 40)
        if m is None:
            continue
        taken = m.end()
        n = next(g for g in m.group("n1", "n2", "n3", "n4") if g).lower()
        value = float(_NUMBER_WORDS.get(n, 0) or (n if n[0].isdigit() else 0))
        unit = next((g for g in m.group("u1", "u2", "u3", "u4") if g), "m").lower()
        seconds = value * (3600 if unit.startswith("h") else 60)
        if m.group("sign") == "-":
            seconds = -seconds
        t_form = bool(m.group("n1") or m.group("n2"))  # "T+5", "+5m": from T+0
        after = _ANCHOR_AFTER_RE.match(src.text, m.end())
        if t_form and not seconds and after and TIME_RE.search(
                src.text, after.end(), after.end() + 24):
            continue  # "T+0 is 09:47": the definition, not an event
        found.append(Mention(
            start=m.start(), end=m.end(), clock=0, second=0, zone=None, approximate=False,
            line=src.line_of(m.start()), offset_s=seconds, from_t0=t_form,
        ))
    return found


def _date_hints(lower: str) -> Iterator[int]:
    """Where a date can start (see _DATE_DIGIT_RE), in order, none inside another ("the same"
    holds "same")."""
    words = [(m.start(), 8 if m.group() == "the" else m.end() - m.start())
             for m in _DATE_WORD_RE.finditer(lower)
             if not m.start() or lower[m.start() - 1] not in _ASCII_ALNUM]
    digit_re = _DATE_DIGIT_ASCII_RE if lower.isascii() else _DATE_DIGIT_RE
    digits = [(m.start(), 1) for m in digit_re.finditer(lower)]
    end = 0
    for start, length in sorted(words + digits):  # two sorted runs: a linear merge
        if start >= end:
            end = start + length
            yield start


def date_mentions(src: Source) -> list[DateMention]:
    """Every date the text mentions, in order."""
    out: list[DateMention] = []
    taken = 0
    for start in _date_hints(src.lower):
        if start < taken:
            continue
        m = DATE_RE.match(src.text, start)
        if m is None:
            continue
        taken = m.end()
        # the groups by position (DATE_RE's order; a dict of them costs more than the match)
        (iy, im, id_, ay, am, ad, bm, bd, by, cd, cm, cy, ed, em, ey, sa, sb, sy, wd, next_,
         same) = m.groups()
        if wd or next_ or same:
            kind = "next" if next_ else "same" if same else f"wd{_WEEKDAYS[wd[:3].lower()]}"
            out.append(DateMention(m.start(), m.end(), None, 0, 0, kind))
            continue
        if iy:
            y, mo, d = int(iy), int(im), int(id_)
        elif ey:
            y, mo, d = int(ey), int(em), int(ed)
        elif sy:
            y, mo, d = int(sy), int(sa), int(sb)
            if mo > 12:
                mo, d = d, mo
            elif d <= 12 and mo != d:
                src.warn(f"the date {m.group()!r} on line {src.line_of(m.start())} is read "
                         f"month first (US), as {y}-{mo:02d}-{d:02d}; write {y}-{d:02d}-"
                         f"{mo:02d} if the day comes first")
        elif am:
            y, mo, d = int(ay), MONTHS[am[:3].lower()], int(ad)
        elif bm:
            y = int(by) if by else None
            mo, d = MONTHS[bm[:3].lower()], int(bd)
        else:
            y = int(cy) if cy else None
            mo, d = MONTHS[cm[:3].lower()], int(cd)
        try:
            dt.date(y or 2000, mo, d)
        except ValueError:
            continue
        out.append(DateMention(m.start(), m.end(), y, mo, d, "abs"))
    return out
