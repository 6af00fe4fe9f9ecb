"""The report as checked text, and an index of it (lines, sentences) every stage reads.

`Source` is built once per parse; stages read it and add only warnings to it.
"""

from __future__ import annotations

import bisect
import codecs
import datetime as dt
import re

from incidentlab.errors import ReportParseError

MAX_BYTES = 10 * 1024 * 1024
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# a full stop (or ! ? …) then space before a capital or digit, or a blank line; written to start
# with a character set, so that re skips to those characters
_SENTENCE_END_RE = re.compile(
    r"[.!?…\n](?:(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])|(?<=\n)\s*\n)")
_NO_SPLIT_BEFORE = frozenset(("approx.", "e.g.", "i.e.", "etc.", "vs.", "mr.", "dr.", "inc.",
                              "a.m.", "p.m.", "u.s.", "no.", "st.", "ca."))
_ABBREVIATION_ENDS = frozenset(word[-2] for word in _NO_SPLIT_BEFORE)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


class Source:
    """One report's text with its line starts, sentence breaks and the warnings raised so far."""

    def __init__(self, text: str, base_date: dt.date | None = None, tz_arg=None) -> None:
        self.text = text
        self.base_date = base_date
        self.tz_arg = tz_arg
        self.lower = text.translate(_LOWER)  # same length as text, so offsets agree
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        breaks = [(m.start(), m.end()) for m in _SENTENCE_END_RE.finditer(text)
                  if _splits(text, m)]
        self.break_starts = [b[0] for b in breaks]
        self.break_ends = [b[1] for b in breaks]
        self.warnings: list[str] = []
        self.noted_zones: set[str] = set()

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos)

    def line_span(self, line: int) -> tuple[int, int]:
        start = self.line_starts[line - 1]
        end = self.line_starts[line] - 1 if line < len(self.line_starts) else len(self.text)
        return start, end

    def sentence_start(self, pos: int, floor: int) -> int:
        """Start of the sentence holding `pos`, not before `floor`."""
        i = bisect.bisect_right(self.break_ends, pos)
        return max(floor, self.break_ends[i - 1]) if i else floor

    def sentence_end(self, pos: int, ceiling: int) -> int:
        """End of the sentence holding `pos` (after its full stop), not after `ceiling`."""
        i = bisect.bisect_left(self.break_starts, pos)
        return min(ceiling, self.break_starts[i] + 1) if i < len(self.break_starts) else ceiling


def _splits(text: str, m: re.Match[str]) -> bool:
    """A full stop ends a sentence unless it ends an abbreviation ("approx.", "a.m.")."""
    stop = m.start()
    before = text[stop - 1: stop]
    if text[stop] != "." or (before.isascii() and before.lower() not in _ABBREVIATION_ENDS):
        return True  # most stops: no abbreviation ends in this letter
    word_start = max(text.rfind(" ", max(0, m.start() - 10), m.start()),
                     text.rfind("\n", max(0, m.start() - 10), m.start())) + 1
    word = text[word_start: m.start() + 1].lower().lstrip("([\"'“‘")
    return word not in _NO_SPLIT_BEFORE


def as_text(text: object, warnings: list[str]) -> str:
    """The report as checked, newline-normalised text, or a ReportParseError saying why not.
    Lone surrogates (half a UTF-16 pair, no character) become U+FFFD, with a warning."""
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
    lone = _SURROGATE_RE.search(text)
    if lone:
        warnings.append(f"lone surrogate character at offset {lone.start()} (half of a "
                        "UTF-16 pair) replaced by U+FFFD")
        text = _SURROGATE_RE.sub("\ufffd", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _too_big(size: int) -> ReportParseError:
    return ReportParseError(
        f"report is {size / 2**20:.1f} MiB; the limit is {MAX_BYTES // 2**20} MiB of text. "
        "Pass one incident report (cut the text to the incident's sections)"
    )
