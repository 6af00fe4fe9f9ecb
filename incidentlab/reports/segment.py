"""Segmentation: which times are status-update postings, which paragraph and clause each
narrative time owns, and which mention of a time told twice is the event.

Status updates come in three shapes: Statuspage text (a status word, the body, a "Posted ..."
or bare timestamp line), and exports of records, YAML-like (`- state: investigating` /
`at: 2021-10-04T15:39:00Z` / `body: ...`) or JSON (read as the same records). In an export, a
record with a status is an update; a time under any other key (`started_at:`,
`resolved_at:`) is metadata, not an event.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import NamedTuple

from incidentlab.reports.clock import DATE_RE, TIME_RE, Mention
from incidentlab.reports.cues import STATUS_WORDS
from incidentlab.reports.source import Source

STATUS_LINE_RE = re.compile(
    r"^[\s*#_]*(?P<word>resolved|completed|monitoring|identified|investigating|post-?mortem|"
    r"update[d]?|in progress|verifying|scheduled)[*_]*\s*(?:$|[-–—:]\s*(?P<rest>.*)$)", re.I)
_POSTED_RE = re.compile(r"^\s*posted\b", re.I)
_LIST_LINE_RE = re.compile(r"^\s*(?:[-*•|]|\d+[.)]\s|#+\s)")
# A line ending in one of these words goes on: the next line finishes its clause.
_WRAPPED_END_RE = re.compile(
    r"(?:\b(?:at|by|around|about|approximately|until|till|from|since|before|after|on|to|"
    r"and|or|the|of|roughly|circa|between)|,)\s*$", re.I)
_CLAUSE_SEP_RE = re.compile(r"[,;]\s*(?:and|then|but|while)?\s+|\s+(?:and|then)\s+", re.I)
_LEAD_RE = re.compile(
    r"^(?:[\s,;:\-–—*•|#>()\[\]]|\d+\.|\b(?:and|then|but|at|by|around|about|approximately|"
    r"approx\.?|roughly|circa|on|from|between|until|till|shortly|just|after|before|since|"
    r"starting|beginning|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b|~)*$", re.I)
# What may stand before the time of a timeline line ("- 2017/02/01 around 10:00: ...").
_TIMELINE_HEAD_RE = re.compile(
    r"^(?:[\s,;:\-–—*•|#>()\[\]_]|\d+\.|\b(?:around|about|approx\.?|approximately|circa|"
    r"roughly)\b|~)*$", re.I)
_HEAD_LIMIT = 80  # a timeline line's time stands within this many characters of its start
# Export records: `key: value` lines, YAML-like or JSON pretty-printed.
_KEY_LINE_RE = re.compile(r'^(?P<indent>[ \t]*(?:-[ \t]+)?)[{\[,]?\s*"?(?P<key>[A-Za-z_]'
                          r'[\w\-]*)"?\s*:\s*(?P<value>.*?)\s*,?\s*$')
_STATUS_KEYS = frozenset(("state", "status", "phase", "stage", "impact_status"))
_METADATA_KEYS = frozenset(("started", "resolved", "created", "updated", "detected", "start",
                            "end", "date"))
_BODY_KEYS = frozenset(("body", "message", "text", "description", "update", "content",
                        "details", "summary", "note"))


@dataclass(frozen=True)
class Posting:
    """One status update: its posted time (and every time on that line), status word, body
    and the text span it covers."""

    mention: Mention
    mentions: tuple[Mention, ...]
    status_word: str | None
    body: str
    first_para: str
    block: tuple[int, int]
    paragraphs: int = 0


class Clause(NamedTuple):
    """Where a narrative time's clause starts, its sentence, and how it leads: 2 starts a
    timeline line, 1 leads its clause ("At 13:56 ..."), 0 mid-sentence."""

    start: int
    sentence: int
    score: int


def json_as_records(text: str) -> str | None:
    """A JSON (or JSON Lines) export re-written one `key: value` per line (None if the text is
    not JSON)."""
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        try:  # JSON Lines: one JSON value a line
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except (ValueError, RecursionError):
            return None
    out: list[str] = []

    def walk(node, depth: int) -> None:
        if depth > 50:
            return
        if isinstance(node, dict):
            first = True
            for key, value in node.items():
                if isinstance(value, dict | list):
                    out.append(f"{key}:")
                    walk(value, depth + 1)
                else:
                    lead = "- " if first else "  "
                    out.append(f"{lead}{key}: {'' if value is None else value}")
                    first = False
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)
                out.append("")
    walk(data, 0)
    return "\n".join(out)


def export_postings(src: Source, mentions: list[Mention]
                    ) -> tuple[list[Posting], frozenset[Mention]]:
    """Status updates from export records, and the metadata times (a record without a body
    whose times all sit under keys such as `started_at:`), which are no events."""
    lines = src.text.split("\n")
    by_line: dict[int, list[Mention]] = {}
    for m in mentions:
        by_line.setdefault(m.line, []).append(m)
    records: list[list[tuple[int, str, str]]] = []
    current: list[tuple[int, str, str]] = []
    for number, content in enumerate(lines, start=1):
        km = _KEY_LINE_RE.match(content) if len(content) < 2000 else None
        if km is None or (" " in km.group("key")):
            if current and content.strip() and not current[-1][2]:
                current[-1] = (number, current[-1][1], content.strip())  # "at:" / "  value"
                continue
            if current and content.strip() and current[-1][1] in _BODY_KEYS:
                current[-1] = (current[-1][0], current[-1][1],
                               current[-1][2] + " " + content.strip())
                continue
            if current:
                records.append(current)
            current = []
            continue
        key = km.group("key").lower()
        if current and (km.group("indent").lstrip(" \t").startswith("-")
                        or key in {k for _, k, _ in current}):
            records.append(current)
            current = []
        current.append((number, key, km.group("value").strip().strip('"')))
    if current:
        records.append(current)
    postings = []
    metadata: set[Mention] = set()
    for record in records:
        if len(record) < 2:
            continue
        keys = {k: (n, v) for n, k, v in record}
        status_key = next((k for k in keys if k in _STATUS_KEYS), None)
        word = keys[status_key][1].lower() if status_key else None
        timed = [(n, k) for n, k, _ in record if n in by_line and k not in _BODY_KEYS]
        if not timed:
            continue
        has_body = bool(keys.keys() & _BODY_KEYS)
        if word is None or word not in STATUS_WORDS or not has_body:
            if not has_body and all(k.endswith("_at") or k in _METADATA_KEYS for _, k in timed):
                metadata.update(m for n, _ in timed for m in by_line[n])
            continue
        line = timed[0][0]
        body = next((v for n, k, v in record if k in _BODY_KEYS), "")
        first, last = record[0][0], record[-1][0]
        postings.append(Posting(
            mention=by_line[line][0], mentions=tuple(by_line[line]), status_word=word,
            body=body, first_para=body,
            block=(src.line_starts[first - 1], src.line_span(last)[1]), paragraphs=1))
    return postings, frozenset(metadata)


def postings(src: Source, mentions: list[Mention]) -> list[Posting]:
    """Status updates: a 'Posted ...' line, or a bare timestamp line after a status word."""
    by_line: dict[int, list[Mention]] = {}
    for m in mentions:
        by_line.setdefault(m.line, []).append(m)
    found: list[Posting] = []
    block_start_line = 1
    lines = src.text.split("\n")
    status_line: int | None = None
    for number, content in enumerate(lines, start=1):
        if (len(content) < 400 and STATUS_LINE_RE.match(content)
                and (status_line is None or status_line < block_start_line)):
            status_line = number
        if number not in by_line:
            continue
        has_status = status_line is not None and status_line >= block_start_line
        is_posted = bool(_POSTED_RE.match(content))
        if not is_posted and not (has_status and _bare_timestamp(content)):
            continue
        mention = by_line[number][0]
        body_from = status_line if has_status else block_start_line
        word = rest = None
        if has_status:
            sm = STATUS_LINE_RE.match(lines[status_line - 1])
            word, rest = sm.group("word").lower(), sm.group("rest")
        body_lines = lines[body_from - 1: number - 1]
        if has_status:
            body_lines = [rest or "", *body_lines[1:]]
        body = "\n".join(body_lines).strip()
        first_para = re.split(r"\n\s*\n", body, maxsplit=1)[0] if body else ""
        found.append(Posting(
            mention=mention, mentions=tuple(by_line[number]), status_word=word, body=body,
            first_para=first_para,
            block=(src.line_starts[body_from - 1], src.line_starts[number - 1]),
            paragraphs=len(re.findall(r"\n\s*\n", body)) + 1,
        ))
        block_start_line = number + 1
    return found


def _bare_timestamp(content: str) -> bool:
    if len(content) > 200:
        return False
    rest = TIME_RE.sub(" ", content)
    rest = DATE_RE.sub(" ", rest)
    return not re.sub(r"[\s,\-–—:.()|*_]|\bT\b|posted|at|ago|\d+\s+\w+", "", rest, flags=re.I)


def paragraphs(src: Source, narrative: list[Mention]) -> dict[Mention, tuple[int, int]]:
    """Give each narrative time its paragraph: blank lines and Posted lines split, and a
    list item (or a line that starts with a time) starts a paragraph of its own, unless the
    line before stops mid-clause ("... the status page at" / "11:02 a.m. PST.")."""
    text, starts = src.text, src.line_starts
    n = len(starts)
    para_start = [0] * (n + 1)  # per 1-based line: first line of its paragraph (0 = none)
    para_end: dict[int, int] = {}  # first line -> last line
    current = 0
    previous = ""
    for number in range(1, n + 1):
        start, end = src.line_span(number)
        content = text[start:end]
        if (not content.strip() or _POSTED_RE.match(content)
                or (len(content) < 40 and STATUS_LINE_RE.match(content))):
            current, previous = 0, ""
            continue
        wrapped = bool(previous) and not _LIST_LINE_RE.match(content) and bool(
            _WRAPPED_END_RE.search(previous[-40:]))
        if current == 0 or (_is_item(content) and not wrapped):
            current = number
        para_start[number] = current
        para_end[current] = number
        previous = content
    para = {}
    for m in narrative:
        first = para_start[m.line] or m.line
        last = para_end.get(first, m.line)
        para[m] = (starts[first - 1], src.line_span(last)[1])
    return para


def _is_item(line: str) -> bool:
    """A list item or a line that starts with a time/date stands alone as its own paragraph."""
    if _LIST_LINE_RE.match(line):
        return True
    stripped = line.lstrip(" \t*_#>|[(")
    if not stripped:
        return False
    head = stripped[:40]
    if TIME_RE.match(head) or re.match(r"T\s?[+-]\s?\d|\+\d", head):
        return True
    dm = DATE_RE.match(head)
    return bool(dm and not dm.group("wd") and not dm.group("next") and not dm.group("same")
                and TIME_RE.search(head[dm.end(): dm.end() + 12]))


def clauses(src: Source, narrative: list[Mention], para: dict[Mention, tuple[int, int]]
            ) -> dict[Mention, Clause]:
    """Cut each paragraph into clauses: one per time; say which times lead their clause."""
    text = src.text
    by_para: dict[tuple[int, int], list[Mention]] = {}
    for m in narrative:
        by_para.setdefault(para[m], []).append(m)
    out: dict[Mention, Clause] = {}
    for (pstart, _pend), items in by_para.items():
        prev: Mention | None = None
        for m in items:
            sent_start = src.sentence_start(m.start, pstart)
            if prev is not None and prev.end > sent_start:
                gap_from = (prev.end_mention or prev).end
                gap = text[max(gap_from, m.start - 400): m.start]
                seps = list(_CLAUSE_SEP_RE.finditer(gap))
                seg_start = m.start - len(gap) + (seps[-1].start() if seps else len(gap))
                sentence = out[prev].sentence
            else:
                seg_start = sentence = sent_start
            prefix = text[max(seg_start, m.start - _HEAD_LIMIT): m.start]
            line_start = src.line_starts[m.line - 1]
            score = 0
            if m.start - line_start <= _HEAD_LIMIT and _TIMELINE_HEAD_RE.match(
                    DATE_RE.sub(" ", text[line_start: m.start])):
                score = 2
            elif m.start - seg_start <= _HEAD_LIMIT and _LEAD_RE.match(
                    DATE_RE.sub(" ", prefix)):
                score = 1
            out[m] = Clause(seg_start, sentence, score)
            prev = m
    return out


def dedupe(narrative: list[Mention], instant: dict[Mention, dt.datetime],
           clause: dict[Mention, Clause]) -> frozenset[Mention]:
    """A time told twice is one event: a summary's mention yields to the timeline's. The
    mention that starts a timeline line wins over one leading a clause ("At 13:56 ..."),
    which wins over one mid-sentence ("recovered around 13:56"); equals are all kept."""
    best: dict[dt.datetime, int] = {}
    for m in narrative:
        best[instant[m]] = max(best.get(instant[m], 0), clause[m].score)
    return frozenset(m for m in narrative if clause[m].score < best[instant[m]])


def next_cut(narrative: list[Mention], starts: list[int], m: Mention,
             para: dict[Mention, tuple[int, int]], clause: dict[Mention, Clause]) -> int | None:
    """Where the next time's clause (kept or dropped) begins, if in the same paragraph."""
    i = bisect.bisect_right(starts, m.start)
    nxt = narrative[i] if i < len(narrative) else None
    return clause[nxt].start if nxt is not None and para[nxt] == para[m] else None


def first_in_para(narrative: list[Mention], starts: list[int], m: Mention,
                  para: dict[Mention, tuple[int, int]], clause: dict[Mention, Clause]) -> bool:
    """Whether `m` is the first time of its paragraph and starts its sentence."""
    i = bisect.bisect_left(starts, m.start)
    return clause[m].start == clause[m].sentence and (
        i == 0 or para[narrative[i - 1]] != para[m])
