"""Bundled incident reports and `parse_report`: postmortem text -> a polars table of events.

The parser reads prose, not one vendor's layout. It finds every clock time (24-hour, 12-hour,
ISO) that is not a duration, schedule or promise ("1:30 hours", "every day at 02:00", "next
update at 17:00"), gives it a date (in its clause, else carried from a heading or an earlier
sentence and rolled past midnight when the clock jumps back more than 12 hours, else `date=`,
else its status update's Posted date) and a zone (after the time, an "All times are PDT" line,
the last zone written, `tz=`). The column's zone is the report's own (document zone, else the
first zone written, else `tz=`); other zones are converted into it.

Text: an event's text runs from its clause to the next timed clause of its paragraph, so
untimed sentences stay with the event before them; the first event of a paragraph also takes
the untimed sentences before it. A time told twice (a summary, then a timeline) is one event:
the mention that starts a timeline line beats one that leads a clause ("At 13:56 ..."), which
beats one mid-sentence ("recovered around 13:56").

Labels: `KIND_CUES` and `SERVICE_CUES` (keyword rules, documented where they are defined),
then two rules of position: if nothing before the first detection is a trigger, the earliest
action or impact before it is; an action deployed after the incident ended (last recovery or
resolved update) is a followup. Statuspage updates ("Posted Mar 20, 2017 - 16:54 PDT" after
the body, or a status word such as "Resolved" before it) become `status_update` rows with the
status word, or one inferred from the body; a first block that holds the narrative is the
postmortem.

Limits (documented so a caller can rely on them): texts above `MAX_BYTES` (10 MiB) and texts
with more clock times than `MAX_TIMES` + `MAX_TIMES_PER_KIB` per KiB (logs, not reports) are
rejected with a ReportParseError; everything else parses in well under a second per megabyte.
"""
from __future__ import annotations

import bisect
import codecs
import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from incidentlab.errors import ReportParseError

MAX_BYTES = 10 * 1024 * 1024
# A report, not a log: at most this many times, plus this many per KiB of text. Discord's report
# has 3 per KiB; a dense "HH:MM - text" timeline about 30 per KiB over its first thousand lines.
MAX_TIMES = 1000
MAX_TIMES_PER_KIB = 5
KINDS = (
    "trigger", "impact", "detection", "diagnosis",
    "mitigation", "recovery", "communication", "followup",
)
STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem")

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "time": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "source": pl.String(),
    "kind": pl.String(),
    "services": pl.List(pl.String()),
    "approximate": pl.Boolean(),
    "status": pl.String(),
    "text": pl.String(),
    "line": pl.Int64(),
}

# --------------------------------------------------------------------------------------------
# Vocabulary: time zones, kinds, services, statuses
# --------------------------------------------------------------------------------------------

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
# polars names fixed offsets as Etc/GMT±H; offsets that are not whole hours need a city.
_FRACTIONAL_ZONES = {330: "Asia/Kolkata", 345: "Asia/Kathmandu", 570: "Australia/Darwin",
                     -210: "America/St_Johns", 630: "Australia/Adelaide"}

# Text is matched as cues: lower-case it, turn every run of non-letters/digits into one space,
# pad with spaces, then look for each cue as a substring. A leading space means "a word starts
# here", a trailing space "a word ends here": " notice" matches notice/noticed/notices.

# Kind cues, tried in this order on the clause holding the time (then on the whole event text);
# the first kind with a cue present wins. The order settles the overlaps:
# - communication first: a status page "updated to say service has recovered" is communication;
# - detection, then recovery, then diagnosis: "operation of all systems had been confirmed"
#   is a recovery, "isolated to the CPU soft locks" a diagnosis, not a trigger;
# - unmistakable trigger cues (soft lock, partition, "deploys a", spam) before mitigation, the
#   weak ones (disconnect, removed) after it: "engineers attempt to reboot ..., however this
#   causes further issues" is an action;
# - impact last. A clause with no cue takes the kind of the clause before it in the same
#   sentence ("..., and start this process at 16:24"), else `impact`.
KIND_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("communication", (" status page", " statuspage", " status update", " support team",
                       " customers were notified", " customers were informed", " tweet",
                       " announce", " posted an update", " notified users",
                       " notified customers", " notify users", " notify customers",
                       " health dashboard", " twitter")),
    ("followup", (" action item", " going forward", " in the future", " postmortem",
                  " post mortem", " long term", " to prevent this", " to prevent it ",
                  " to prevent such", " to prevent recurrence", " remediation")),
    ("detection", (" notice", " detect", " alerts ", " alerted", " alert fire", " alerts fire",
                   " alert went off", " alarm", " pages the", " pages our", " pages an ",
                   " pages on",
                   " paged", " page went", " pager", " became aware", " sees ",
                   " began investigat",
                   " begin investigat", " started investigat", " start investigat",
                   " began to investigat", " started to investigat", " investigation began",
                   " investigation started", " reported by", " reported that",
                   " user report", " users report", " customer report",
                   " monitoring showed", " monitoring detected")),
    ("recovery", (" recovered", " recovers", " restored", " back to normal", " back online",
                  " resolved", " reconnected", " fully operational", " operating normally",
                  " healthy again", " error rate returned", " error rates returned",
                  " error rates dropped", " error rate dropped", " caught up",
                  " restoration complete", " completed restoration", " had been processed",
                  " backlog is cleared", " backlog was cleared")),
    ("diagnosis", (" isolated", " identif", " root cause", " traced", " determined",
                   " found that", " found the", " found a ", " finds ", " pinpoint",
                   " narrowed", " diagnos", " confirm", " realized", " discovered")),
    ("trigger", (" soft lock", " softlock", " lock up", " lockup", " netsplit", " split brain",
                 " partition", " misconfigur", " accidental", " mistake", " by mistake",
                 " deploys a", " deployed a change", " pushed a", " introduced a",
                 " bad deploy", " spam", " ddos", " power loss", " power outage",
                 " loss of connectivity", " caused the outage")),
    ("mitigation", (" reboot", " restart", " disabl", " enabl", " patch", " rolled back",
                    " roll back", " rolling back", " rollback", " revert", " deploy",
                    " rolled out", " roll out", " rolling out", " rollout", " failover",
                    " fail over", " failed over", " scaled up", " scale up", " scaling up",
                    " scaled out", " scale out", " shed ", " throttl", " rate limit",
                    " block", " drain", " reroute", " mitigat", " workaround", " promot",
                    " kill", " cordon", " paus", " restoring", " redirect", " decision to",
                    " work on ", " provision", " replac")),
    ("trigger", (" disconnect", " went down", " fault ", " deleted ", " removed ", " trigger",
                 " expired", " corrupt", " high load", " surge", " spike")),
    ("impact", (" failed ", " fails ", " failing ", " crash", " oom ", " out of memory",
                " overload", " degrad", " error ", " errors ", " latency", " unavailable",
                " outage", " cascad", " stall", " down ", " timeout", " timed out", " slow",
                " unable", " backlog", " queu")),
)
_KIND_CUE_RES = tuple((kind, re.compile("|".join(map(re.escape, cues))))
                      for kind, cues in KIND_CUES)
