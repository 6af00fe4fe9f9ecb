"""Exercise checkers for the lessons: specific, kind feedback instead of pass/fail.

Each lesson has a namespace (`check.lesson1`, ...) with one checker per exercise,
called with the learner's answer: `check.lesson1.time_to_detect(answer)`. A checker
returns a `Feedback` that says what is right and what to look at next. Expected
values are computed from the bundled report and the model every time, so a model
change cannot leave a stale number here. `None` means "not answered yet" (the
lessons run top to bottom before anyone answers); an answer of the wrong type
raises `CheckError` saying what was expected.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import SimpleNamespace
from typing import Any

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
        mark = {None: "✏️", True: "✅", False: "🔎"}[self.passed]
        lines = [f"{mark} **{self.headline}**", ""]
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
        return self.checker(answer, **context)

    @property
    def solution(self) -> str:
        """File name of the solution in notebooks/solutions/."""
        lesson, name = self.id.split(".")
        return f"{lesson}_{name}.py"


EXERCISES: dict[str, Exercise] = {}
lesson1 = SimpleNamespace()
lesson2 = SimpleNamespace()
lesson3 = SimpleNamespace()
lesson4 = SimpleNamespace()
lesson5 = SimpleNamespace()
lesson6 = SimpleNamespace()
lesson7 = SimpleNamespace()
_LESSONS = [lesson1, lesson2, lesson3, lesson4, lesson5, lesson6, lesson7]


def _exercise(lesson: int, answer: str, prompt: str, context: tuple[str, ...] = ()):
    """Register a checker as `lesson<N>.<name>` and in EXERCISES under "0N.<name>"."""

    def register(fn: Callable[..., Feedback]) -> Exercise:
        ex = Exercise(f"{lesson:02d}.{fn.__name__}", answer, prompt, fn, context)
        EXERCISES[ex.id] = ex
        setattr(_LESSONS[lesson - 1], fn.__name__, ex)
        return ex

    return register


# --- reading answers: accept the reasonable types, reject the rest clearly ---------------


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


def _number(answer: Any, exercise: str, what: str = "a number (int or float)") -> float:
    """A real number (int, float, numpy scalar); bools, strings and NaN are refused."""
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise CheckError(f"{exercise} expects {what}; got {_describe(answer)}.")
    value = float(answer)
    if math.isnan(value):
        raise CheckError(f"{exercise} expects {what}; got NaN.")
    return value


def _minutes(answer: Any, exercise: str) -> float:
    """Minutes as a number, or a datetime.timedelta (what subtracting two times gives)."""
    if isinstance(answer, dt.timedelta):
        return answer.total_seconds() / 60
    return _number(answer, exercise,
                   "a number of minutes (int or float) or a datetime.timedelta")


def _close(value: float, expected: float, rel: float = 0.02, abs_: float = 0.0) -> bool:
    return math.isclose(value, expected, rel_tol=rel, abs_tol=abs_)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _big(x: float) -> str:
    """Counts of events in words: '2.2 billion'."""
    for unit, size in (("billion", 1e9), ("million", 1e6), ("thousand", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x:,.0f}"


def _qty(x: float, unit: str) -> str:
    """'1 minute', '13 minutes', '2.5 seconds'."""
    return f"{_fmt(x)} {unit if _fmt(x) == '1' else unit + 's'}"


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
        return [f"Your {_fmt(value)} {unit} is about {ratio:.2g}× the expected size (too {way})."]
    return [f"Your {_fmt(value)} {unit} should be 0."]


# --- lesson 1: reading the postmortem ---------------------------------------------------


@cache
def _events():
    from incidentlab.reports import load_report

    return load_report(REPORT)


def _first(kind: str | None = None, source: str | None = None) -> dt.datetime:
    import polars as pl

    events = _events()
    if kind is not None:
        events = events.filter(pl.col("kind") == kind)
    if source is not None:
        events = events.filter(pl.col("source") == source)
    return events["time"].min()


def _minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 60


def _lesson1_times() -> dict[str, float]:
    """Minutes from the first trigger to the landmarks learners might confuse."""
    from incidentlab.metrics import incident_metrics

    m = incident_metrics(_events())
    return {
        "the time to detect": m.minutes_to_detect,
        "the time to the first public status update": m.minutes_to_first_update,
        "the time to the first sessions OOM (the first impact event)": _minutes_between(
            m.start, _first("impact")
        ),
        "the time to the first recovery": m.minutes_to_first_recovery,
        "the time to the final resolution": m.minutes_to_resolution,
    }


@_exercise(1, "mitigations", "the mitigation events, sorted by time")
def mitigations(answer: Any) -> Feedback:
    """The events table filtered to kind == "mitigation" and sorted by time."""
    import polars as pl

    ex = "01.mitigations"
    if not isinstance(answer, pl.DataFrame):
        hint = " (call .collect() on a LazyFrame)" if isinstance(answer, pl.LazyFrame) else ""
        raise CheckError(
            f"{ex} expects a polars DataFrame: the events table filtered to the mitigations"
            f"{hint}; got {_describe(answer)}."
        )
    events = _events()
    expected = events.filter(pl.col("kind") == "mitigation").sort("time", maintain_order=True)
    missing_cols = [c for c in ("time", "kind", "text") if c not in answer.columns]
    if missing_cols:
        return Feedback(ex, False, next=(
            f"Your table has no {', '.join(missing_cols)} column(s). Keep every column: "
            "`filter` chooses rows, `select` chooses columns; this exercise needs only `filter`.",
        ))
    if answer.height == 0:
        return Feedback(ex, False, next=(
            "Your table is empty: check the spelling in your condition (kinds are lower-case, "
            "e.g. \"mitigation\").",))
    right, nxt = [], []
    kinds = sorted(set(answer["kind"].to_list()))
    if kinds == ["mitigation"]:
        right.append("Every row you kept is a mitigation.")
    else:
        others = [k for k in kinds if k != "mitigation"]
        nxt.append(f"Your table also has kinds {others}: filter on `pl.col(\"kind\") == "
                   "\"mitigation\"`.")
    want = set(zip(expected["time"].to_list(), expected["text"].to_list(), strict=True))
    have = set(zip(answer["time"].to_list(), answer["text"].to_list(), strict=True))
    lost = want - have
    if not lost:
        right.append(f"All {len(want)} mitigations are there, from the API patches at "
                     f"{expected['time'][0]:%H:%M} to the final reboot at "
                     f"{expected['time'][-1]:%H:%M}.")
    else:
        first = min(lost)
        nxt.append(f"{len(lost)} of the {len(want)} mitigations are missing, e.g. the one at "
                   f"{first[0]:%H:%M}: \"{first[1][:70]}\".")
    if answer["time"].is_sorted():
        right.append("The rows are in time order.")
    else:
        nxt.append("The rows are not in time order: add `.sort(\"time\")`.")
    return Feedback(ex, not nxt, tuple(right), tuple(nxt))


def _minutes_check(ex: str, answer: Any, key: str, what: str) -> Feedback:
    value = _minutes(answer, ex)
    times = _lesson1_times()
    expected = times[key]
    if _close(value, expected, 0.0, 0.5):
        return Feedback(ex, True, (
            f"{_qty(expected, 'minute')} {what}.",
        ), ("Compare it with the other gaps: which one would you most like to shrink?",))
    others = {name: v for name, v in times.items() if name != key}
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "minutes", others, {"60 times": 60, "1/60 of": 1 / 60}),
        "Take the earliest `trigger` event and the earliest event that marks the answer, "
        "subtract the times, and divide by `timedelta(minutes=1)` (or use `.total_seconds()/60`).",
    ))


@_exercise(1, "time_to_detect_min", "minutes from the first trigger to the first detection")
def time_to_detect(answer: Any) -> Feedback:
    """Minutes from the first trigger event to the first detection event."""
    return _minutes_check("01.time_to_detect", answer, "the time to detect",
                          "from the first trigger to the first detection")


@_exercise(1, "time_to_first_update_min",
           "minutes from the first trigger to the first status-page update")
def time_to_first_update(answer: Any) -> Feedback:
    """Minutes from the first trigger to the first status update (source == "status_update")."""
    return _minutes_check("01.time_to_first_update", answer,
                          "the time to the first public status update",
                          "from the first trigger to the first public status update")


@_exercise(1, "recurrences", "how many times the failure started again after the first trigger")
def recurrences(answer: Any) -> Feedback:
    """Trigger events after the first one: the times the failure came back."""
    import polars as pl

    ex = "01.recurrences"
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        if isinstance(answer, pl.DataFrame):
            raise CheckError(f"{ex} expects a count (an int); you gave a DataFrame of "
                             f"{answer.height} rows. Use `.height` or `len(...)` to count it.")
        raise CheckError(f"{ex} expects a count (an int); got {_describe(answer)}.")
    triggers = _events().filter(pl.col("kind") == "trigger")
    expected = triggers.height - 1
    clock = ", ".join(f"{t:%H:%M}" for t in triggers["time"])
    if answer == expected:
        return Feedback(ex, True, (
            f"{expected} recurrences: triggers at {clock}, the first one starting it all.",
        ), ("The report says the same presence server failed each time. Lesson 4 asks why "
            "one flaky server could restart the whole cascade.",))
    hint = ("You counted the first trigger too: a recurrence is a trigger after the first."
            if answer == triggers.height else
            f"Filter the events to kind \"trigger\" and count them; there are {triggers.height}.")
    return Feedback(ex, False, (), (hint,))


# --- lesson 7: bring your own postmortem -------------------------------------------------

# The exercise's facts, given in the lesson's prose (they are not in the text itself).
OWN_DATE = "2024-03-12"
OWN_TZ = "Europe/Berlin"
# What a careful reader labels these three, whatever the parser's keyword cues guess.
OWN_KINDS = {"09:12": "trigger", "09:17": "detection", "09:30": "diagnosis"}


def _own_report(report: Any, ex: str) -> str:
    if not isinstance(report, str):
        raise CheckError(f"{ex} needs the report text too: call it with report=report "
                         f"(a str); got {_describe(report)}.")
    return report


def _own_events(report: str):
    from incidentlab.reports import parse_report

    return parse_report(report, date=OWN_DATE, tz=OWN_TZ)


def _own_labelled(report: str):
    import polars as pl

    events = _own_events(report)
    clock = pl.col("time").dt.strftime("%H:%M")
    kind = pl.col("kind")
    for hhmm, label in OWN_KINDS.items():
        kind = pl.when(clock == hhmm).then(pl.lit(label)).otherwise(kind)
    return events.with_columns(kind.alias("kind"))


def _events_frame(answer: Any, ex: str, what: str):
    import polars as pl

    if not isinstance(answer, pl.DataFrame):
        raise CheckError(f"{ex} expects a polars DataFrame ({what}); got {_describe(answer)}.")
    if "time" not in answer.columns or not isinstance(answer.schema["time"], pl.Datetime):
        raise CheckError(f"{ex} expects the events table with its datetime `time` column; "
                         f"your columns are {answer.columns}.")
    return answer


@_exercise(7, "own", "the report parsed with the date and zone it lacks", ("report",))
def own_events(answer: Any, report: Any = None) -> Feedback:
    """parse_report(report, date=..., tz=...) with the date and zone the lesson states."""
    ex = "07.own_events"
    answer = _events_frame(answer, ex, "what parse_report returns")
    expected = _own_events(_own_report(report, ex))
    right, nxt = [], []
    zone = answer.schema["time"].time_zone
    if answer.height != expected.height:
        nxt.append(f"You have {answer.height} events; parsing the whole report gives "
                   f"{expected.height}. Parse `report` itself, not a part of it.")
        return Feedback(ex, False, (), tuple(nxt))
    want, have = expected["time"].to_list(), answer["time"].to_list()
    if have == want:
        right.append(f"All {expected.height} events, at the right instants.")
    else:
        shift = (have[0] - want[0]).total_seconds() / 3600
        uniform = all((h - w).total_seconds() / 3600 == shift
                      for h, w in zip(have, want, strict=True))
        if shift and abs(shift) < 24 and uniform:
            nxt.append(f"Every time is {abs(shift):g} hour(s) off: the zone is wrong. The team "
                       f"wrote their times in Berlin time: tz=\"{OWN_TZ}\".")
        elif {t.date() for t in have} != {t.date() for t in want}:
            nxt.append(f"The dates are off: the incident was on {OWN_DATE} "
                       f"(date=\"{OWN_DATE}\", year-month-day).")
        else:
            nxt.append("Some times differ from what the parser gives with the right date and zone.")
    if zone == expected.schema["time"].time_zone:
        right.append(f"The times are in {zone}, the team's own zone, as they wrote them.")
    elif have == want:
        right.append(f"Same instants, shown in {zone}; {OWN_TZ} would match the text's clock.")
    return Feedback(ex, not nxt, tuple(right), tuple(nxt))


@_exercise(7, "labelled", "your events with the trigger, detection and diagnosis labelled",
           ("report",))
def own_kinds(answer: Any, report: Any = None) -> Feedback:
    """The parsed events with 09:12 a trigger, 09:17 a detection and 09:30 a diagnosis."""
    ex = "07.own_kinds"
    answer = _events_frame(answer, ex, "your parsed events, kinds corrected")
    if "kind" not in answer.columns:
        raise CheckError(f"{ex} expects a `kind` column; your columns are {answer.columns}.")
    expected = _own_labelled(_own_report(report, ex))
    if answer.height != expected.height:
        return Feedback(ex, False, (), (
            f"You have {answer.height} rows, the parsed report {expected.height}: change kinds "
            "with `with_columns`, without dropping or adding rows.",))
    have = dict(zip(answer["time"].dt.strftime("%H:%M").to_list(), answer["kind"].to_list(),
                    strict=False))
    want = dict(zip(expected["time"].dt.strftime("%H:%M").to_list(), expected["kind"].to_list(),
                    strict=False))
    wrong = [hhmm for hhmm in want if have.get(hhmm) != want[hhmm]]
    if not wrong:
        return Feedback(ex, True, (
            "The 09:12 configuration change is the trigger, the 09:17 alert the detection, and "
            "09:30, when the cause was found, the diagnosis.",
            "Every other kind is as the parser guessed.",
        ), ("A parser reads words, not intent: always review its kinds before computing metrics.",))
    return Feedback(ex, False, tuple(
        f"{hhmm} is {want[hhmm]}." for hhmm in OWN_KINDS if hhmm not in wrong), tuple(
        f"At {hhmm} your kind is {have.get(hhmm)!r}; a reader would call it {want[hhmm]!r}."
        for hhmm in wrong))


@_exercise(7, "own_detect_min", "minutes from the trigger to detection in your report",
           ("report",))
def own_time_to_detect(answer: Any, report: Any = None) -> Feedback:
    """Minutes from the first trigger to the first detection, after correcting the kinds."""
    import polars as pl

    ex = "07.own_time_to_detect"
    value = _minutes(answer, ex)
    events = _own_labelled(_own_report(report, ex))

    def first(kind: str) -> dt.datetime:
        return events.filter(pl.col("kind") == kind)["time"].min()

    expected = _minutes_between(first("trigger"), first("detection"))
    if _close(value, expected, 0.0, 0.5):
        return Feedback(ex, True, (f"{_qty(expected, 'minute')} from the bad change to the "
                                   "alert.",),
                        ("Compare with Discord's one minute: what made each fast or slow?",))
    mixups = {
        "counted from the first event the parser labelled a trigger (before correcting kinds)":
            None,
        "the time to diagnosis": _minutes_between(first("trigger"), first("diagnosis")),
        "the time to recovery": _minutes_between(first("trigger"), first("recovery")),
    }
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "minutes", mixups, {"60 times": 60}),
        "Use your corrected table: the first trigger is now the 09:12 change.",
    ))


# --- the model, shared by lessons 2-6 ------------------------------------------------------


def _preset(name: str):
    from incidentlab.model.presets import presets

    return presets[name]


def _with_params(scenario, params):
    import dataclasses

    return dataclasses.replace(scenario, params=params)


@cache
def _outcome(scenario):
    """Outcome of a scenario (cached: scenarios are frozen and runs are deterministic)."""
    from incidentlab.model.engine import simulate

    return simulate(scenario).outcome


def _params(answer: Any, ex: str):
    from incidentlab.model.params import Params

    if not isinstance(answer, Params):
        raise CheckError(f"{ex} expects an il.Params, e.g. il.Params(reconnect_jitter=\"full\") "
                         f"or il.Params().replace(...); got {_describe(answer)}.")
    return answer


def _knobs(changed: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "nothing"


def _minutes_text(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes"


# --- lesson 2: the thundering herd ----------------------------------------------------------

FIRST_WAVE_BASE_S = 10.0  # the backoff base the exercise states
BACKOFF_KNOBS = ("reconnect_base_s", "reconnect_cap_s", "reconnect_jitter")


def _herd() -> float:
    from incidentlab.model.params import Params

    p = Params()
    return p.users / p.presence_nodes


@_exercise(2, "herd", "how many sessions must re-link when one presence node drops")
def herd_size(answer: Any) -> Feedback:
    """Sessions linked to the lost presence node: users / presence_nodes."""
    from incidentlab.model.params import Params

    ex = "02.herd_size"
    value = _number(answer, ex, "a number of sessions (int or float)")
    p = Params()
    expected = _herd()
    if _close(value, expected, 0.01):
        return Feedback(ex, True, (
            f"{_fmt(expected)} sessions: each session links to one of {p.presence_nodes} presence "
            f"nodes, so losing one strands 1/{p.presence_nodes} of {_fmt(p.users)} users.",
            "That is the report's '1/3rd of all connected sessions'.",
        ), ("Next: how fast do they all come back, and how much can the survivors serve?",))
    mixups = {"every user, not just those linked to the lost node": float(p.users),
              "the sessions on the nodes that survived": p.users - expected,
              "the herd per session node": expected / p.session_nodes}
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "sessions", mixups),
        "Each session is linked to exactly one presence node, spread evenly: use "
        "`p.users` and `p.presence_nodes`.",
    ))


@_exercise(2, "first_wave_per_s",
           "link requests per second in the first wave, full jitter, base 10 s")
def first_wave_rate(answer: Any) -> Feedback:
    """Full jitter spreads the herd's first retries uniformly over [0, base]: herd / base per s."""
    from incidentlab.model.params import Params

    ex = "02.first_wave_rate"
    value = _number(answer, ex, "a rate in requests per second (int or float)")
    herd = _herd()
    expected = herd / FIRST_WAVE_BASE_S
    p = Params()
    survivors = (p.presence_nodes - 1) * p.presence_capacity
    if _close(value, expected, 0.03):
        return Feedback(ex, True, (
            f"{_fmt(expected)} requests/s: {_fmt(herd)} sessions spread evenly over "
            f"{FIRST_WAVE_BASE_S:g} s.",
            f"The surviving presence nodes serve {_fmt(survivors)} operations/s in all, so even "
            f"the spread-out wave is {expected / survivors:.2g}× what they can take.",
        ), ("Jitter lowers the peak by spreading it; only a wider window (a larger base) or "
            "fewer requests (a limit) bring it under capacity.",))
    mixups = {"the whole herd at once (no jitter: one spike)": herd,
              "the rate with equal jitter (half the window)": herd / (FIRST_WAVE_BASE_S / 2),
              "the survivors' capacity": survivors}
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "requests/s", mixups),
        "Full jitter: each retry waits U(0, base) seconds, so the herd arrives evenly over "
        "`base` seconds. Divide the herd by the window.",
    ))


