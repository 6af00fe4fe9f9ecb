"""The compiled cue scan finds what the plain alternation of the cue table finds."""

from __future__ import annotations

import re

import pytest

from incidentlab.reports import classify, cuescan
from incidentlab.reports.cues import KIND_CUES


def plain_scan(text: str) -> list[tuple[int, int, int]]:
    """The cue table as one named group per cue group, as re would read it."""
    plain = re.compile(r" (?:" + "|".join(
        f"(?P<g{i}>" + "|".join(g.words) + ")" for i, g in enumerate(KIND_CUES)) + r")(?= )")
    return [(m.start(), m.end(), int(m.lastgroup[1:])) for m in plain.finditer(text)]


@pytest.mark.parametrize("text", [
    "the on-call engineer was paged and we posted an update on the status page",
    "engineers restarted the database; it did not recover until traffic was shifted",
    "support tickets came in; users reported errors; the team began to investigate",
    "we are adding alerts going forward; the rollback completed and service recovered",
    "a misconfiguration was pushed by mistake and the api went down with 5xx errors",
])
def test_compiled_scan_matches_the_plain_alternation(text):
    cues = classify.cue_text(text)
    got = [(m.start(), m.end(), classify._CUE_GROUP_RE.fullmatch(m.group(), 1).lastindex - 1)
           for m in classify._CUES_RE.finditer(cues)]
    assert got == plain_scan(cues) and got


def test_spelling_out_keeps_the_order_re_tries():
    tables = [["(?:support )?tickets?"], ["(?:a|ab)c"], ["abd"]]
    scan = re.compile(cuescan.alternation([p for t in tables for p in t]))
    owner = re.compile(cuescan.owners(tables))
    assert [(m.group(), owner.fullmatch(m.group()).lastindex - 1) for m in scan.finditer(
        "support tickets ticket abc abd ac")] == [
        ("support tickets", 0), ("ticket", 0), ("abc", 1), ("abd", 2), ("ac", 1)]


@pytest.mark.parametrize("bad", [r"\w+ down", "(?:a|b)+c", "(down)"])
def test_cues_that_cannot_be_filed_by_first_character_are_refused(bad):
    with pytest.raises(ValueError, match="cue"):
        cuescan.alternation([bad])