# Narrative actions after the incident ended (last recovery or resolved update) are followups.
_AFTER_INCIDENT_CUES = (" deploy", " rolled out", " rollout", " upgrade", " fix", " change",
                        " patch", " added")

# Service vocabulary: name -> cues, matched on the event text (where "direct message(s)" reads
# as "dm", so DMs are not also "messages"); names are listed in order of first mention.
SERVICE_CUES: dict[str, tuple[str, ...]] = {
    "presence": (" presence ",),
    "sessions": (" session ", " sessions "),
    "api": (" api ", " apis "),
    "clients": (" client ", " clients "),
    "dms": (" dm ", " dms "),
    "messages": (" message ", " messages ", " messaging ", " msgs "),
    "status_page": (" status page", " statuspage"),
    "support": (" support ",),
    "database": (" database", " db ", " db1 ", " db2 ", " postgres", " mysql", " replica"),
    "network": (" network", " router", " bgp ", " fiber", " fibre", " optical", " backbone"),
    "gateway": (" gateway",),
    "hypervisor": (" hypervisor", " vm ", " vms ", " virtual machine", " physical host"),
    "cloud": (" google cloud", " gcp ", " aws ", " azure ", " cloud provider"),
    "storage": (" storage ", " s3 ", " disk ", " disks ", " volume ", " volumes "),
    "dns": (" dns ",),
    "cdn": (" cdn ", " edge "),
    "load_balancer": (" load balanc", " loadbalanc"),
    "cache": (" cache", " memcache", " redis "),
    "git": (" git ", " repositor"),
    "web": (" website", " web server", " web app", " web ui", " web front", " frontend"),
    "auth": (" auth ", " authentication", " authorization", " oauth", " login", " log in",
             " sign in"),
    "queue": (" message queue", " job queue", " kafka ", " queue server", " queue service"),
    "backup": (" backup", " snapshot"),
    "webhooks": (" webhook",),
}
_SERVICE_OF_CUE = {cue: name for name, cues in SERVICE_CUES.items() for cue in cues}
_SERVICE_CUE_RE = re.compile(  # zero-width, so cues that share a space all match
    "(?=(" + "|".join(re.escape(c) for c in sorted(_SERVICE_OF_CUE, key=len, reverse=True))
    + "))")
_NON_WORD_RE = re.compile(r"[^a-z0-9]+")
_DM_RE = re.compile(r"direct messages?")


def _cue_text(text: str) -> str:
    """Text as cues see it: lower case, one space between words, padded."""
    return f" {_NON_WORD_RE.sub(' ', _DM_RE.sub('dm', text.lower()))} "


# Status inference from an update body, strongest first.
_STATUS_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("resolved", re.compile(r"(?:has|have) been resolved|\bis resolved|back to (?:normal|"
                            r"nominal)|nominal operation|operating (?:as )?normal|all systems "
                            r"operational|fully recovered|\bresolved\b(?! by)", re.I)),
    ("monitoring", re.compile(r"\bmonitor(?:ing)?\b|fix has been (?:implemented|deployed)|"
                              r"recovering|seeing (?:improvement|recovery)", re.I)),
    ("identified", re.compile(r"\bidentified\b|\bisolated\b|root cause|\bdue to\b|caused by|"
                              r"work(?:ing)? on (?:a )?fix|implementing|restart|reboot|rolling "
                              r"(?:out|back)", re.I)),
    ("investigating", re.compile(r"investigat|looking into|aware of|experiencing", re.I)),
)
_STATUS_WORDS = {
    "resolved": "resolved", "completed": "resolved", "monitoring": "monitoring",
    "identified": "identified", "investigating": "investigating", "postmortem": "postmortem",
    "post-mortem": "postmortem", "update": None, "updated": None, "in progress": None,
    "verifying": None, "scheduled": None,
}
_STATUS_LINE_RE = re.compile(
    r"^[\s*#_]*(?P<word>resolved|completed|monitoring|identified|investigating|post-?mortem|"
    r"update[d]?|in progress|verifying|scheduled)[*_]*\s*(?:$|[-–—:]\s*(?P<rest>.*)$)", re.I)
_POSTED_RE = re.compile(r"^\s*posted\b", re.I)