@_exercise(2, "calm", "reconnect backoff knobs with which the 2017 fault crashes no node")
def calm_herd(answer: Any) -> Feedback:
    """Only the session->presence backoff knobs changed; march-2017 then has no OOM."""
    ex = "02.calm_herd"
    params = _params(answer, ex)
    changed = params.changed()
    others = {k: v for k, v in changed.items() if k not in BACKOFF_KNOBS}
    if others:
        return Feedback(ex, False, (), (
            f"You changed {_knobs(others)} too. This exercise is about backoff alone: change only "
            f"{', '.join(BACKOFF_KNOBS)} (lessons 3 and 5 use the other knobs).",))
    if not changed:
        return Feedback(ex, False, (), (
            "These are the 2017 knobs unchanged (base 1 s, cap 4 s, no jitter): every stranded "
            "session retries in step. Change reconnect_jitter, reconnect_base_s, reconnect_cap_s.",
        ))
    base = _preset("march-2017")
    outcome = _outcome(_with_params(base, params))
    herd = _herd()
    if outcome.first_oom_s is None:
        right = [f"With {_knobs(changed)} no session node runs out of memory.",
                 f"Presence peaked at {outcome.peak_presence_load_ratio:.2g}× its capacity."]
        if outcome.recovered:
            right.append(f"Everyone was back {_minutes_text(outcome.time_to_recover_s)} after "
                         "the fault.")
        return Feedback(ex, True, tuple(right), (
            f"The price: stranded sessions wait longer; {_big(outcome.user_minutes_lost)} "
            "user-minutes of service were lost. Would your users accept that wait?",))
    hints = [f"With {_knobs(changed)} the first node still runs out of memory "
             f"{_minutes_text(outcome.first_oom_s)} after the fault "
             f"({outcome.oom_crashes} crashes)."]
    if params.reconnect_jitter == "none":
        hints.append("Without jitter every stranded session retries in the same second: "
                     "add jitter so the waves spread out.")
    first = herd / max(params.reconnect_base_s, 1e-9)
    hints.append(f"Your first wave is about {_fmt(first)} requests/s: raise reconnect_base_s "
                 "(and the cap with it) until the waves fit what presence can serve.")
    return Feedback(ex, False, (), tuple(hints))


