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

# one pass over the clause: group i's words are the named group g{i}, heaviest groups first
# (cue text is " word word ": a leading literal space lets the regex engine skip ahead fast)
_CUES_RE = re.compile(r" (?:" + "|".join(
    f"(?P<g{i}>" + "|".join(g.words) + ")" for i, g in enumerate(KIND_CUES)) + r")(?= )")
_SERVICE_OF_CUE = {cue: name for name, cues in SERVICE_CUES.items() for cue in cues}
_SERVICE_CUE_RE = re.compile(  # zero-width, so cues that share a space all match
    "(?=(" + "|".join(re.escape(c) for c in sorted(_SERVICE_OF_CUE, key=len, reverse=True))
    + "))")
_NON_WORD_RE = re.compile(r"[^a-z0-9]+")
_DM_RE = re.compile(r"direct messages?")
_BULLET_RE = re.compile(r"^(?:[-*•]|\d+[.)])\s+")


class KindGuess(NamedTuple):
    kind: str
    confidence: float
    reason: str
    runner_up: str | None = None


def cue_text(text: str) -> str:
    """Text as cues see it: lower case, one space between words, padded."""
    return f" {_NON_WORD_RE.sub(' ', _DM_RE.sub('dm', text.lower()))} "


def clean(text: str) -> str:
    """One line of text: whitespace collapsed, no list bullet or dangling separator."""
    return _BULLET_RE.sub("", re.sub(r"\s+", " ", text).strip(" ,;|"))


def read_kind(cues: str) -> KindGuess | None:
    """The kind a clause's words say (None: no cue at all)."""
    best: dict[str, tuple[float, str, str]] = {}
    for m in _CUES_RE.finditer(cues):
        group = KIND_CUES[int(m.lastgroup[1:])]
        kind, why, weight = group.kind, group.why, group.weight
        if NEGATION_RE.search(cues[max(0, m.start() - 30): m.start() + 1]):
            if kind != "recovery":
                continue
            kind, why, weight = "impact", "a recovery denied is continuing impact", 0.6
        if weight > best.get(kind, (0.0,))[0]:
            best[kind] = (weight, m.group(m.lastgroup), why)
    if not best:
        return None
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    kind, (weight, word, why) = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    confidence = weight * (1 - 0.5 * runner[1][0] / weight) if runner else weight
    return KindGuess(kind, round(confidence, 2), f"'{word}': {why}",
                     runner[0] if runner else None)


def classify(clause: str, body: str) -> KindGuess | None:
    """The kind of an event from its clause, else (less sure) from its whole text."""
    guess = read_kind(cue_text(clause))
    if guess is not None:
        return guess
    wider = read_kind(cue_text(body))
    if wider is None:
        return None
    return wider._replace(confidence=round(wider.confidence * 0.7, 2),
                          reason=wider.reason + " (in the event's wider text)")


def services(cues: str) -> list[str]:
    found: dict[str, None] = {}
    for m in _SERVICE_CUE_RE.finditer(cues):
        found[_SERVICE_OF_CUE[m.group(1)]] = None
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