# --------------------------------------------------------------------------------------------
# Patterns for times, dates, zones
# --------------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (r"(?P<{g}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|(?-i:May)|june?|july?|"
          r"aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"(?P<{g}>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?(?![\d:])"
_DATE_RE = re.compile(
    r"(?<![\d/.])(?P<iy>(?:19|20)\d\d)[-/.](?P<im>0?[1-9]|1[0-2])[-/.](?P<id>0?[1-9]|[12]\d|3[01])"
    r"(?![\d/])"
    rf"|\b(?P<ay>(?:19|20)\d\d)\s+{_MONTH.format(g='am')}\s+{_DAY.format(g='ad')}"
    rf"|\b{_MONTH.format(g='bm')}\s+{_DAY.format(g='bd')}(?:,?\s+(?P<by>(?:19|20)\d\d)\b)?"
    rf"|\b{_DAY.format(g='cd')}\s+(?:of\s+)?{_MONTH.format(g='cm')}(?:,?\s+(?P<cy>(?:19|20)\d\d)\b)?"
    r"|\b(?P<wd>mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b"
    r"|\b(?P<next>(?:next|following)\s+(?:day|morning))\b",
    re.I,
)
# Where a date can start (on the ASCII-lower-cased text); _DATE_RE is tried only there, which
# keeps date finding linear and fast on long texts full of numbers.
_DATE_HINT_RE = re.compile(
    r"(?<![a-z0-9])(?:\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|"
    r"sat|sun|next|following)")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_ZONE_TOKEN = (r"(?P<{g}>(?-i:UTC|GMT)\s?[+-]\s?\d{{1,2}}(?::?\d\d)?|[+-](?:0\d|1[0-4]):?\d\d|"
               r"(?-i:" + "|".join(sorted((z for z in ZONE_NAMES if z.isupper() and z != "Z"),
                                          key=len, reverse=True)) + r")\b|(?<=\d)(?-i:Z)\b)")
_TIME_RE = re.compile(
    r"(?:(?<![\w.:/$£€#])|(?<=\dT))"
    r"(?:(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d)(?:\.\d+)?)?"
    r"(?:\s?(?P<ap>[ap])\.?m\b\.?)?"
    r"|(?P<h12>1[0-2]|0?[1-9])\s?(?P<ap12>[ap])\.?m\b\.?)"
    r"(?!(?!Z\b)\w|[:.]\d)"
    r"(?P<ish>-?ish\b)?"
    rf"(?:\s?\(?{_ZONE_TOKEN.format(g='zone')}\)?)?"
    r"(?P<ish2>-?ish\b)?",
    re.I,
)
# A zone-looking token: all caps (PDT, or an unknown "XYZ" to report), an offset, or IANA.
_ZONE_WORD = (r"(?-i:[A-Z]{2,5}(?:[+-]\d{1,2}(?::?\d\d)?)?\b|[A-Z][A-Za-z_]+/[A-Za-z_/]+|"
              r"Pacific|Eastern|Central|Mountain)|[+-]\d\d:?\d\d")
_DOC_ZONE_RE = re.compile(
    r"\b(?:all\s+)?times?\b(?:\s+[\w’']+){0,5}?\s+(?:are|is|in|listed\s+in|given\s+in|"
    rf"shown\s+in)\s+(?:in\s+)?(?:the\s+)?(?P<z>{_ZONE_WORD})"
    rf"|\b(?:time\s*zone|timezone)\s*[:=]\s*(?P<z2>{_ZONE_WORD})"
    rf"|\b(?:all\s+times|times?|timestamps?)\s*[:(,]?\s*\(?(?P<z3>{_ZONE_WORD})\)",
    re.I,
)
_RANGE_GAP_RE = re.compile(r"^\s*(?:-|–|—|to|until|till|through|and)\s*$", re.I)
_APPROX_RE = re.compile(
    r"(?:\b(?:around|about|approximately|approx\.?|roughly|circa|nearly|near|by|shortly\s+"
    r"(?:after|before)|sometime\s+(?:after|before|around))|~)\s*(?:at\s+)?$", re.I)
_LEAD_RE = re.compile(
    r"^(?:[\s,;:\-–—*•|#>()\[\]]|\d+\.|\b(?:and|then|but|at|by|around|about|approximately|"
    r"approx\.?|roughly|circa|on|from|between|until|till|shortly|just|after|before|since|"
    r"starting|beginning|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b|~)*$", re.I)
# What may stand before the time of a timeline line ("- 2017/02/01 around 10:00: ...").
_TIMELINE_HEAD_RE = re.compile(
    r"^(?:[\s,;:\-–—*•|#>()\[\]_]|\d+\.|\b(?:around|about|approx\.?|approximately|circa|"
    r"roughly)\b|~)*$", re.I)
_NON_EVENT_AFTER_RE = re.compile(
    r"\s*(?:hours?|hrs?|h\b|minutes?|mins?|of downtime|(?:[A-Z]{2,4}\s+)?(?:daily|every|each|"
    r"nightly|hourly))", re.I)
_NON_EVENT_HINT_RE = re.compile(  # cheap test before the anchored search below
    r"(?i:every|each|daily|nightly|hourly|weekly|last|duration|total|will|expect|eta|next|"
    r"schedul)")
_NON_EVENT_BEFORE_RE = re.compile(
    r"\b(?:every|each|daily|nightly|hourly|weekly|lasted|lasting|duration|for a total of|"
    r"will|expect(?:ed|s)?\s+to|eta|next\s+update|scheduled\s+(?:for|at))\b[^.;!?]*$", re.I)
_CLAUSE_SEP_RE = re.compile(r"[,;]\s*(?:and|then|but|while)?\s+|\s+(?:and|then)\s+", re.I)
_SENTENCE_END_RE = re.compile(r"[.!?…][\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])|\n\s*\n")
_NO_SPLIT_BEFORE = frozenset(("approx.", "e.g.", "i.e.", "etc.", "vs.", "mr.", "dr.", "inc.",
                              "a.m.", "p.m.", "u.s.", "no.", "st.", "ca."))
_LIST_LINE_RE = re.compile(r"^\s*(?:[-*•|]|\d+[.)]\s|#+\s)")

# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def parse_report(
    text: str | bytes, *, date: str | dt.date | None = None, tz: str | None = None
) -> pl.DataFrame:
    """Turn an incident report's text into the events table (schema in docs/architecture.md).

    `date=` ("2017-03-20") dates times the text leaves undated; `tz=` ("PDT", "UTC",
    "America/Los_Angeles", "-07:00") zones times the text leaves unzoned. Raises
    ReportParseError naming what is missing and how to supply it.
    """
    text = _as_text(text)
    base_date = _date_arg(date)
    tz_arg = _zone_arg(tz)
    return _Parser(text, base_date, tz_arg).run()


def report_text(name: str = "discord-2017-03-20") -> str:
    """The bundled report `name` exactly as published (see data/PROVENANCE.md)."""
    return _data_path(f"{name}.txt", name).read_text(encoding="utf-8")


def load_report(name: str = "discord-2017-03-20") -> pl.DataFrame:
    """The bundled report `name`, parsed into events."""
    return parse_report(report_text(name))