# --- lesson 3: buffers and memory -----------------------------------------------------------

KB_PER_GB = 1e6  # the model's convention (Params.node_memory_gb)


def _oom_by_hand(p=None) -> dict[str, float]:
    """Seconds until the average session node fills, by hand, and the slips learners make."""
    from incidentlab.model.params import Params

    p = p or Params()
    sessions = p.users / p.session_nodes
    free_kb = p.node_memory_gb * KB_PER_GB - sessions * p.session_base_kb
    stalled = sessions / p.presence_nodes
    fill = stalled * p.event_rate * p.event_kb
    return {
        "right": free_kb / fill,
        "what you get if you forget the memory idle sessions already use":
            p.node_memory_gb * KB_PER_GB / fill,
        "what you get if every session on the node stalls, not one in "
        f"{p.presence_nodes}": free_kb / (fill * p.presence_nodes),
        "what you get with 1 GB = 1024² KB": (p.node_memory_gb * 1024**2 - sessions
                                              * p.session_base_kb) / fill,
    }


@_exercise(3, "oom_by_hand_s", "seconds until the average session node runs out of memory")
def time_to_oom_by_hand(answer: Any) -> Feedback:
    """Free memory ÷ (stalled sessions × event_rate × event_kb), for the average node."""
    ex = "03.time_to_oom_by_hand"
    value = _number(answer, ex, "a number of seconds (int or float)")
    slips = _oom_by_hand()
    expected = slips.pop("right")
    if _close(value, expected, 0.02):
        return Feedback(ex, True, (
            f"{_fmt(expected)} s, {_minutes_text(expected)}: free memory divided by how fast the "
            "stalled third of the node's sessions fill it.",
        ), ("The report says nodes began to crash by 11:50, twelve minutes after 11:38. "
            "Next, ask the model — it knows two things this sum leaves out.",))
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "s", slips, {"1/60 of (minutes?)": 1 / 60}),
        "Per node: sessions = users / session_nodes; free KB = node_memory_gb × 10⁶ − sessions "
        "× session_base_kb; the fill rate in KB/s = stalled sessions × event_rate × event_kb.",
    ))


