"""Lesson 2 checkers: the thundering herd."""

from __future__ import annotations

from typing import Any

from incidentlab.check._common import Feedback, _big, _close, _diagnose, _exercise, _fmt, _number
from incidentlab.check._model import _knobs, _minutes_text, _outcome, _params, _preset, _with_params

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
