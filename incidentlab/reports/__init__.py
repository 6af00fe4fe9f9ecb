"""Bundled incident reports and `parse_report`: postmortem text -> a polars table of events.

The parser is a pipeline, one module per stage, each a function of what the stages before it
found (and each testable alone). Recognition makes frozen `Mention` records; later stages
return what they learn about them (paragraphs, dates, instants, clauses, postings) as values
keyed by the mention, never by changing it:

    source.py    the checked text and its index of lines and sentences
    clock.py     time and date recognition: clock times, relative times, dates, zones
    segment.py   status updates (Statuspage text, YAML/JSON exports), paragraphs, clauses,
                 and which mention of a time told twice is the event
    dating.py    the date, zone and instant of every time
    classify.py  kind (with `kind_confidence` and `kind_reason`), services, status
    cues.py      the cue tables classify reads: data, one line of reasoning per group
    parse.py     the pipeline and the events table; warnings
    bundled.py   the reports in data/ and their answer keys

Limits (documented so a caller can rely on them): texts above `MAX_BYTES` (10 MiB) and texts
with more clock times than `MAX_TIMES` + `MAX_TIMES_PER_KIB` per KiB (logs, not reports) are
rejected with a ReportParseError; time grows linearly with the text (`python -m
benchmarks.parser` measures a 10 MiB line).
"""

from incidentlab.errors import IncidentlabWarning
from incidentlab.reports.bundled import (
    _data_dir,
    answer_key,
    bundled_reports,
    load_report,
    read_key,
    report_text,
)
from incidentlab.reports.clock import AMBIGUOUS_ZONES, ZONE_NAMES
from incidentlab.reports.cues import KIND_CUES, KINDS, SERVICE_CUES, STATUSES
from incidentlab.reports.parse import (
    EVENT_COLUMNS,
    MAX_TIMES,
    MAX_TIMES_PER_KIB,
    EventRows,
    Parsed,
    event_rows,
    parse_report,
    parse_report_with_warnings,
)
from incidentlab.reports.source import MAX_BYTES

__all__ = [
    "AMBIGUOUS_ZONES", "EVENT_COLUMNS", "EVENT_SCHEMA", "KINDS", "KIND_CUES", "MAX_BYTES",
    "MAX_TIMES", "MAX_TIMES_PER_KIB", "SERVICE_CUES", "STATUSES", "ZONE_NAMES", "EventRows",
    "IncidentlabWarning", "Parsed", "_data_dir", "answer_key", "bundled_reports", "event_rows",
    "load_report", "parse_report", "parse_report_with_warnings", "read_key", "report_text",
]


def __getattr__(name: str) -> object:
    """EVENT_SCHEMA is made on first use (it needs polars; see parse.event_rows)."""
    if name == "EVENT_SCHEMA":
        from incidentlab.reports import parse

        return parse.EVENT_SCHEMA
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
