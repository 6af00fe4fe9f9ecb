"""Classification: the kind of each narrative event (with how sure, and why), the services it
names, and the status of each status update.

A clause is read for every cue group of `cues.KIND_CUES` at word boundaries; a denied cue
("not yet recovered") counts as impact if it was a recovery and not at all otherwise. The
heaviest group wins; `kind_confidence` starts at its weight and falls when another kind's cues
are present too, when only the event's wider text had a cue, when the kind is borrowed from
the clause before, or when a rule of position overrode the words. Rules of position: nothing
is a recovery before anything went wrong; if nothing before the first detection is a
trigger, the earliest action or impact before it is; an action after the incident ended (last
recovery or resolved update) is a followup.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from incidentlab.reports.cues import (
    AFTER_INCIDENT_CUES,
    KIND_CUES,
    NEGATION_RE,
    SERVICE_CUES,
    STATUS_RULES,
    STATUS_WORDS,
)


def _top_split(pattern: str) -> list[str]:
    """`pattern`'s top-level alternatives ("a|(?:b|c)d" -> "a", "(?:b|c)d")."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 1
        elif ch == "[":  # a character class: skip to its closing bracket
            i = pattern.index("]", i + 2 if pattern[i + 1: i + 2] in ("]", "^") else i + 1)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


def _spelled_out(pattern: str) -> list[str]:
    """`pattern` as alternatives that each start with a letter or digit, in the order the
    regex engine tries them: a leading group is spelled out ("(?:a|b)c" -> "ac", "bc";
    "(?:a )?b" -> "a b", "b"), so a scan can pick them by first character."""
    out = []
    for alt in _top_split(pattern):
        if alt.startswith("(?:"):
            depth, close = 0, -1
            for i, ch in enumerate(alt):
                if ch == "\\" or (i and alt[i - 1] == "\\"):
                    continue
                depth += (ch == "(") - (ch == ")")
                if depth == 0:
                    close = i
                    break
            inner, rest = alt[3:close], alt[close + 1:]
            if rest[:1] == "?" and rest[1:2] != "?":
                out += [*_spelled_out(f"(?:{inner}){rest[1:]}"), *_spelled_out(rest[1:])]
            elif rest[:1] in ("*", "+", "{", "?"):
                raise ValueError(f"cue {pattern!r}: a repeated leading group cannot be spelled out")
            else:
                out += [x for a in _top_split(inner) for x in _spelled_out(a + rest)]
        elif alt[:1].isalnum() and alt[1:2] not in ("?", "*", "+", "{"):
            out.append(alt)
        else:
            raise ValueError(f"cue {pattern!r} must start with a letter, a digit or a group")
    return out


def _by_first_character(alternatives: list[tuple[str, int]]) -> tuple[str, list[int]]:
    """One regex trying `alternatives` (pattern, owner) in order, each followed by an empty
    group that says which matched (its owner is in the returned list, by group number - 1).
    Alternatives are filed under their first character, so the engine tries only those that
    can match where it stands (Python's re tries every branch of an alternation in turn)."""
    buckets: dict[str, list[tuple[str, int]]] = {}
    for pattern, owner in alternatives:
        for alt in _spelled_out(pattern):
            if re.compile(alt).groups:
                raise ValueError(f"cue {alt!r} must use (?:...), not a capturing group")
            buckets.setdefault(alt[0], []).append((alt[1:], owner))
    owners: list[int] = []
    branches = []
    for first, rests in buckets.items():
        owners += [owner for _, owner in rests]
        branches.append(re.escape(first) + "(?:" + "|".join(f"{r}()" for r, _ in rests) + ")")
    return "(?:" + "|".join(branches) + ")", owners


# one pass over the clause finds every cue, heaviest groups first where cues overlap (cue text
# is " word word ": a leading literal space lets the regex engine skip ahead fast)
_CUES, _CUE_OWNER = _by_first_character(
    [(word, i) for i, g in enumerate(KIND_CUES) for word in g.words])
_CUES_RE = re.compile(f" {_CUES}(?= )")
_SERVICE_OF_CUE = {cue: name for name, cues in SERVICE_CUES.items() for cue in cues}
_SERVICE_CUES = sorted(_SERVICE_OF_CUE, key=len, reverse=True)  # longest first
_SERVICES, _SERVICE_OWNER = _by_first_character(
    [(re.escape(c[1:]), i) for i, c in enumerate(_SERVICE_CUES)])
# every service cue starts with a space; a lookahead, so cues that share a space all match
_SERVICE_CUE_RE = re.compile(f" (?={_SERVICES})")
_NON_WORD_RE = re.compile(r"[^a-z0-9]+")
# ASCII text takes a faster road to the same cue text: every other character becomes a space
_ASCII_CUE = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
# every denial NEGATION_RE knows holds one of these: a window without any is not denied
_NEGATION_HINT_RE = re.compile("no|n t|never|yet to|without|failed to|unable to")
_DM_RE = re.compile(r"direct messages?")
_BULLET_RE = re.compile(r"^(?:[-*•]|\d+[.)])\s+")


class KindGuess(NamedTuple):
    kind: str
    confidence: float
    reason: str
    runner_up: str | None = None


