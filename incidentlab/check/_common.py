"""Shared checker machinery: Feedback, the exercise registry, and reading answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from incidentlab import fmt
from incidentlab.errors import CheckError

REPORT = "discord-2017-03-20"


@dataclass(frozen=True)
class Feedback:
    """What a checker says: passed or not, what is right, and what to look at next."""

    exercise: str
    passed: bool | None  # None: no answer yet
    right: tuple[str, ...] = ()
    next: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.passed)

    @property
    def headline(self) -> str:
        if self.passed is None:
            return f"{self.exercise}: no answer yet."
        if self.passed:
            return f"{self.exercise}: right."
        return f"{self.exercise}: not yet."

    def __str__(self) -> str:
        lines = [self.headline]
        lines += [f"  + {text}" for text in self.right]
        lines += [f"  > {text}" for text in self.next]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        lines = [f"**{self.headline}**", ""]
        lines += [f"- ✔ {text}" for text in self.right]
        lines += [f"- → {text}" for text in self.next]
        return "\n".join(lines)


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id (`"01.time_to_detect"`), the variable its answer goes in, a checker."""

    id: str
    answer: str
    prompt: str
    checker: Callable[..., Feedback] = field(repr=False)
    context: tuple[str, ...] = ()  # other notebook variables the checker takes by keyword

    def __call__(self, answer: Any, **context: Any) -> Feedback:
        if answer is None or answer is Ellipsis:
            return Feedback(
                self.id,
                None,
                next=(f"Put your answer in `{self.answer}` ({self.prompt}) in the cell "
                      "above, run it, then run this check again.",
                      f"Stuck? Uncomment the `%load solutions/{self.solution}` line above the "
                      "answer and run that cell twice (once to load, once to run)."),
            )
        try:
            feedback = self.checker(answer, **context)
        except CheckError as err:
            text = str(err)
            raise CheckError(text if text.startswith(self.id) else f"{self.id} {text}") from None
        return dataclasses.replace(feedback, exercise=self.id)

    @property
    def solution(self) -> str:
        """File name of the solution in notebooks/solutions/."""
        lesson, name = self.id.split(".")
        return f"{lesson}_{name}.py"


EXERCISES: dict[str, Exercise] = {}


def _exercise(lesson: int, answer: str, prompt: str, context: tuple[str, ...] = ()):
    """Register a checker in EXERCISES under "0N.<name>"; defined in lessonN.py, the Exercise
    it returns is `check.lesson<N>.<name>`."""

    def register(fn: Callable[..., Feedback]) -> Exercise:
        ex = Exercise(f"{lesson:02d}.{fn.__name__}", answer, prompt, fn, context)
        EXERCISES[ex.id] = ex
        return ex

    return register


# --- reading answers: accept the reasonable types, reject the rest clearly ---------------


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


def passed(right: Any, next: Any = ()) -> Feedback:
    """A pass; the Exercise that called the checker fills in its id."""
    return Feedback("", True, tuple(right), tuple(next))


def not_yet(next: Any, right: Any = ()) -> Feedback:
    """Not yet: what to look at next, and what is already right."""
    return Feedback("", False, tuple(right), tuple(next))


def _number(answer: Any, what: str = "a number (int or float)") -> float:
    """A real number (int, float, numpy scalar); bools, strings and NaN are refused."""
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise CheckError(f"expects {what}; got {_describe(answer)}.")
    value = float(answer)
    if math.isnan(value):
        raise CheckError(f"expects {what}; got NaN.")
    return value


def _integer(answer: Any, what: str, minimum: int = 0) -> int:
    """A whole number >= minimum (int, numpy int, or a float with no fraction: 3.0)."""
    value = _number(answer, f"{what} (an int >= {minimum})")
    if not value.is_integer() or value < minimum:
        raise CheckError(f"expects {what} (an int >= {minimum}); got {_describe(answer)}.")
    return int(value)


def _minutes(answer: Any, exercise: str = "") -> float:
    """Minutes as a number, or a datetime.timedelta (what subtracting two times gives)."""
    if isinstance(answer, dt.timedelta):
        return answer.total_seconds() / 60
    try:
        return _number(answer, "a number of minutes (int or float) or a datetime.timedelta")
    except CheckError as err:
        raise CheckError(f"{exercise} {err}".strip()) from None


def _bisect(safe: Callable[[float], bool], lo: float, hi: float, *, rel: float = 0.01,
            integer: bool = False) -> tuple[float, float]:
    """Narrow [lo, hi], safe(lo) != safe(hi), to within `rel` (geometric midpoints); returns
    the pair (lo, hi) that still straddles the edge."""
    if safe(lo) == safe(hi):
        raise CheckError(f"no edge between {lo:g} and {hi:g} any more: the model changed and "
                         "this exercise needs updating")
    lo_safe = safe(lo)
    while hi / lo > 1 + rel and (not integer or hi - lo > 1):
        mid = math.sqrt(lo * hi)
        mid = float(round(mid)) if integer else mid
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if safe(mid) == lo_safe else (lo, mid)
    return lo, hi


def _close(value: float, expected: float, rel: float = 0.02, abs_: float = 0.0) -> bool:
    return math.isclose(value, expected, rel_tol=rel, abs_tol=abs_)


_fmt = fmt.number
_big = fmt.count
_qty = fmt.quantity


def _diagnose(
    value: float,
    expected: float,
    unit: str,
    mixups: dict[str, float] | None = None,
    scales: dict[str, float] | None = None,
) -> list[str]:
    """Hints for a wrong number: a known mix-up, a unit slip, a sign slip, or how far off."""
    for name, other in (mixups or {}).items():
        if other is not None and _close(value, other, 0.02, 0.05):
            return [f"Your {_fmt(value)} {unit} is {name}: a real number, "
                    "but not the one asked for."]
    for name, factor in (scales or {}).items():
        if _close(value, expected * factor, 0.03):
            return [f"Your answer is {name} what it should be: check the units."]
    if expected and _close(-value, expected, 0.02):
        return ["Right size, wrong sign: subtract the earlier time from the later one."]
    if expected:
        ratio = value / expected
        way = "high" if ratio > 1 else "low"
        return [f"Your {_fmt(value)} {unit} is about {fmt.ratio(ratio)} the expected size "
                f"(too {way})."]
    return [f"Your {_fmt(value)} {unit} should be 0."]


def _minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 60