@_exercise(3, "oom_model_s", "seconds from the fault to the first OOM in the 2017 run")
def time_to_oom_by_model(answer: Any) -> Feedback:
    """outcome.first_oom_s of the march-2017 preset."""
    ex = "03.time_to_oom_by_model"
    value = _number(answer, ex, "a number of seconds (int or float)")
    expected = _outcome(_preset("march-2017")).first_oom_s
    hand = _oom_by_hand()["right"]
    if expected is None:  # pragma: no cover - the 2017 preset always crashes
        raise CheckError(f"{ex}: the march-2017 preset no longer runs out of memory; "
                         "this lesson needs updating")
    if _close(value, expected, 0.0, 1.0):
        return Feedback(ex, True, (
            f"The model's first OOM comes {_fmt(expected)} s ({_minutes_text(expected)}) after "
            "the fault.",
            f"Your sum said {_fmt(hand)} s for the average node.",
        ), ("Why do they differ? The busiest node (session_load_spread) holds more sessions "
            "and fills first; and as presence re-links some sessions, fewer stay stalled.",))
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "s", {"your by-hand answer for the average node": hand},
                   {"1/60 of (minutes?)": 1 / 60}),
        "Run il.simulate(il.presets[\"march-2017\"]) and read `.outcome.first_oom_s`.",
    ))