def answer_key(name: str = "discord-2017-03-20") -> pl.DataFrame:
    """The hand-labelled events of bundled report `name`, in the same schema as `parse_report`."""
    path = _data_path(f"{name}.events.csv", name)
    raw = pl.read_csv(path, infer_schema=False)
    zone = _offset_zone_name(raw["time"][0][-6:])
    iso = "%Y-%m-%dT%H:%M:%S%:z"
    return raw.select(
        pl.col("time").str.to_datetime(iso, time_unit="us").dt.convert_time_zone(zone),
        pl.col("end").str.to_datetime(iso, time_unit="us").dt.convert_time_zone(zone),
        pl.col("source"),
        pl.col("kind"),
        pl.col("services").fill_null("").str.split(";").list.filter(pl.element() != ""),
        pl.col("approximate") == "true",
        pl.col("status"),
        pl.col("text"),
        pl.col("line").cast(pl.Int64),
    )


def bundled_reports() -> list[str]:
    """Names of the reports bundled in data/."""
    return sorted(p.name[: -len(".txt")] for p in _data_dir().iterdir()
                  if p.name.endswith(".txt"))


# --------------------------------------------------------------------------------------------
# Bundled data: an installed wheel holds it as incidentlab/_data, a checkout as data/
# --------------------------------------------------------------------------------------------


def _data_dir():
    packaged = resources.files("incidentlab") / "_data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "data"


def _data_path(filename: str, name: str):
    path = _data_dir() / filename
    if not path.is_file():
        raise ReportParseError(
            f"no bundled report {name!r} (looked for {filename}); "
            f"available: {', '.join(bundled_reports()) or 'none'}"
        )
    return path


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _as_text(text: str | bytes) -> str:
    """The report as checked, newline-normalised text, or a ReportParseError saying why not."""
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        if len(raw) > MAX_BYTES:
            raise _too_big(len(raw))
        # a byte-order mark says which Unicode encoding an editor saved (UTF-16 from Windows)
        encoding = ("utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
                    else "utf-8-sig")
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as err:
            raise ReportParseError(
                f"report bytes are not UTF-8 text (byte 0x{raw[err.start]:02x} at offset "
                f"{err.start}); save the report as UTF-8 text, or decode it and pass a str"
            ) from None
    if not isinstance(text, str):
        raise ReportParseError(
            f"report must be str (or UTF-8 bytes), got {type(text).__name__}"
        )
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _too_big(len(text.encode("utf-8", "surrogatepass")))
    if not text.strip():
        raise ReportParseError(
            "report text is empty; pass the text of an incident report, e.g. "
            "incidentlab.report_text('discord-2017-03-20')"
        )
    nul = text.find("\x00")
    if nul >= 0:
        raise ReportParseError(
            f"report looks binary (NUL character at offset {nul}); pass the report's text, "
            "not the bytes of a PDF, image or archive"
        )
    controls = sum(1 for ch in text[:65536] if ch < " " and ch not in "\t\n\r\f\v")
    if controls > 0.1 * min(len(text), 65536):
        raise ReportParseError(
            f"report looks binary ({controls} control characters in its first "
            f"{min(len(text), 65536)} characters); pass plain text"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _too_big(size: int) -> ReportParseError:
    return ReportParseError(
        f"report is {size / 2**20:.1f} MiB; the limit is {MAX_BYTES // 2**20} MiB of text. "
        "Pass one incident report (cut the text to the incident's sections)"
    )


def _date_arg(date: str | dt.date | None) -> dt.date | None:
    if date is None or (isinstance(date, dt.date) and not isinstance(date, dt.datetime)):
        return date
    if isinstance(date, dt.datetime):
        return date.date()
    try:
        return dt.date.fromisoformat(str(date).strip())
    except ValueError:
        raise ReportParseError(
            f"date={date!r} is not a date; pass date='YYYY-MM-DD', e.g. date='2017-03-20'"
        ) from None


@dataclass(frozen=True)
class _Zone:
    label: str
    tzinfo: dt.tzinfo
    polars: str  # the name polars uses for the column


def _zone_arg(tz: str | None) -> _Zone | None:
    if tz is None:
        return None
    zone = _zone(str(tz).strip())
    if zone is None:
        raise ReportParseError(
            f"tz={tz!r} is not a time zone I know; pass an abbreviation such as UTC, PDT, "
            "PST, EDT, CET or IST (all: incidentlab.reports.ZONE_NAMES), an IANA name such as "
            "'America/Los_Angeles', or an offset such as '-07:00'"
        )
    return zone


def _fixed_zone(minutes: int, label: str) -> _Zone:
    tzinfo = dt.timezone(dt.timedelta(minutes=minutes))
    if minutes == 0:
        return _Zone(label, dt.UTC, "UTC")
    if minutes % 60 == 0:
        return _Zone(label, tzinfo, f"Etc/GMT{-minutes // 60:+d}")
    city = _FRACTIONAL_ZONES.get(minutes)
    return _Zone(label, tzinfo if city is None else ZoneInfo(city), city or "UTC")


def _offset_zone_name(offset: str) -> str:
    zone = _zone(offset)
    return "UTC" if zone is None else zone.polars


def _zone(token: str) -> _Zone | None:
    """A zone from an abbreviation, an offset ('-07:00', 'UTC+2') or an IANA name."""
    key = re.sub(r"\s+", "", token)
    named = ZONE_NAMES.get(key.upper()) if key.upper() == key or len(key) > 4 else None
    if named is None and key.upper() in ("PACIFIC", "MOUNTAIN", "CENTRAL", "EASTERN"):
        named = ZONE_NAMES[key.upper()]
    if isinstance(named, int):
        return _fixed_zone(named, key.upper())
    if isinstance(named, str):
        return _Zone(key.upper(), ZoneInfo(named), named)
    m = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d\d))?", key, re.I)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        if minutes > 14 * 60:
            return None
        return _fixed_zone(minutes if m.group(1) == "+" else -minutes, key)
    if "/" in key:
        try:
            return _Zone(key, ZoneInfo(key), key)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return None


# --------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------


@dataclass
class _Mention:
    """One clock time found in the text, with everything later steps need."""

    start: int
    end: int
    clock: int  # minutes after midnight
    second: int
    zone: str | None
    approximate: bool
    line: int
    posting: bool = False
    para: tuple[int, int] = (0, 0)
    end_mention: _Mention | None = None
    date: dt.date | None = None
    instant: dt.datetime | None = None  # aware
    seg_start: int = 0
    score: int = 0  # 2: starts a timeline line, 1: leads its clause, 0: mid-sentence
    sentence: int = -1
    dropped: bool = False


