"""Tables of patterns (kind cues, service cues, date words) compiled into one fast regex:
every pattern of a table in one alternation, tried in the table's order, arranged so that
Python's re finds them with one scan of the text.
"""

from __future__ import annotations

import re


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


def alternation(patterns: list[str]) -> str:
    """One regex trying `patterns` in order, with no capturing group: a match object copies
    every group of its regex, so a scan with a group per pattern pays for hundreds of them at
    each match (`owners` says afterwards which table a match came from)."""
    spelled = []
    for pattern in patterns:
        if re.compile(pattern).groups:  # its spelled-out forms have the same groups
            raise ValueError(f"cue {pattern!r} must use (?:...), not a capturing group")
        spelled += _spelled_out(pattern)
    return f"(?:{_trie(spelled)})"


def owners(tables: list[list[str]]) -> str:
    """A regex whose fullmatch of a text that `alternation` of all the tables' patterns (in
    order) matched tells, by its `lastindex` - 1, which table the matching pattern is in: the
    first pattern that can match exactly that text is the one the scan took (an earlier one
    would have matched there first), so the first table holding such a pattern owns it. A
    plain alternation (fast to compile: the scan's caller remembers what it said)."""
    return "|".join(f"({'|'.join(patterns)})" for patterns in tables)


def _literal(pattern: str) -> int:
    """Length of the plain character `pattern` starts with (0: none, or it is repeated)."""
    n = 2 if pattern[:1] == "\\" and not pattern[1:2].isalnum() else 1
    if (pattern[:1] == "\\" and n == 1) or not pattern or pattern[0] in "()[].^$|?*+{":
        return 0
    return 0 if pattern[n: n + 1] in ("?", "*", "+", "{") else n


_FIRST_LETTERS = "tasowicbphfmdrelngu"  # English words by first letter, commonest first


def _trie(alternatives: list[str]) -> str:
    """Alternatives sharing a first character become one branch that tries them after it:
    Python's re tries every branch of an alternation in turn, and rejects a branch that
    starts with the wrong character at once. Order matters only between alternatives that
    can match at the same place, so an alternative that starts otherwise than with a plain
    character stays where it is, between the runs around it."""
    branches: list[str] = []
    run: dict[str, list[str]] = {}

    def close_run() -> None:  # commonest first letters of English words first: fewer tries
        for head, rests in sorted(run.items(), key=lambda kv: (
                kv[0][-1] not in _FIRST_LETTERS, _FIRST_LETTERS.find(kv[0][-1]))):
            if len(rests) == 1:
                branches.append(f"{head}{rests[0]}")
            else:
                branches.append(f"{head}(?:{_trie(rests)})")
        run.clear()

    for pattern in alternatives:
        n = _literal(pattern)
        if n:
            run.setdefault(pattern[:n], []).append(pattern[n:])
        else:
            close_run()
            branches.append(pattern)
    close_run()
    return "|".join(branches)