def cue_text(text: str) -> str:
    """Text as cues see it: lower case, one space between words, padded."""
    lower = text.lower()
    if "direct message" in lower:
        lower = _DM_RE.sub("dm", lower)
    if not lower.isascii():
        return f" {_NON_WORD_RE.sub(' ', lower)} "
    spaced = lower.translate(_ASCII_CUE)
    words = " ".join(spaced.split())
    if not words:
        return "   " if spaced else "  "
    return f"{' ' if spaced[0] == ' ' else ''} {words} {' ' if spaced[-1] == ' ' else ''}"


def clean(text: str) -> str:
    """One line of text: whitespace collapsed, no list bullet or dangling separator."""
    return _BULLET_RE.sub("", " ".join(text.split()).strip(" ,;|"))


def read_kind(cues: str) -> KindGuess | None:
    """The kind a clause's words say (None: no cue at all)."""
    best: dict[str, tuple[float, str, str]] = {}
    deniable = _NEGATION_HINT_RE.search(cues) is not None
    for m in _CUES_RE.finditer(cues):
        group = KIND_CUES[_CUE_OWNER[m.lastindex - 1]]
        kind, why, weight = group.kind, group.why, group.weight
        near = cues[max(0, m.start() - 30): m.start() + 1] if deniable else ""
        if near and _NEGATION_HINT_RE.search(near) and NEGATION_RE.search(near):
            if kind != "recovery":
                continue
            kind, why, weight = "impact", "a recovery denied is continuing impact", 0.6
        if weight > best.get(kind, (0.0,))[0]:
            best[kind] = (weight, m.group()[1:], why)
    if not best:
        return None
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    kind, (weight, word, why) = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    confidence = weight * (1 - 0.5 * runner[1][0] / weight) if runner else weight
    return KindGuess(kind, round(confidence, 2), f"'{word}': {why}",
                     runner[0] if runner else None)


def classify(clause: str, body: str, body_cues: str | None = None) -> KindGuess | None:
    """The kind of an event from its clause, else (less sure) from its whole text
    (`body_cues`: the body's `cue_text`, if the caller has it already)."""
    same = clause == body
    guess = read_kind(body_cues if same and body_cues is not None else cue_text(clause))
    if guess is not None or same:
        return guess
    wider = read_kind(cue_text(body) if body_cues is None else body_cues)
    if wider is None:
        return None
    return wider._replace(confidence=round(wider.confidence * 0.7, 2),
                          reason=wider.reason + " (in the event's wider text)")


def services(cues: str) -> list[str]:
    found: dict[str, None] = {}
    for m in _SERVICE_CUE_RE.finditer(cues):
        found[_SERVICE_OF_CUE[_SERVICE_CUES[_SERVICE_OWNER[m.lastindex - 1]]]] = None
    return list(found)


def fill_unlabelled(rows: list[dict]) -> None:
    """A clause with no cue takes its sentence-mate's kind, else impact (unsure)."""
    for i, row in enumerate(rows):
        if row["kind"] is None:
            mates = [r for r in rows[max(0, i - 3): i] if r["kind"]
                     and r["_sentence"] == row["_sentence"]]
            if mates:
                row.update(kind=mates[-1]["kind"], kind_confidence=0.4,
                           kind_reason="no cue: the kind of the clause before it")
            else:
                row.update(kind="impact", kind_confidence=0.2,
                           kind_reason="no cue: impact by default")


def status_of(word: str | None, body: str, carried: str | None,
              postmortem_block: bool) -> str | None:
    """An update's status: its status word, else a postmortem block, else read from its body,
    else the status of the update before."""
    status = STATUS_WORDS.get(word or "")
    if status:
        return status
    if word is None and postmortem_block:
        return "postmortem"
    return next((s for s, rx in STATUS_RULES if rx.search(body)), carried)


def position_rules(rows: list[dict]) -> None:
    """The kinds the story's order settles (see the module docstring)."""
    narrative = sorted((r for r in rows if r["source"] == "narrative"), key=lambda r: r["time"])
    harm = [r["time"] for r in narrative if r["kind"] in ("trigger", "impact", "detection")]
    for r in narrative:
        if r["kind"] == "recovery" and harm and r["time"] < harm[0]:
            r.update(kind=r.get("_runner_up") or "impact", kind_confidence=0.3,
                     kind_reason="a recovery before anything went wrong: " + r["kind_reason"])
    detected = [r["time"] for r in narrative if r["kind"] == "detection"]
    before = [r for r in narrative if not detected or r["time"] < detected[0]]
    if before and detected and all(r["kind"] != "trigger" for r in before) and (
            before[0]["kind"] in ("mitigation", "impact")):
        before[0].update(kind="trigger", kind_confidence=0.5,
                         kind_reason="the first event before detection starts the incident")
    ends = [r["time"] for r in narrative if r["kind"] == "recovery"]
    ends += [r["time"] for r in rows if r["status"] == "resolved"]
    if not ends:
        return
    over = max(ends)
    for r in narrative:
        if (r["time"] > over and r["kind"] in ("mitigation", "impact", "trigger")
                and any(c in cue_text(r["text"]) for c in AFTER_INCIDENT_CUES)):
            r.update(kind="followup", kind_confidence=0.6,
                     kind_reason="a change after the incident ended")