class _Date(NamedTuple):
    """A date in the text: absolute (kind 'abs', year may be missing), a weekday ('wd0' is
    Monday ... 'wd6'), or 'next' ("the next day")."""

    start: int
    end: int
    year: int | None
    month: int
    day: int
    kind: str


@dataclass
class _Posting:
    """One status update: its "Posted" time, status word, body and the text span it covers."""

    mention: _Mention
    status_word: str | None
    body: str
    first_para: str
    block: tuple[int, int]
    has_narrative: bool = False
    paragraphs: int = 0


class _Parser:
    """One parse of one text: each step below reads what the steps before it found."""

    def __init__(self, text: str, base_date: dt.date | None, tz_arg: _Zone | None) -> None:
        self.text = text
        self.base_date = base_date
        self.tz_arg = tz_arg
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.lower = text.translate(_LOWER)  # same length as text, so offsets agree

    def _sentence_breaks(self) -> None:
        """Every sentence break in the text once: (where the break starts, where the next
        sentence starts). Abbreviations such as "approx." and "a.m." do not break."""
        breaks = [(m.start(), m.end()) for m in _SENTENCE_END_RE.finditer(self.text)
                  if _splits(self.text, m)]
        self.break_starts = [b[0] for b in breaks]
        self.break_ends = [b[1] for b in breaks]

    def sentence_start(self, pos: int, floor: int) -> int:
        """Start of the sentence holding `pos`, not before `floor`."""
        i = bisect.bisect_right(self.break_ends, pos)
        return max(floor, self.break_ends[i - 1]) if i else floor

    def sentence_end(self, pos: int, ceiling: int) -> int:
        """End of the sentence holding `pos` (after its full stop), not after `ceiling`."""
        i = bisect.bisect_left(self.break_starts, pos)
        return min(ceiling, self.break_starts[i] + 1) if i < len(self.break_starts) else ceiling

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos)

    def line_span(self, line: int) -> tuple[int, int]:
        start = self.line_starts[line - 1]
        end = self.line_starts[line] - 1 if line < len(self.line_starts) else len(self.text)
        return start, end

    # ---- steps ---------------------------------------------------------------------------

    def run(self) -> pl.DataFrame:
        self.doc_zone = self._document_zone()
        self._sentence_breaks()
        mentions = self._mentions()
        if not mentions:
            raise ReportParseError(
                "no times found in the report; an incident report needs timed events such as "
                "'At 11:38 ...', '14:18 UTC - ...', '9:37AM PST' or 'Posted Mar 20, 2017 - "
                "16:54 PDT'"
            )
        limit = MAX_TIMES + MAX_TIMES_PER_KIB * len(self.text) // 1024
        if len(mentions) > limit:
            raise ReportParseError(
                f"report has {len(mentions):,} clock times in {len(self.text) / 1024:,.0f} KiB; "
                f"the limit is {MAX_TIMES:,} plus {MAX_TIMES_PER_KIB} per KiB ({limit:,} here). "
                "This looks like a log, not an incident report: pass the report's timeline only"
            )
        self.dates = self._date_mentions()
        self.doc_year = next((d.year for d in self.dates if d.year is not None), None)
        postings = self._postings(mentions)
        narrative = [m for m in mentions if not m.posting]
        self._paragraphs(narrative)
        self._resolve_dates(mentions, postings)
        self.column_zone = self._column_zone(mentions)
        for m in mentions:
            self._resolve_instant(m)
        self._segments(narrative)
        self._all_narr, self._starts = narrative, [m.start for m in narrative]
        self._dedupe(narrative)
        narrative = [m for m in narrative if not m.dropped]
        rows = self._narrative_rows(narrative)
        rows += self._status_rows(postings, narrative)
        self._first_trigger(rows)
        self._followups(rows)
        return self._frame(rows)

    def _document_zone(self) -> _Zone | None:
        """The zone of an "All times within this document are PDT" line, if any."""
        pos = self.lower.find("time")
        while pos >= 0:
            m = _DOC_ZONE_RE.search(self.text, max(0, pos - 4), pos + 120)
            pos = self.lower.find("time", pos + 4)
            if m is None:
                continue
            token = m.group("z") or m.group("z2") or m.group("z3")
            zone = _zone(token)
            if zone is not None:
                return zone
            if re.fullmatch(r"[A-Z]{2,5}|[A-Za-z_]+/[A-Za-z_/]+|(?:UTC|GMT)[+-].*", token):
                line = self.line_of(m.start())
                raise ReportParseError(
                    f"unknown time zone {token!r} on line {line}; use an abbreviation such as "
                    "PDT or UTC, an offset such as UTC-7, or pass tz='America/Los_Angeles'"
                )
        return None

    def _mentions(self) -> list[_Mention]:
        found: list[_Mention] = []
        text = self.text
        for m in _TIME_RE.finditer(text):
            if m.group("h12"):
                hour, minute, ap = int(m.group("h12")), 0, m.group("ap12")
            else:
                hour, minute, ap = int(m.group("h")), int(m.group("m")), m.group("ap")
            if ap and hour <= 12:
                hour = hour % 12 + (12 if ap.lower() == "p" else 0)
            before = text[max(0, m.start() - 80): m.start()]
            if _NON_EVENT_AFTER_RE.match(text, m.end()) or (
                    _NON_EVENT_HINT_RE.search(before) and _NON_EVENT_BEFORE_RE.search(before)):
                continue
            found.append(_Mention(
                start=m.start(), end=m.end(), clock=hour * 60 + minute,
                second=int(m.group("s") or 0), zone=m.group("zone"),
                approximate=bool(_APPROX_RE.search(before[-32:]) or m.group("ish")
                                 or m.group("ish2")),
                line=self.line_of(m.start()),
            ))
        merged: list[_Mention] = []
        for m in found:
            prev = merged[-1] if merged else None
            if (prev is not None and prev.end_mention is None and m.start - prev.end <= 12
                    and _RANGE_GAP_RE.match(text[prev.end: m.start])
                    and (text[prev.end:m.start].strip().lower() != "and"
                         or text[max(0, prev.start - 9): prev.start].lower().rstrip()
                         .endswith("between"))):
                prev.end_mention = m
                if prev.zone is None:
                    prev.zone = m.zone
                continue
            merged.append(m)
        return merged

    def _date_mentions(self) -> list[_Date]:
        """Every date the text mentions, in order."""
        out: list[_Date] = []
        taken = 0
        for hint in _DATE_HINT_RE.finditer(self.lower):
            if hint.start() < taken:
                continue
            m = _DATE_RE.match(self.text, hint.start())
            if m is None:
                continue
            taken = m.end()
            g = m.groupdict()
            if g["wd"] or g["next"]:
                out.append(_Date(m.start(), m.end(), None, 0, 0,
                                  "next" if g["next"] else f"wd{_WEEKDAYS[g['wd'][:3].lower()]}"))
                continue
            if g["iy"]:
                y, mo, d = int(g["iy"]), int(g["im"]), int(g["id"])
            elif g["am"]:
                y, mo, d = int(g["ay"]), _MONTHS[g["am"][:3].lower()], int(g["ad"])
            elif g["bm"]:
                y = int(g["by"]) if g["by"] else None
                mo, d = _MONTHS[g["bm"][:3].lower()], int(g["bd"])
            else:
                y = int(g["cy"]) if g["cy"] else None
                mo, d = _MONTHS[g["cm"][:3].lower()], int(g["cd"])
            try:
                dt.date(y or 2000, mo, d)
            except ValueError:
                continue
            out.append(_Date(m.start(), m.end(), y, mo, d, "abs"))
        return out

    def _postings(self, mentions: list[_Mention]) -> list[_Posting]:
        """Status updates: a 'Posted ...' line, or a bare timestamp line after a status word."""
        by_line: dict[int, list[_Mention]] = {}
        for m in mentions:
            by_line.setdefault(m.line, []).append(m)
        postings: list[_Posting] = []
        block_start_line = 1
        lines = self.text.split("\n")
        status_line: int | None = None
        for number, content in enumerate(lines, start=1):
            if (len(content) < 400 and _STATUS_LINE_RE.match(content)
                    and (status_line is None or status_line < block_start_line)):
                status_line = number
            if number not in by_line:
                continue
            has_status = status_line is not None and status_line >= block_start_line
            is_posted = bool(_POSTED_RE.match(content))
            if not is_posted and not (has_status and self._bare_timestamp(content)):
                continue
            mention = by_line[number][0]
            for other in by_line[number]:
                other.posting = True
            body_from = status_line if has_status else block_start_line
            word = rest = None
            if has_status:
                sm = _STATUS_LINE_RE.match(lines[status_line - 1])
                word, rest = sm.group("word").lower(), sm.group("rest")
            body_lines = lines[body_from - 1: number - 1]
            if has_status:
                body_lines = [rest or "", *body_lines[1:]]
            body = "\n".join(body_lines).strip()
            first_para = re.split(r"\n\s*\n", body, maxsplit=1)[0] if body else ""
            postings.append(_Posting(
                mention=mention, status_word=word, body=body, first_para=first_para,
                block=(self.line_starts[body_from - 1], self.line_starts[number - 1]),
                paragraphs=len(re.findall(r"\n\s*\n", body)) + 1,
            ))
            block_start_line = number + 1
        return postings

    def _bare_timestamp(self, content: str) -> bool:
        rest = _TIME_RE.sub(" ", content)
        rest = _DATE_RE.sub(" ", rest)
        return not re.sub(r"[\s,\-–—:.()|*_]|posted|at|ago|\d+\s+\w+", "", rest, flags=re.I)

    def _paragraphs(self, narrative: list[_Mention]) -> None:
        """Give each narrative time its paragraph: blank lines and Posted lines split, and a
        list item (or a line that starts with a time) starts a paragraph of its own."""
        text, starts = self.text, self.line_starts
        n = len(starts)
        para_start = [0] * (n + 1)  # per 1-based line: first line of its paragraph (0 = none)
        para_end: dict[int, int] = {}  # first line -> last line
        current = 0
        for number in range(1, n + 1):
            start, end = self.line_span(number)
            content = text[start:end]
            if (not content.strip() or self._is_posting_line(number)
                    or (len(content) < 40 and _STATUS_LINE_RE.match(content))):
                current = 0
                continue
            if current == 0 or _is_item(content):
                current = number
            para_start[number] = current
            para_end[current] = number
        for m in narrative:
            first = para_start[m.line] or m.line
            last = para_end.get(first, m.line)
            m.para = (starts[first - 1], self.line_span(last)[1])

    def _is_posting_line(self, line: int) -> bool:
        start, end = self.line_span(line)
        return bool(_POSTED_RE.match(self.text[start:end]))

    def _resolve_dates(self, mentions: list[_Mention], postings: list[_Posting]) -> None:
        """Date each time: a date in its clause, else the carried date (rolled past midnight
        when the clock jumps back more than 12 h), else `date=`, else its update's Posted date.
        Posted lines are dated the same way but never carry their date to the narrative."""
        date_starts = [d.start for d in self.dates]
        current: dt.date | None = None
        last_clock: int | None = None
        cursor = 0  # dates before this index have been folded into `current`
        for i, m in enumerate(mentions):
            lo = max(mentions[i - 1].end if i else 0, self.line_starts[m.line - 1]
                     if m.posting else m.para[0])
            hi = mentions[i + 1].start if i + 1 < len(mentions) else len(self.text)
            hi = min(hi, self.line_span(m.line)[1] if m.posting else m.para[1],
                     self.sentence_end(m.end, hi))
            lo = max(lo, self.sentence_start(m.start, lo))
            # carry every date mentioned before this clause
            while cursor < len(self.dates) and self.dates[cursor].start < lo:
                current = self._apply_date(self.dates[cursor], current) or current
                cursor += 1
            own = [d for d in self.dates[bisect.bisect_left(date_starts, lo):
                                         bisect.bisect_left(date_starts, hi)]]
            chosen: dt.date | None = None
            for d in sorted(own, key=lambda d: abs(d.start - m.start)):
                if d.kind == "abs":
                    chosen = self._apply_date(d, current)
                    break
            if chosen is None:
                for d in own:
                    if d.kind != "abs" and (current or self.base_date):
                        chosen = self._apply_date(d, current or self.base_date)
                        break
            if chosen is not None:
                m.date = chosen
                if not m.posting:
                    current, last_clock = chosen, m.clock
                # dates inside this clause are consumed
                while cursor < len(self.dates) and self.dates[cursor].start < hi:
                    cursor += 1
            elif not m.posting and current is not None:
                if last_clock is not None and m.clock < last_clock - 12 * 60:
                    current = current + dt.timedelta(days=1)
                m.date, last_clock = current, m.clock
            elif not m.posting and self.base_date is not None:
                current, last_clock = self.base_date, m.clock
                m.date = current
            elif m.posting:  # "Posted 19:03 UTC" with no date: the date the text is at
                m.date = current or self.base_date
        # times still undated take the date of the status update they sit in
        # (an update reports the past: a clock later than its Posted clock is the day before)
        block_starts = [p.block[0] for p in postings]
        for m in mentions:
            i = bisect.bisect_right(block_starts, m.start) - 1
            if m.date is None and i >= 0 and m.start < postings[i].block[1]:
                posted = postings[i].mention
                if posted.date is not None:
                    back = 1 if m.clock > posted.clock else 0
                    m.date = posted.date - dt.timedelta(days=back)
            if m.date is None:
                raise ReportParseError(
                    f"no date found for {self.text[m.start:m.end].strip()!r} on line {m.line}; "
                    "pass date='YYYY-MM-DD' (e.g. date='2017-03-20'; on the command line --date) "
                    "or add a date line such as 'March 20, 2017' above it"
                )

    def _apply_date(self, d: _Date, current: dt.date | None) -> dt.date | None:
        """The calendar date `d` names, read from `current` (the date the text is at)."""
        if d.kind == "next":
            return current + dt.timedelta(days=1) if current else None
        if d.kind.startswith("wd"):
            if current is None:
                return None
            return current + dt.timedelta(days=(int(d.kind[2:]) - current.weekday()) % 7)
        said, line = self.text[d.start:d.end], self.line_of(d.start)
        year = d.year or (current.year if current else self.doc_year
                          or (self.base_date.year if self.base_date else None))
        if year is None:
            raise ReportParseError(
                f"no year for the date {said!r} on line {line}; pass date='YYYY-MM-DD' or "
                "write the year, e.g. 'March 20, 2017'"
            )
        try:
            return dt.date(year, d.month, d.day)
        except ValueError:
            raise ReportParseError(
                f"the date {said!r} on line {line} does not exist in {year}; "
                "correct it or write the year"
            ) from None

    def _zone_of(self, m: _Mention, carried: _Zone | None) -> _Zone | None:
        if m.zone:
            return _zone(m.zone)
        return self.doc_zone or carried or self.tz_arg or self.first_zone

    def _column_zone(self, mentions: list[_Mention]) -> _Zone:
        explicit = [_zone(m.zone) for m in mentions if m.zone]
        self.first_zone = next((z for z in explicit if z is not None), None)
        zone = self.doc_zone or self.first_zone or self.tz_arg
        if zone is None:
            m = mentions[0]
            raise ReportParseError(
                f"no time zone found for {self.text[m.start:m.end].strip()!r} on line {m.line}; "
                "pass tz='UTC' (or 'PDT', 'America/Los_Angeles', '-07:00'; on the command line "
                "--tz) or add a line such as 'All times are UTC'"
            )
        self._carried_zone: _Zone | None = None
        return zone

    def _resolve_instant(self, m: _Mention) -> None:
        zone = self._zone_of(m, self._carried_zone)
        if m.zone and zone is not None:
            self._carried_zone = zone
        if zone is None:  # pragma: no cover - _column_zone guarantees a fallback
            raise ReportParseError(f"no time zone for the time on line {m.line}; pass tz='UTC'")
        hour, minute = divmod(m.clock, 60)
        m.instant = dt.datetime.combine(m.date, dt.time(hour, minute, m.second),
                                        tzinfo=zone.tzinfo)
        if m.end_mention is not None:
            e = m.end_mention
            eh, em = divmod(e.clock, 60)
            end_date = m.date + dt.timedelta(days=1) if e.clock < m.clock else m.date
            e.instant = dt.datetime.combine(end_date, dt.time(eh, em, e.second),
                                            tzinfo=_zone(e.zone).tzinfo if e.zone else
                                            zone.tzinfo)

    def _segments(self, narrative: list[_Mention]) -> None:
        """Cut each paragraph into clauses: one per time; mark times that lead their clause."""
        text = self.text
        by_para: dict[tuple[int, int], list[_Mention]] = {}
        for m in narrative:
            by_para.setdefault(m.para, []).append(m)
        for (pstart, _pend), items in by_para.items():
            prev: _Mention | None = None
            for m in items:
                sent_start = self.sentence_start(m.start, pstart)
                if prev is not None and prev.end > sent_start:
                    gap = text[(prev.end_mention or prev).end: m.start]
                    seps = list(_CLAUSE_SEP_RE.finditer(gap))
                    m.seg_start = (prev.end_mention or prev).end + (seps[-1].start() if seps
                                                                     else len(gap))
                    m.sentence = prev.sentence
                else:
                    m.seg_start = sent_start
                    m.sentence = sent_start
                prefix = text[m.seg_start: m.start]
                prefix_wo_dates = _DATE_RE.sub(" ", prefix)
                line_head = text[self.line_starts[m.line - 1]: m.start]
                if _TIMELINE_HEAD_RE.match(_DATE_RE.sub(" ", line_head)):
                    m.score = 2
                elif _LEAD_RE.match(prefix_wo_dates):
                    m.score = 1
                prev = m

    def _dedupe(self, narrative: list[_Mention]) -> None:
        """A time told twice is one event: a summary's mention yields to the timeline's. The
        mention that starts a timeline line wins over one leading a clause ("At 13:56 ..."),
        which wins over one mid-sentence ("recovered around 13:56"); equals are all kept."""
        best: dict[dt.datetime, int] = {}
        for m in narrative:
            best[m.instant] = max(best.get(m.instant, 0), m.score)
        for m in narrative:
            m.dropped = m.score < best[m.instant]

    def _narrative_rows(self, narrative: list[_Mention]) -> list[dict]:
        text = self.text
        rows: list[dict] = []
        # every time, kept or dropped, ends the text of the event before it
        for m in narrative:
            end = m.para[1]
            cut = self._next_cut(m)
            if cut is not None:
                end = min(end, cut)
            start = m.para[0] if self._first_in_para(m) else m.seg_start
            clause_end = min(end, self.sentence_end(m.end, end))
            clause = text[m.seg_start: clause_end]
            body = _clean(text[start:end])
            cues = _cue_text(body)
            kind = _kind(_cue_text(clause)) or _kind(cues)
            rows.append({
                "time": m.instant, "end": m.end_mention.instant if m.end_mention else None,
                "source": "narrative", "kind": kind, "services": _services(cues),
                "approximate": m.approximate, "status": None, "text": body, "line": m.line,
                "_sentence": (m.para, m.sentence),
            })
        for i, row in enumerate(rows):  # a clause with no keyword takes its sentence-mate's
            if row["kind"] is None:
                mates = [r["kind"] for r in rows[max(0, i - 3): i] if r["kind"]
                         and r["_sentence"] == row["_sentence"]]
                row["kind"] = mates[-1] if mates else "impact"
        return rows

    def _first_in_para(self, m: _Mention) -> bool:
        i = bisect.bisect_left(self._starts, m.start)
        return m.seg_start == m.sentence and (i == 0 or self._all_narr[i - 1].para != m.para)

    def _next_cut(self, m: _Mention) -> int | None:
        """Where the next time's clause (kept or dropped) begins, if in the same paragraph."""
        i = bisect.bisect_right(self._starts, m.start)
        nxt = self._all_narr[i] if i < len(self._all_narr) else None
        return nxt.seg_start if nxt is not None and nxt.para == m.para else None

    def _status_rows(self, postings: list[_Posting], narrative: list[_Mention]) -> list[dict]:
        rows = []
        starts = [m.start for m in narrative]
        for p in postings:
            i = bisect.bisect_left(starts, p.block[0])
            p.has_narrative = i < len(starts) and starts[i] < p.block[1]
        carried: str | None = None
        for p in sorted(postings, key=lambda p: p.mention.instant):
            word = _STATUS_WORDS.get(p.status_word or "")
            if word:
                status = word
            elif p.status_word is None and p.has_narrative and p.paragraphs >= 3:
                status = "postmortem"
            else:
                status = next((s for s, rx in _STATUS_RULES if rx.search(p.body)), carried)
            if status != "postmortem":
                carried = status
            body = p.first_para if status == "postmortem" else p.body
            body = _clean(body)
            if status == "postmortem" and len(body) > 200:
                body = body[:199].rstrip() + "…"
            rows.append({
                "time": p.mention.instant, "end": None, "source": "status_update",
                "kind": "communication", "services": _services(_cue_text(body)),
                "approximate": False, "status": status, "text": body, "line": p.mention.line,
            })
        return rows

    def _first_trigger(self, rows: list[dict]) -> None:
        """An incident starts with a trigger: if nothing before the first detection is one,
        the earliest action or impact before it is ("14:05 Deploy of config v1.13.2 begins")."""
        narrative = sorted((r for r in rows if r["source"] == "narrative"),
                           key=lambda r: r["time"])
        detected = [r["time"] for r in narrative if r["kind"] == "detection"]
        before = [r for r in narrative if not detected or r["time"] < detected[0]]
        if before and detected and all(r["kind"] != "trigger" for r in before) and (
                before[0]["kind"] in ("mitigation", "impact")):
            before[0]["kind"] = "trigger"

    def _followups(self, rows: list[dict]) -> None:
        ends = [r["time"] for r in rows if r["kind"] == "recovery" and r["source"] == "narrative"]
        ends += [r["time"] for r in rows if r["status"] == "resolved"]
        if not ends:
            return
        over = max(ends)
        for r in rows:
            if (r["source"] == "narrative" and r["time"] > over
                    and r["kind"] in ("mitigation", "impact", "trigger")
                    and any(c in _cue_text(r["text"]) for c in _AFTER_INCIDENT_CUES)):
                r["kind"] = "followup"

    def _frame(self, rows: list[dict]) -> pl.DataFrame:
        utc = dt.UTC
        for r in rows:
            r.pop("_sentence", None)
            r["time"] = r["time"].astimezone(utc).replace(tzinfo=None)
            if r["end"] is not None:
                r["end"] = r["end"].astimezone(utc).replace(tzinfo=None)
        schema = {**EVENT_SCHEMA, "time": pl.Datetime("us"), "end": pl.Datetime("us")}
        frame = pl.DataFrame({name: [r[name] for r in rows] for name in schema}, schema=schema)
        zone = self.column_zone.polars
        frame = frame.with_columns(
            pl.col("time", "end").dt.replace_time_zone("UTC").dt.convert_time_zone(zone),
            (pl.col("source") == "status_update").alias("_order"),
        )
        return frame.sort("time", "_order", "line", maintain_order=True).drop("_order")