@cache
def _buffer_boundary() -> int:
    """Largest drop-oldest buffer_limit with no OOM in march-2017 (bisection on the model)."""
    base = _preset("march-2017")

    def safe(limit: int) -> bool:
        return _outcome(base.replace(buffer_policy="drop-oldest",
                                     buffer_limit=limit)).first_oom_s is None

    lo, hi = 1, 1
    while safe(hi):
        lo, hi = hi, hi * 4
        if hi > 10**9:  # pragma: no cover - memory would have to be unbounded
            return lo
    while hi - lo > max(1, lo // 100):  # 1% is finer than any learner needs
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if safe(mid) else (lo, mid)
    return lo


@_exercise(3, "limit", "the largest drop-oldest buffer_limit with no OOM in the 2017 fault")
def buffer_limit(answer: Any) -> Feedback:
    """Within 20% below the boundary, and safe: keeps the most events without a crash."""
    ex = "03.buffer_limit"
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real) or answer < 1:
        raise CheckError(f"{ex} expects a buffer limit in events per session (an int >= 1); "
                         f"got {_describe(answer)}.")
    limit = int(answer)
    boundary = _buffer_boundary()
    base = _preset("march-2017")
    ran = _outcome(base.replace(buffer_policy="drop-oldest", buffer_limit=limit))
    if ran.first_oom_s is not None:
        return Feedback(ex, False, (), (
            f"With buffer_limit={limit} the first node still runs out of memory "
            f"{_minutes_text(ran.first_oom_s)} after the fault: the limit is too high.",
            "By hand: the busiest node's free memory ÷ (its stalled sessions × event_kb) is "
            "roughly how many events each stalled session may keep.",
        ))
    if limit < boundary / 1.2:
        return Feedback(ex, False, (
            f"buffer_limit={limit} avoids every crash.",), (
            f"But it drops more than it must ({_big(ran.events_dropped)} events). A larger limit "
            "is still safe: look for the largest one (try doubling it).",))
    lost_2017 = _outcome(base).events_lost
    return Feedback(ex, True, (
        f"buffer_limit={limit} is safe, and within 20% of the largest safe limit "
        f"(about {_fmt(boundary)} events per session).",
        f"The trade: no crash and no user thrown off, but {_big(ran.events_dropped)} events "
        f"dropped on purpose (the 2017 crashes lost {_big(lost_2017)}).",
    ), ("The stall goes on, so the drops go on: a bound treats the symptom. Which events could "
        "Discord afford to drop, and which (messages!) not?",))


def _scenario(answer: Any, ex: str, what: str):
    from incidentlab.model.scenario import Scenario

    if not isinstance(answer, Scenario):
        raise CheckError(f"{ex} expects an il.Scenario ({what}); got {_describe(answer)}.")
    return answer


@cache
def _run(scenario):
    from incidentlab.model.engine import simulate

    return simulate(scenario)


# --- lesson 4: metastability ---------------------------------------------------------------

QUEUE_LOOK_AFTER_S = 300.0  # "five minutes after the lockup ended"


def _trigger_removed():
    """The 2017 fault with the split-brain fix: the locked node answers again after its lockup."""
    return _preset("march-2017").replace(split_brain_fix=True)


def _queue_at(run, t_s: float) -> float:
    import polars as pl

    row = run.timeline.filter(pl.col("t_s") <= t_s).tail(1)
    return float(row["presence_queue"][0])


@_exercise(4, "queue_after", "the presence queue five minutes after the lockup ended")
def queue_after_trigger(answer: Any) -> Feedback:
    """presence_queue at lockup end + 300 s, in the 2017 run with the split-brain fix."""
    ex = "04.queue_after_trigger"
    value = _number(answer, ex, "a number of queued requests (int or float)")
    scenario = _trigger_removed()
    p = scenario.params
    end = p.lockup_start_s + p.lockup_duration_s
    run = _run(scenario)
    expected = _queue_at(run, end + QUEUE_LOOK_AFTER_S)
    at_end = _queue_at(run, end)
    capacity = p.presence_nodes * p.presence_capacity
    if _close(value, expected, 0.02, 1.0):
        if expected > at_end:
            story = (f"The lockup ended at t={end:g} s with {_fmt(at_end)} requests queued; five "
                     f"minutes later the queue is {_fmt(expected)} and still growing.")
        else:
            story = (f"The queue went from {_fmt(at_end)} at the lockup's end to "
                     f"{_fmt(expected)}: this configuration drains.")
        return Feedback(ex, True, (
            story,
            f"At full capacity ({_fmt(capacity)} ops/s) that queue is "
            f"{expected / capacity / 60:.1f} minutes of work — most of it for sessions that "
            "already gave up waiting.",
        ), ("The trigger is gone; what keeps the queue growing? Compare goodput with "
            "capacity.",))
    mixups = {"the queue when the lockup ended": at_end,
              "the queue five minutes after the fault (not after the lockup's end)":
                  _queue_at(run, QUEUE_LOOK_AFTER_S)}
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "requests", mixups),
        f"The lockup ends at lockup_start_s + lockup_duration_s = {end:g} s; take the "
        f"`presence_queue` of the row with t_s = {end + QUEUE_LOOK_AFTER_S:g}.",
    ))


