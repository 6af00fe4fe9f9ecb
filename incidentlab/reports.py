"""Bundled incident reports and `parse_report`: postmortem text -> a polars table of events.

The parser reads prose, not one vendor's layout. It finds every clock time (24-hour, 12-hour,
ISO), gives it a date (same clause, a heading or an earlier sentence, rolled past midnight,
or `date=`) and a zone (after the time, an "All times are PDT" line, or `tz=`), cuts the text
into one clause per time, and labels each clause with keyword rules (`KIND_RULES`,
`SERVICE_NAMES`). Statuspage updates ("Posted Mar 20, 2017 - 16:54 PDT" after the body, or a
status word such as "Resolved" before it) become `status_update` rows.

Limits (documented so a caller can rely on them): texts above `MAX_BYTES` (10 MiB) are
rejected; everything below parses in well under a second per megabyte.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from incidentlab.errors import ReportParseError

MAX_BYTES = 10 * 1024 * 1024
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

# Kind rules, tried in this order on the clause holding the time (then on the whole event text);
# the first kind with a matching pattern wins. Communication comes first because a status
# page "updated to say service has recovered" is communication, not recovery; detection and
# diagnosis before mitigation/trigger because "isolated to the CPU soft locks" is a diagnosis.
KIND_RULES: tuple[tuple[str, str], ...] = (
    ("communication", r"status ?page|status update|support team|customers? (?:were|was) "
     r"(?:notified|informed)|tweet|announce|posted an? (?:update|notice)|notif(?:y|ied) "
     r"(?:our |the )?(?:users|customers)|incident (?:was )?declared publicly"),
    ("followup", r"action items?|going forward|in the future|post-?mortem|long[- ]term|"
     r"to prevent (?:this|a|it|such|recurrence)|remediation"),
    ("detection", r"\bnotic(?:e|ed|es|ing)\b|\bdetect(?:ed|s)?\b|\balert(?:s|ed)?\b(?! our)|"
     r"\bpaged?\b|\bpager\b|became aware|(?:began|begin|started|start) (?:to )?investigat|"
     r"investigation (?:began|started)|reported (?:by|that)|users? report|on-?call"),
    ("diagnosis", r"\bisolated\b|\bidentified\b|root cause|\btraced\b|\bdetermined\b|"
     r"found (?:that|the)|pinpoint|narrowed|diagnos|\bconfirmed\b|realized|discovered"),
    ("recovery", r"\brecovered\b|\brestored\b|back to normal|back online|"
     r"\bresolved\b|\breconnected\b|fully operational|operating normally|healthy again|"
     r"error rates? (?:returned|dropped)|\bcaught up\b|\bcompleted recovery\b"),
    ("mitigation", r"\breboot|\brestart|\bdisabl|\benabl|\bpatch|roll(?:ed|ing)? ?back|"
     r"\brevert|\bdeploy|roll(?:ed|ing)? ?out|\bfail(?:ed)? ?over\b|\bscal(?:e|ed|ing) "
     r"(?:up|out)|\bshed\b|throttl|rate[- ]limit|\bblock(?:ed)?\b|\bdrain|\breroute|"
     r"\bmitigat|\bworkaround|\bpromot|\bkill(?:ed)?\b|\bcordon|\bpaus(?:e|ed)\b|"
     r"\bredirect|\bdecision to\b|\bwork on\b|\bprovision"),
    ("trigger", r"soft[- ]?locks?|lock ?ups?|\bdisconnect(?:ed|s)?\b|netsplit|split[- ]brain|"
     r"\bpartition|went down|\bfail(?:ed|s)\b|\bfault\b|power (?:loss|outage)|misconfigur|"
     r"accidental|mistaken|\bdeleted\b|\bremoved\b|loss of connectivity|"
     r"caused the outage|\btrigger(?:ed|s)?\b|\bexpired\b|\bcorrupt"),
    ("impact", r"\bcrash|\boom\b|out of memory|overload|degrad|\berrors?\b|latency|"
     r"unavailable|outage|cascad|stall|\bdown\b|timeouts?|\bslow|unable|backlog|queu"),
)
_KIND_RES = tuple((kind, re.compile(rx, re.I)) for kind, rx in KIND_RULES)
# Narrative actions after the incident ended (last recovery or resolved update) are followups.
_AFTER_INCIDENT_RE = re.compile(r"deploy|roll(?:ed)? ?out|upgrade|\bfix|\bchange|patch|added",
                                re.I)

# Service name -> pattern. Matched on the event text; reported in order of first mention.
SERVICE_NAMES: dict[str, str] = {
    "presence": r"\bpresence\b",
    "sessions": r"\bsessions?\b",
    "api": r"\bapi\b",
    "clients": r"\bclients?\b",
    "dms": r"\bdms?\b|direct messages?",
    "messages": r"(?<!direct )\bmessag(?:e|es|ing)\b|\bmsgs\b",
    "status_page": r"status ?page",
    "support": r"\bsupport\b",
    "database": r"\bdatabases?\b|\bdb\d*\b|postgres|mysql|\breplica|\bprimary db",
    "network": r"\bnetwork|\brouter|\bbgp\b|\bfib(?:er|re)\b|optical|\bbackbone",
    "gateway": r"\bgateways?\b",
    "hypervisor": r"hypervisor|\bvms?\b|virtual machine|physical host",
    "cloud": r"google cloud|\bgcp\b|\baws\b|\bazure\b|cloud provider",
    "storage": r"\bstorage\b|\bs3\b|\bdisks?\b|\bvolumes?\b",
    "dns": r"\bdns\b",
    "cdn": r"\bcdn\b|\bedge\b",
    "load_balancer": r"load ?balanc",
    "cache": r"\bcache|memcache|\bredis\b",
    "git": r"\bgit\b|repositor",
    "web": r"\bwebsite|\bweb (?:servers?|app|ui|front)|\bfrontend",
    "auth": r"\bauth\w*|\blog ?ins?\b|\bsign[- ]?in",
    "queue": r"\bqueue(?:ing)? (?:servers?|service)|message queue|\bkafka\b|job queue",
    "backup": r"\bbackups?\b|\bsnapshots?\b",
    "webhooks": r"\bwebhooks?\b",
}
_SERVICE_RE = re.compile(
    "|".join(f"(?P<{name}>{rx})" for name, rx in SERVICE_NAMES.items()), re.I)

# Status inference from an update body, strongest first.
_STATUS_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("resolved", re.compile(r"(?:has|have) been resolved|\bis resolved|back to (?:normal|"
                            r"nominal)|nominal operation|operating (?:as )?normal|all systems "
                            r"operational|fully recovered|\bresolved\b(?! by)", re.I)),
    ("monitoring", re.compile(r"\bmonitor(?:ing)?\b|fix has been (?:implemented|deployed)|"
                              r"recovering|seeing (?:improvement|recovery)", re.I)),
    ("identified", re.compile(r"\bidentified\b|\bisolated\b|root cause|\bdue to\b|caused by|"
                              r"working on (?:a )?fix|implementing|restart|reboot|rolling "
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
    r"|\b(?:on\s+)?(?P<wd>mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b"
    r"|\b(?P<next>(?:the\s+)?(?:next|following)\s+(?:day|morning))\b",
    re.I,
)
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_ZONE_TOKEN = (r"(?P<{g}>(?-i:UTC|GMT)\s?[+-]\s?\d{{1,2}}(?::?\d\d)?|[+-](?:0\d|1[0-4]):?\d\d|"
               r"(?-i:" + "|".join(sorted((z for z in ZONE_NAMES if z.isupper() and z != "Z"),
                                          key=len, reverse=True)) + r")\b|(?<=\d)(?-i:Z)\b)")
_TIME_RE = re.compile(
    r"(?:(?<![\w.:/$£€#])|(?<=\dT))"
    r"(?:(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d)(?:\.\d+)?)?"
    r"(?:\s?(?P<ap>[ap])\.?m\b\.?)?"
    r"|(?P<h12>1[0-2]|0?[1-9])\s?(?P<ap12>[ap])\.?m\b\.?)"
    r"(?![\w:]|\.\d)"
    rf"(?:\s?\(?{_ZONE_TOKEN.format(g='zone')}\)?)?"
    r"(?P<ish>-?ish\b)?",
    re.I,
)
_DOC_ZONE_RE = re.compile(
    r"\b(?:all\s+)?times?\b(?:\s+[\w’']+){0,5}?\s+(?:are|is|in|listed\s+in|given\s+in|shown\s+in)"
    r"\s+(?:in\s+)?(?:the\s+)?(?P<z>[A-Za-z][\w/+\-:]*)"
    r"|\b(?:time\s*zone|timezone)\s*[:=]\s*(?P<z2>[A-Za-z][\w/+\-:]*)",
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
_DURATION_AFTER_RE = re.compile(r"^\s*(?:hours?|hrs?|h\b|minutes?|mins?|of downtime)", re.I)
_NON_EVENT_BEFORE_RE = re.compile(
    r"\b(?:every|each|daily|nightly|hourly|weekly|lasted|lasting|duration|for a total of|"
    r"will|expect(?:ed|s)?\s+to|eta|next\s+update|scheduled\s+(?:for|at))\b[^.;!?]*$", re.I)
_CLAUSE_SEP_RE = re.compile(r"[,;]\s*(?:and|then|but|while)?\s+|\s+(?:and|then)\s+", re.I)
_SENTENCE_END_RE = re.compile(r"[.!?…][\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])|\n\s*\n")
_NO_SPLIT_BEFORE = ("approx.", "e.g.", "i.e.", "etc.", "vs.", "mr.", "dr.", "inc.", "a.m.",
                    "p.m.", "u.s.", "no.", "st.")
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
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        if len(raw) > MAX_BYTES:
            raise _too_big(len(raw))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ReportParseError(
                f"report bytes are not UTF-8 text (byte 0x{raw[err.start]:02x} at offset "
                f"{err.start}); pass the report as str, or decode it with its own encoding first"
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
            f"{min(len(text), 65536)}); pass plain text"
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
            f"tz={tz!r} is not a time zone I know; pass an abbreviation "
            f"({', '.join(k for k in ZONE_NAMES if k.isupper() and len(k) > 1)}), an IANA "
            "name such as 'America/Los_Angeles', or an offset such as '-07:00'"
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
    explicit_date: bool = False
    instant: dt.datetime | None = None  # aware
    seg_start: int = 0
    leading: bool = False
    sentence: int = -1
    dropped: bool = False


@dataclass
class _Posting:
    mention: _Mention
    status_word: str | None
    body: str
    first_para: str
    block: tuple[int, int]
    has_narrative: bool = False
    paragraphs: int = 0
    status: str | None = None
    extra: dict = field(default_factory=dict)


class _Parser:
    def __init__(self, text: str, base_date: dt.date | None, tz_arg: _Zone | None) -> None:
        self.text = text
        self.base_date = base_date
        self.tz_arg = tz_arg
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos)

    def line_span(self, line: int) -> tuple[int, int]:
        start = self.line_starts[line - 1]
        end = self.line_starts[line] - 1 if line < len(self.line_starts) else len(self.text)
        return start, end

    def fail(self, message: str) -> ReportParseError:
        return ReportParseError(message)

    # ---- steps ---------------------------------------------------------------------------

    def run(self) -> pl.DataFrame:
        self.doc_zone = self._document_zone()
        mentions = self._mentions()
        if not mentions:
            raise self.fail(
                "no times found in the report; an incident report needs timed events such as "
                "'At 11:38 ...', '14:18 UTC - ...', '9:37AM PST' or 'Posted Mar 20, 2017 - "
                "16:54 PDT'"
            )
        self.dates = self._date_mentions()
        self.doc_year = next((d[2] for d in self.dates if d[2] is not None), None)
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
        self._followups(rows)
        return self._frame(rows)

    def _document_zone(self) -> _Zone | None:
        for m in _DOC_ZONE_RE.finditer(self.text):
            token = m.group("z") or m.group("z2")
            zone = _zone(token)
            if zone is not None:
                return zone
            if re.fullmatch(r"[A-Z]{2,5}|[A-Za-z_]+/[A-Za-z_/]+|(?:UTC|GMT)[+-].*", token):
                line = self.line_of(m.start())
                raise self.fail(
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
            after = text[m.end(): m.end() + 20]
            if _DURATION_AFTER_RE.match(after) or _NON_EVENT_BEFORE_RE.search(before):
                continue
            found.append(_Mention(
                start=m.start(), end=m.end(), clock=hour * 60 + minute,
                second=int(m.group("s") or 0), zone=m.group("zone"),
                approximate=bool(_APPROX_RE.search(before) or m.group("ish")),
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

    def _date_mentions(self) -> list[tuple[int, int, int | None, int, int, str]]:
        """(start, end, year|None, month, day, kind) for each absolute date; kind 'abs'."""
        out: list[tuple[int, int, int | None, int, int, str]] = []
        for m in _DATE_RE.finditer(self.text):
            g = m.groupdict()
            if g["wd"] or g["next"]:
                out.append((m.start(), m.end(), None, 0, 0,
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
            out.append((m.start(), m.end(), y, mo, d, "abs"))
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
        """Give each narrative time its paragraph: blank lines split; list items stand alone."""
        text = self.text
        for m in narrative:
            line = m.line
            start, end = self.line_span(line)
            if not _is_item(text[start:end], m, start):
                first = line
                while first > 1:
                    ps, pe = self.line_span(first - 1)
                    prev = text[ps:pe]
                    if not prev.strip() or _is_item(prev, None, ps) or self._is_posting_line(
                            first - 1):
                        break
                    first -= 1
                start = self.line_starts[first - 1]
            last = line
            while last < len(self.line_starts):
                ns, ne = self.line_span(last + 1)
                nxt = text[ns:ne]
                if not nxt.strip() or _is_item(nxt, None, ns) or self._is_posting_line(last + 1):
                    break
                last += 1
                end = ne
            m.para = (start, end)

    def _is_posting_line(self, line: int) -> bool:
        start, end = self.line_span(line)
        return bool(_POSTED_RE.match(self.text[start:end]))

    def _resolve_dates(self, mentions: list[_Mention], postings: list[_Posting]) -> None:
        """Date each time: a date in its clause, else the carried date (rolled past midnight
        when the clock jumps back more than 12 h), else `date=`, else its update's Posted date."""
        date_starts = [d[0] for d in self.dates]
        current: dt.date | None = None
        last_clock: int | None = None
        cursor = 0  # dates before this index have been folded into `current`
        posting_dates: list[tuple[int, dt.date | None]] = []
        for i, m in enumerate(mentions):
            lo = max(mentions[i - 1].end if i else 0, self.line_starts[m.line - 1]
                     if m.posting else m.para[0])
            hi = mentions[i + 1].start if i + 1 < len(mentions) else len(self.text)
            hi = min(hi, self.line_span(m.line)[1] if m.posting else m.para[1],
                     _sentence_end(self.text, m.end, hi))
            lo = max(lo, _sentence_start(self.text, m.start, lo))
            # carry every date mentioned before this clause
            while cursor < len(self.dates) and self.dates[cursor][0] < lo:
                current = self._apply_date(self.dates[cursor], current, m) or current
                cursor += 1
            own = [d for d in self.dates[bisect.bisect_left(date_starts, lo):
                                         bisect.bisect_left(date_starts, hi)]]
            chosen: dt.date | None = None
            for d in sorted(own, key=lambda d: abs(d[0] - m.start)):
                if d[5] == "abs":
                    chosen = self._apply_date(d, current, m)
                    break
            if chosen is None:
                for d in own:
                    if d[5] != "abs" and (current or self.base_date):
                        chosen = self._apply_date(d, current or self.base_date, m)
                        break
            if chosen is not None:
                m.date, m.explicit_date = chosen, True
                if not m.posting:
                    current, last_clock = chosen, m.clock
                # dates inside this clause are consumed
                while cursor < len(self.dates) and self.dates[cursor][0] < hi:
                    cursor += 1
            elif not m.posting and current is not None:
                if last_clock is not None and m.clock < last_clock - 12 * 60:
                    current = current + dt.timedelta(days=1)
                m.date, last_clock = current, m.clock
            elif not m.posting and self.base_date is not None:
                current, last_clock = self.base_date, m.clock
                m.date = current
            if m.posting:
                posting_dates.append((m.start, m.date))
        # times still undated take the date of the status update they sit in
        for m in mentions:
            if m.date is None:
                for p in postings:
                    if p.block[0] <= m.start < p.block[1] and p.mention.date is not None:
                        m.date = p.mention.date
                        break
            if m.date is None:
                raise self.fail(
                    f"no date found for {self.text[m.start:m.end].strip()!r} on line {m.line}; "
                    f"pass date='YYYY-MM-DD' (e.g. date='2017-03-20') or add a date line such as "
                    f"'March 20, 2017' above it"
                )

    def _apply_date(self, d, current: dt.date | None, m: _Mention) -> dt.date | None:
        start, _end, year, month, day, kind = d
        if kind == "next":
            return current + dt.timedelta(days=1) if current else None
        if kind.startswith("wd"):
            if current is None:
                return None
            ahead = (int(kind[2:]) - current.weekday()) % 7
            return current + dt.timedelta(days=ahead)
        if year is None:
            year = (current.year if current else self.doc_year
                    or (self.base_date.year if self.base_date else None))
        if year is None:
            raise self.fail(
                f"no year for the date {self.text[start:_end]!r} on line {self.line_of(start)}; "
                f"pass date='YYYY-MM-DD' or write the year, e.g. 'March 20, 2017'"
            )
        return dt.date(year, month, day)

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
            raise self.fail(
                f"no time zone found for {self.text[m.start:m.end].strip()!r} on line {m.line}; "
                "pass tz='UTC' (or 'PDT', 'America/Los_Angeles', '-07:00') or add a line such "
                "as 'All times are UTC'"
            )
        self._carried_zone: _Zone | None = None
        return zone

    def _resolve_instant(self, m: _Mention) -> None:
        zone = self._zone_of(m, self._carried_zone)
        if m.zone and zone is not None:
            self._carried_zone = zone
        if zone is None:  # pragma: no cover - _column_zone guarantees a fallback
            raise self.fail(f"no time zone for the time on line {m.line}; pass tz='UTC'")
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
                sent_start = _sentence_start(text, m.start, pstart)
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
                m.leading = bool(_LEAD_RE.match(prefix_wo_dates)) or (
                    self.line_starts[m.line - 1] == m.para[0]
                    and not text[m.para[0]: m.start].strip(" \t-*•|#>[]()"))
                prev = m

    def _dedupe(self, narrative: list[_Mention]) -> None:
        """A time restated mid-sentence (a summary) yields to the same time leading a clause."""
        leading = {m.instant for m in narrative if m.leading}
        for m in narrative:
            if not m.leading and m.instant in leading:
                m.dropped = True

    def _narrative_rows(self, narrative: list[_Mention]) -> list[dict]:
        text = self.text
        rows: list[dict] = []
        # every time, kept or dropped, ends the text of the event before it
        for i, m in enumerate(narrative):
            nxt = narrative[i + 1] if i + 1 < len(narrative) else None
            end = m.para[1]
            cut = self._next_cut(m)
            if cut is not None:
                end = min(end, cut)
            if nxt is not None and nxt.para == m.para:
                end = min(end, nxt.seg_start)
            start = m.para[0] if self._first_in_para(m) else m.seg_start
            clause_end = min(end, _sentence_end(text, m.end, end))
            clause = text[m.seg_start: clause_end]
            body = _clean(text[start:end])
            kind = _kind(clause) or _kind(body)
            rows.append({
                "time": m.instant, "end": m.end_mention.instant if m.end_mention else None,
                "source": "narrative", "kind": kind, "services": _services(body),
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
        return m.seg_start == m.sentence and not any(
            o is not m and o.para == m.para and o.start < m.start for o in self._all_narr)

    def _next_cut(self, m: _Mention) -> int | None:
        i = bisect.bisect_right(self._starts, m.start)
        for o in self._all_narr[i:]:
            if o.para != m.para:
                return None
            if o.seg_start > m.start:
                return o.seg_start
        return None

    def _status_rows(self, postings: list[_Posting], narrative: list[_Mention]) -> list[dict]:
        rows = []
        for p in postings:
            p.has_narrative = any(p.block[0] <= m.start < p.block[1] for m in narrative)
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
                "kind": "communication", "services": _services(body), "approximate": False,
                "status": status, "text": body, "line": p.mention.line,
            })
        return rows

    def _followups(self, rows: list[dict]) -> None:
        ends = [r["time"] for r in rows if r["kind"] == "recovery" and r["source"] == "narrative"]
        ends += [r["time"] for r in rows if r["status"] == "resolved"]
        if not ends:
            return
        over = max(ends)
        for r in rows:
            if (r["source"] == "narrative" and r["time"] > over
                    and r["kind"] in ("mitigation", "impact", "trigger")
                    and _AFTER_INCIDENT_RE.search(r["text"])):
                r["kind"] = "followup"

    def _frame(self, rows: list[dict]) -> pl.DataFrame:
        utc = dt.UTC
        for r in rows:
            r.pop("_sentence", None)
            r["time"] = r["time"].astimezone(utc).replace(tzinfo=None)
            if r["end"] is not None:
                r["end"] = r["end"].astimezone(utc).replace(tzinfo=None)
        schema = {**EVENT_SCHEMA, "time": pl.Datetime("us"), "end": pl.Datetime("us")}
        frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(
            schema=schema)
        zone = self.column_zone.polars
        frame = frame.with_columns(
            pl.col("time", "end").dt.replace_time_zone("UTC").dt.convert_time_zone(zone),
            (pl.col("source") == "status_update").alias("_order"),
        )
        return frame.sort("time", "_order", "line", maintain_order=True).drop("_order")


