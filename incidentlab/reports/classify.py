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

from incidentlab.reports import cuescan
from incidentlab.reports.cues import (
    AFTER_INCIDENT_CUES,
    KIND_CUES,
    NEGATION_RE,
    NEGATIONS,
    SERVICE_CUES,
    STATUS_RULES,
    STATUS_WORDS,
    CueGroup,
)

# one pass over the clause finds every cue, heaviest groups first where cues overlap (cue text
# is " word word ": a leading literal space lets the regex engine skip ahead fast)
_CUES_RE = re.compile(f" {cuescan.alternation([w for g in KIND_CUES for w in g.words])}(?= )")
# which cue group a match of _CUES_RE (less its space) is from: lastindex - 1
_CUE_GROUP_RE = re.compile(cuescan.owners([list(g.words) for g in KIND_CUES]))
_GROUP_OF_CUE: dict[str, CueGroup] = {}  # what _CUE_GROUP_RE said of each cue text met so far
_GROUPS_KEPT = 4096  # a bound on that memo (cues such as "notic\w*" are many words)
_SERVICE_OF_CUE = {cue: name for name, cues in SERVICE_CUES.items() for cue in cues}
_SERVICE_CUES = sorted(_SERVICE_OF_CUE, key=len, reverse=True)  # longest first
_SERVICES = cuescan.alternation([re.escape(c[1:]) for c in _SERVICE_CUES])
# every service cue starts with a space; a lookahead, so cues that share a space all match
# (its one group holds the cue, which names the service)
_SERVICE_CUE_RE = re.compile(f" (?=({_SERVICES}))")
_NON_WORD_RE = re.compile(r"[^a-z0-9]+")
# ASCII text takes a faster road to the same cue text: every other character becomes a space
_ASCII_CUE = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
# a denial NEGATION_RE finds is a negation followed by a space: a clause (or the window before
# a cue) without one is not denied, and this is much faster to seek than NEGATION_RE
_NEGATION_HINT_RE = re.compile(f"(?:{'|'.join(NEGATIONS)}) ")
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
    line = " ".join(text.split()).strip(" ,;|")
    bullet = _BULLET_RE.match(line)  # match, not sub: sub would try every position
    return line[bullet.end():] if bullet else line


def read_kind(cues: str) -> KindGuess | None:
    """The kind a clause's words say (None: no cue at all)."""
    best: dict[str, tuple[float, str, str]] = {}
    deniable = _NEGATION_HINT_RE.search(cues) is not None
    for m in _CUES_RE.finditer(cues):
        group = _group_of(m.group())
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


def _group_of(cue: str) -> CueGroup:
    """The cue group of a match of _CUES_RE (" word ..."), remembered for the next time."""
    group = _GROUP_OF_CUE.get(cue)
    if group is None:
        group = KIND_CUES[_CUE_GROUP_RE.fullmatch(cue, 1).lastindex - 1]
        if len(_GROUP_OF_CUE) < _GROUPS_KEPT:
            _GROUP_OF_CUE[cue] = group
    return group


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
        found[_SERVICE_OF_CUE[" " + m.group(1)]] = None
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