ACTION_HINTS = {
    "set_connect_rate_limit": "an admission limit (Discord's API patches) so that reconnecting "
                              "clients arrive at a rate presence can serve",
    "disable_sending": "shedding load first: disable message sending",
    "full_reboot": "a full reboot, to drop every stalled session and its buffer",
}


@_exercise(4, "rescue", "the 2017 scenario with operator actions that make it recover")
def shed_load(answer: Any) -> Feedback:
    """Only the schedule changes (the 2017 knobs stay); the run must recover before the horizon."""
    ex = "04.shed_load"
    scenario = _scenario(answer, ex, "the march-2017 preset with operator actions added")
    base = _preset("march-2017")
    changed = {k: v for k, v in scenario.params.changed().items()
               if getattr(base.params, k) != v}
    if changed:
        return Feedback(ex, False, (), (
            f"You changed knobs ({_knobs(changed)}). Operators in the middle of an incident "
            "cannot redeploy; keep the 2017 knobs and change only `actions`.",))
    ops = [a for a in scenario.actions if a.kind != "lockup"]
    if not ops:
        return Feedback(ex, False, (), (
            "There are no operator actions yet: add il.Action(t_s, kind) items to `actions`.",))
    outcome = _outcome(scenario)
    plan = "; ".join(f"{a.kind} at {_minutes_text(a.t_s)}" for a in ops)
    right = [f"Your plan: {plan}."]
    if outcome.recovered:
        right.append(f"It recovers: everyone is back {_minutes_text(outcome.time_to_recover_s)} "
                     f"after the fault, after {outcome.oom_crashes} crashes.")
        return Feedback(ex, True, tuple(right), (
            "Could it recover sooner? Each minute before your first action costs "
            f"{_big(base.params.users / base.params.presence_nodes)} stalled users.",))
    kinds = {a.kind for a in ops}
    hints = [f"Not recovered within the hour ({outcome.oom_crashes} crashes)."]
    hints += [f"Missing: {text}." for kind, text in ACTION_HINTS.items() if kind not in kinds]
    if "full_reboot" in kinds and "enable_sending" not in kinds and "disable_sending" in kinds:
        hints.append("Sending is still disabled at the end: users are connected but cannot "
                     "send. Enable it once the reboot is through.")
    return Feedback(ex, False, tuple(right), tuple(hints))


PHASE_BASE_S = 1.0  # the backoff base in the phase-diagram exercise (2017's)


def _phase_base():
    """Trigger removed, full jitter from a 1-s base: only the cap and the lockup vary."""
    return _trigger_removed().replace(reconnect_jitter="full", reconnect_base_s=PHASE_BASE_S)


@cache
def _smallest_safe_cap() -> float:
    """Smallest reconnect_cap_s with no OOM after the 25-s lockup (bisection on the model)."""
    base = _phase_base()

    def safe(cap: float) -> bool:
        return _outcome(base.replace(reconnect_cap_s=cap)).first_oom_s is None

    lo, hi = PHASE_BASE_S, 3600.0
    if safe(lo) or not safe(hi):  # pragma: no cover - the model no longer has an edge here
        raise CheckError("04.tipping_point: the model has no cap boundary for this fault any "
                         "more; this lesson needs updating")
    while hi / lo > 1.02:
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if safe(mid) else (mid, hi)
    return hi


@_exercise(4, "smallest_cap_s",
           "the smallest backoff cap (1-s base, full jitter) that survives the 25-s lockup")
def tipping_point(answer: Any) -> Feedback:
    """Safe at the answer, and within 25% of the boundary the model's bisection finds."""
    ex = "04.tipping_point"
    value = _number(answer, ex, "a backoff cap in seconds (int or float)")
    if value < PHASE_BASE_S:
        raise CheckError(f"{ex} expects a cap of at least the base, {PHASE_BASE_S:g} s; "
                         f"got {value:g}.")
    boundary = _smallest_safe_cap()
    ran = _outcome(_phase_base().replace(reconnect_cap_s=value))
    lockup = _phase_base().params.lockup_duration_s
    if ran.first_oom_s is not None:
        return Feedback(ex, False, (), (
            f"With a {value:g}-s cap the {lockup:g}-s lockup still tips the system over: the "
            f"first node runs out of memory {_minutes_text(ran.first_oom_s)} after the fault.",
            "Move up the phase diagram: a larger cap lets the retries spread further.",))
    if value > boundary * 1.25:
        return Feedback(ex, False, (f"A {value:g}-s cap survives.",), (
            "But a smaller one does too, and a long cap means a long wait for an unlucky "
            "session. Look for the edge of the safe region.",))
    return Feedback(ex, True, (
        f"A {value:g}-s cap survives, and the edge is near {boundary:.2g} s: below it the same "
        f"{lockup:g}-second trigger leaves a failure that sustains itself.",
    ), ("Same trigger, two outcomes: that is metastability. On the diagram, how does the edge "
        "move for a longer lockup?",))


# --- lesson 5: the fixes ---------------------------------------------------------------------


def _fault():
    return _preset("march-2017")


