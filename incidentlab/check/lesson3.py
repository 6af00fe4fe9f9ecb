"""Lesson 3 checkers: buffers and memory."""

from __future__ import annotations

import numbers
from functools import cache
from typing import Any

from incidentlab.check._common import (
    Feedback,
    _big,
    _close,
    _describe,
    _diagnose,
    _exercise,
    _fmt,
    _number,
)
from incidentlab.check._model import _minutes_text, _outcome, _preset
from incidentlab.errors import CheckError

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