# --------------------------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------------------------


def _is_item(line: str, m: _Mention | None, line_start: int) -> bool:
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


def _sentence_start(text: str, pos: int, floor: int) -> int:
    """Start of the sentence holding `pos`, not before `floor`."""
    window_start = max(floor, pos - 4000)
    start = window_start if window_start == floor else None
    for m in _SENTENCE_END_RE.finditer(text, window_start, pos):
        if _splits(text, m):
            start = m.end()
    if start is None:
        start = window_start
    return start


def _sentence_end(text: str, pos: int, ceiling: int) -> int:
    for m in _SENTENCE_END_RE.finditer(text, pos, ceiling):
        if _splits(text, m):
            return m.start() + 1
    return ceiling


def _splits(text: str, m: re.Match[str]) -> bool:
    word_start = text.rfind(" ", max(0, m.start() - 10), m.start()) + 1
    word = text[word_start: m.start() + 1].lower()
    return not word.endswith(_NO_SPLIT_BEFORE)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,;")


def _kind(text: str) -> str | None:
    for kind, rx in _KIND_RES:
        if rx.search(text):
            return kind
    return None


def _services(text: str) -> list[str]:
    seen: list[str] = []
    for m in _SERVICE_RE.finditer(text):
        name = m.lastgroup
        if name and name not in seen:
            seen.append(name)
    return seen