@_exercise(5, "inflight", "an in-flight limit that alone keeps the 2017 fault from crashing")
def inflight_limit(answer: Any) -> Feedback:
    """inflight_limit=answer, nothing else changed: no session node runs out of memory."""
    ex = "05.inflight_limit"
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral) or answer < 1:
        raise CheckError(f"{ex} expects an in-flight limit per session node (an int >= 1); got "
                         f"{_describe(answer)}.")
    base = _fault()
    scenario = base.replace(inflight_limit=int(answer))
    ran, before = _outcome(scenario), _outcome(base)
    p = base.params
    in_flight = answer * p.session_nodes
    capacity = (p.presence_nodes - 1) * p.presence_capacity
    if ran.first_oom_s is not None:
        return Feedback(ex, False, (), (
            f"With at most {answer:,} requests in flight per node ({in_flight:,} in all) nodes "
            f"still run out of memory, {_minutes_text(ran.first_oom_s)} after the fault.",
            f"Compare what may be in flight with what presence serves: about {_fmt(capacity)} "
            f"operations/s, each request timing out after {p.rpc_timeout_s:g} s.",
        ))
    right = [f"inflight_limit={answer:,}: no session node runs out of memory "
             f"(2017: {before.oom_crashes} crashes).",
             f"Presence peaks at {ran.peak_presence_load_ratio:.3g}× its capacity instead of "
             f"{before.peak_presence_load_ratio:.3g}×: excess attempts fail at once, locally, "
             "and never join the queue."]
    nxt = ["The limit bounds the herd, not the stall: sessions still wait (and buffer) until "
           "they get a link."]
    if not ran.recovered:
        nxt.append("And it does not recover within the hour: with the split-brain bug a third "
                   "of presence is still gone. Which fix removes that?")
    return Feedback(ex, True, tuple(right), tuple(nxt))


def _waves_expected() -> tuple[int, float, int]:
    from incidentlab.model.params import Params
    from incidentlab.model.presets import FIXES

    p = Params()
    per_node = p.users / p.session_nodes / p.presence_nodes
    limit = FIXES["inflight_limit"]
    return math.ceil(per_node), limit, math.ceil(math.ceil(per_node) / limit)


@_exercise(5, "waves", "how many waves an in-flight limit of 1,000 lets through per node")
def waves(answer: Any) -> Feedback:
    """⌈N/L⌉: N stranded sessions on one session node, L the limit of the fixed preset."""
    ex = "05.waves"
    n, limit, expected = _waves_expected()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise CheckError(f"{ex} expects a number of waves (an int); got {_describe(answer)}.")
    if answer == expected and float(answer).is_integer():
        return Feedback(ex, True, (
            f"{expected} waves: {n:,} stranded sessions on each node, {limit:,} at a time; "
            "the last wave is partial but still a wave.",
        ), ("Each wave waits for presence to answer before the next may start. What sets how "
            "long the whole re-link takes?",))
    if not float(answer).is_integer() and math.ceil(answer) == expected:
        return Feedback(ex, False, ("Your division is right.",), (
            "Waves come whole: a partial last wave is still a wave. Round up (math.ceil).",))
    from incidentlab.model.params import Params

    nodes = Params().session_nodes
    mixups = {"the waves for the whole herd through one node's limit": n * nodes / limit,
              "the stranded sessions per node (divide by the limit)": float(n)}
    return Feedback(ex, False, (), (
        *_diagnose(float(answer), expected, "waves", mixups),
        "Per session node: N = users / session_nodes / presence_nodes stranded sessions, at "
        "most L = inflight_limit in flight at once: ⌈N / L⌉ waves.",
    ))


DESIGN_KNOBS = ("buffer_limit", "buffer_policy", "reconnect_base_s", "reconnect_cap_s",
                "reconnect_jitter", "client_reconnect_base_s", "client_reconnect_cap_s",
                "client_reconnect_jitter", "connect_rate_limit", "inflight_limit", "fast_fail",
                "split_brain_fix", "rpc_timeout_s")
RECOVER_WITHIN_S = 300.0


@_exercise(5, "design", "your configuration, defended in words", ("defence",))
def design(answer: Any, defence: Any = None) -> Feedback:
    """No OOM, no event lost or dropped, recovered within 5 minutes of the lockup; defended."""
    ex = "05.design"
    params = _params(answer, ex)
    changed = params.changed()
    bought = {k: v for k, v in changed.items() if k not in DESIGN_KNOBS}
    if bought:
        return Feedback(ex, False, (), (
            f"You changed {_knobs(bought)}: that changes the incident or buys hardware. Design "
            f"with the software knobs only: {', '.join(DESIGN_KNOBS)}.",))
    if not changed:
        return Feedback(ex, False, (), ("These are the 2017 knobs: change something.",))
    base = _fault()
    outcome = _outcome(_with_params(base, params))
    p = params
    deadline = p.lockup_start_s + p.lockup_duration_s + RECOVER_WITHIN_S
    right, nxt = [f"Your knobs: {_knobs(changed)}."], []
    if outcome.first_oom_s is None:
        right.append("No session node runs out of memory.")
    else:
        nxt.append(f"A node still runs out of memory {_minutes_text(outcome.first_oom_s)} after "
                   "the fault.")
    if outcome.events_lost == 0 and outcome.events_dropped == 0:
        right.append("No event is lost or dropped.")
    else:
        nxt.append(f"Events still go missing ({_big(outcome.events_lost)} lost in crashes, "
                   f"{_big(outcome.events_dropped)} dropped by the buffer policy): what keeps "
                   "sessions buffering?")
    if outcome.recovered and outcome.time_to_recover_s <= deadline:
        right.append(f"Everyone is back {_minutes_text(outcome.time_to_recover_s)} after the "
                     "fault, within five minutes of the lockup's end.")
    elif outcome.recovered:
        nxt.append(f"It recovers, but only {_minutes_text(outcome.time_to_recover_s)} after the "
                   "fault; the goal is within five minutes of the lockup's end.")
    else:
        nxt.append("It does not recover within the hour. Is part of presence still missing?")
    if not isinstance(defence, str) or len(defence.split()) < 10:
        nxt.append("Write your defence in `defence`: a few sentences on why each change helps "
                   "and what it costs.")
    else:
        silent = [k for k in changed if k not in defence]
        if silent:
            nxt.append(f"Your defence does not mention {', '.join(silent)}: say why each "
                       "change is there, by its knob name.")
        else:
            right.append("Your defence names every knob you changed.")
    return Feedback(ex, not nxt, tuple(right), tuple(nxt) or (
        "Compare with the report's own action items (il.presets['march-2017-fixed']): what did "
        "you choose differently, and why?",))


# --- lesson 6: replay the day ----------------------------------------------------------------


def _replay():
    return _preset("march-2017-replay")