# --------------------------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------------------------


def _is_item(line: str) -> bool:
    """A list item or a line that starts with a time/date stands alone as its own paragraph."""
    if _LIST_LINE_RE.match(line):
        return True
    stripped = line.lstrip(" \t*_#>|[(")
    if not stripped:
        return False
    head = stripped[:40]
    tm = _TIME_RE.match(head)
    if tm:
        return True
    dm = _DATE_RE.match(head)
    return bool(dm and not dm.group("wd") and not dm.group("next")
                and _TIME_RE.search(head[dm.end(): dm.end() + 12]))


def _splits(text: str, m: re.Match[str]) -> bool:
    """A full stop ends a sentence unless it ends an abbreviation ("approx.", "a.m.")."""
    word_start = max(text.rfind(" ", max(0, m.start() - 10), m.start()),
                     text.rfind("\n", max(0, m.start() - 10), m.start())) + 1
    word = text[word_start: m.start() + 1].lower().lstrip("([\"'“‘")
    return word not in _NO_SPLIT_BEFORE


def _clean(text: str) -> str:
    """One line of text: whitespace collapsed, no list bullet or dangling separator."""
    return _BULLET_RE.sub("", re.sub(r"\s+", " ", text).strip(" ,;|"))


_BULLET_RE = re.compile(r"^(?:[-*•]|\d+[.)])\s+")


def _kind(cues: str) -> str | None:
    for kind, rx in _KIND_CUE_RES:
        if rx.search(cues):
            return kind
    return None


def _services(cues: str) -> list[str]:
    found: dict[str, None] = {}
    for m in _SERVICE_CUE_RE.finditer(cues):
        found[_SERVICE_OF_CUE[m.group(1)]] = None
    return list(found)