def _clock(answer: Any, ex: str, day: dt.datetime) -> dt.datetime:
    """A wall-clock answer: tz-aware datetime, naive datetime or time (read in the day's zone),
    or an "HH:MM[:SS]" string."""
    zone = day.tzinfo
    if isinstance(answer, dt.datetime):
        return answer if answer.tzinfo else answer.replace(tzinfo=zone)
    if isinstance(answer, dt.time):
        return dt.datetime.combine(day.date(), answer, tzinfo=zone)
    if isinstance(answer, str):
        try:
            parsed = dt.time.fromisoformat(answer.strip())
        except ValueError:
            raise CheckError(f"{ex} expects a clock time like \"11:50\" or a datetime; got "
                             f"{answer!r}.") from None
        return dt.datetime.combine(day.date(), parsed, tzinfo=zone)
    raise CheckError(f"{ex} expects a wall-clock time: a datetime (e.g. a `time` from the "
                     f"timeline) or a string like \"11:50\"; got {_describe(answer)}.")


@_exercise(6, "first_oom_at", "the wall-clock time of the first OOM crash in the replay")
def first_oom_clock(answer: Any) -> Feedback:
    """scenario start + fault_s + first_oom_s, within a minute; compared with the report."""
    ex = "06.first_oom_clock"
    scenario = _replay()
    outcome = _outcome(scenario)
    expected = scenario.start + dt.timedelta(seconds=scenario.fault_s + outcome.first_oom_s)
    value = _clock(answer, ex, scenario.start)
    off = (value - expected).total_seconds() / 60
    if abs(off) <= 1:
        return Feedback(ex, True, (
            f"The model's first session node runs out of memory at {expected:%H:%M:%S}.",
            "The report: 'By 11:50 ... members of the sessions cluster began to OOM and crash'.",
        ), ("Which knobs set this time? Change one (docs/model.md says which defaults are "
            "assumptions) and see how far the first crash moves.",))
    hints = [f"Your time is {abs(off):.0f} minutes {'late' if off > 0 else 'early'}."]
    if abs(off + scenario.fault_s / 60) <= 1:
        hints.append("You added the seconds to the scenario's start (11:30), but first_oom_s "
                     "counts from the fault (scenario.fault_s seconds later).")
    elif abs(off) >= 60 and abs(off) % 60 <= 1:
        hints.append("Off by whole hours: read the time in the replay's own zone (PDT).")
    hints.append("Find the first row of run.timeline where session_nodes_up drops, or add "
                 "fault_s + outcome.first_oom_s seconds to scenario.start.")
    return Feedback(ex, False, (), tuple(hints))


REBOOT_BACK_SHARE = 0.95


def _reboot_minutes(run, scenario) -> tuple[float, dt.datetime]:
    import polars as pl

    reboot = min(a.t_s for a in scenario.actions if a.kind == "full_reboot")
    users = scenario.params.users
    back = run.timeline.filter((pl.col("t_s") > reboot)
                               & (pl.col("users_connected") >= REBOOT_BACK_SHARE * users))
    if back.height == 0:  # pragma: no cover - the replay always reconnects
        raise CheckError("06.reboot_minutes: the replay no longer reconnects 95% of users after "
                         "its first reboot; this lesson needs updating")
    when = back["t_s"][0]
    return (when - reboot) / 60, scenario.start + dt.timedelta(seconds=reboot)


@_exercise(6, "reboot_min", "minutes from the first full reboot until 95% of users are back")
def reboot_minutes(answer: Any) -> Feedback:
    """From the first full_reboot action to users_connected >= 95% of users."""
    ex = "06.reboot_minutes"
    value = _minutes(answer, ex)
    scenario = _replay()
    expected, started = _reboot_minutes(_run(scenario), scenario)
    if _close(value, expected, 0.0, 0.5):
        verdict = "inside" if expected < 16 else "outside"
        return Feedback(ex, True, (
            f"{_qty(expected, 'minute')} after the reboot began at {started:%H:%M}, 95% of users "
            "are connected again.",
            f"That is {verdict} the report's 'under 16 minutes to reconnect millions of "
            "concurrent Discord users'.",
        ), ("What sets this time in the model? Look at connect_rate_limit (the API patches) "
            "and the client backoff.",))
    return Feedback(ex, False, (), (
        *_diagnose(value, expected, "minutes", {
            "the report's figure, not the model's": 16.0,
            "the time to the report's 'mostly recovered' at 13:56": 11.0},
            {"60 times (seconds?)": 60}),
        f"Start at the first full_reboot in day.schedule() ({started:%H:%M}) and find the first "
        "later row where users_connected reaches 95% of users.",
    ))


@_exercise(6, "fixed_day", "the replay scenario with the report's fixes")
def fixed_day(answer: Any) -> Feedback:
    """The replay's own schedule, the fixes' knobs, and no OOM crash all day."""
    from incidentlab.model.presets import FIXES

    ex = "06.fixed_day"
    scenario = _scenario(answer, ex, "the replay with the fixes' knobs")
    replay = _replay()
    if scenario.actions != replay.actions or scenario.start != replay.start:
        return Feedback(ex, False, (), (
            "Keep the day as it happened — the replay's start and actions — and change only "
            "knobs: il.presets['march-2017-replay'].replace(**fixes).",))
    missing = {k: v for k, v in FIXES.items() if getattr(scenario.params, k) != v}
    if missing:
        return Feedback(ex, False, (), (
            f"Set the report's fixes: {_knobs(missing)} (your scenario differs there).",))
    fixed, real = _outcome(scenario), _outcome(replay)
    if fixed.oom_crashes:
        return Feedback(ex, False, (), (
            f"With the fixes there are still {fixed.oom_crashes} crashes: check the other "
            f"knobs you changed ({_knobs(scenario.params.changed())}).",))
    return Feedback(ex, True, (
        f"With the fixes the day has no crash (in 2017: {real.oom_crashes}).",
        f"Users lose {_big(fixed.user_minutes_lost)} user-minutes instead of "
        f"{_big(real.user_minutes_lost)}; events lost: {_big(fixed.events_lost)} instead of "
        f"{_big(real.events_lost)}.",
    ), ("In this replay the operators still disable sending and reboot everything, on the "
        "same clock. With the fixes, which of those actions would they still need?",))
