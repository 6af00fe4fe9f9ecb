"""Lesson 2 checkers: the thundering herd."""

from __future__ import annotations

from typing import Any

from incidentlab import fmt
from incidentlab.check._common import (
    Feedback,
    _big,
    _close,
    _diagnose,
    _exercise,
    _fmt,
    _number,
    not_yet,
    passed,
)
from incidentlab.check._model import (
    _knobs,
    _minutes_text,
    _outcome,
    _params,
    _preset,
    _spare_ops,
    _with_params,
)
from incidentlab.check._predict import question

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

    value = _number(answer, "a number of sessions (int or float)")
    p = Params()
    expected = _herd()
    if _close(value, expected, 0.01):
        return passed((
            f"{_fmt(expected)} sessions: each session links to one of {p.presence_nodes} presence "
            f"nodes, so losing one strands 1/{p.presence_nodes} of {_fmt(p.users)} users.",
            "The model assumes 3 presence nodes so that this is the report's '1/3rd of all "
            "connected sessions' that stalled.",
        ), ("Next: how fast do they all come back, and how much can the survivors serve?",))
    mixups = {"every user, not just those linked to the lost node": float(p.users),
              "the sessions on the nodes that survived": p.users - expected,
              "the herd per session node (divide by presence_nodes only)":
                  expected / p.session_nodes,
              "users divided by the surviving nodes (presence_nodes - 1)":
                  p.users / (p.presence_nodes - 1),
              "all sessions on one session node": p.users / p.session_nodes}
    return not_yet((
        *_diagnose(value, expected, "sessions", mixups),
        "Each session is linked to exactly one presence node, spread evenly: use "
        "`p.users` and `p.presence_nodes`.",
    ))


@_exercise(2, "first_wave_per_s",
           "link requests per second in the first wave, full jitter, base 10 s")
def first_wave_rate(answer: Any) -> Feedback:
    """Full jitter spreads the herd's first retries uniformly over [0, base]: herd / base per s."""
    from incidentlab.model.params import Params

    value = _number(answer, "a rate in requests per second (int or float)")
    herd = _herd()
    expected = herd / FIRST_WAVE_BASE_S
    p = Params()
    spare = _spare_ops(p)
    if _close(value, expected, 0.03):
        load = (f"the survivors have {_fmt(spare)} operations/s to spare after their background "
                f"work, so even the spread-out wave is {fmt.ratio(expected / spare)} what they can "
                "take." if spare > 0 else
                "the survivors' background work alone already uses all their capacity, so "
                "any wave is more than they can take.")
        return passed((
            f"{_fmt(expected)} requests/s: {_fmt(herd)} sessions spread evenly over "
            f"{FIRST_WAVE_BASE_S:g} s.", "Compare: " + load,
        ), ("Jitter lowers the peak by spreading it; only a wider window (a larger base) or "
            "fewer requests (a limit) bring it under capacity.",))
    mixups = {"the whole herd at once (no jitter: one spike)": herd,
              "the rate with equal jitter (half the window)": herd / (FIRST_WAVE_BASE_S / 2),
              "the survivors' capacity": (p.presence_nodes - 1) * p.presence_capacity,
              "every user, not the third linked to the lost node, over the window":
                  p.users / FIRST_WAVE_BASE_S,
              "the herd spread over the cap (120 s), not the base": herd / 120.0,
              "the rate per surviving presence node, not in all":
                  expected / (p.presence_nodes - 1)}
    return not_yet((
        *_diagnose(value, expected, "requests/s", mixups),
        "Full jitter: each retry waits U(0, base) seconds, so the herd arrives evenly over "
        "`base` seconds. Divide the herd by the window.",
    ))


LONG_WAIT_S = 300.0  # a first retry later than this keeps stalled sessions buffering too long


@_exercise(2, "calm", "reconnect backoff knobs with which the 2017 fault crashes no node")
def calm_herd(answer: Any) -> Feedback:
    """Only the session->presence backoff knobs changed, with jitter; march-2017 has no OOM."""
    params = _params(answer)
    changed = params.changed()
    others = {k: v for k, v in changed.items() if k not in BACKOFF_KNOBS}
    if others:
        return not_yet((
            f"You changed {_knobs(others)} too. This exercise is about backoff alone: change only "
            f"{', '.join(BACKOFF_KNOBS)} (lessons 3 and 5 use the other knobs).",))
    if not changed:
        return not_yet((
            "These are the 2017 knobs unchanged (the model assumes base 1 s, cap 4 s, no "
            "jitter): every stranded session retries in step. Change reconnect_jitter, "
            "reconnect_base_s, reconnect_cap_s.",))
    outcome = _outcome(_with_params(_preset("march-2017"), params))
    herd = _herd()
    if params.reconnect_jitter == "none":
        verdict = ("Your run survives, but" if outcome.first_oom_s is None else
                   f"A node runs out of memory {_minutes_text(outcome.first_oom_s)} after the "
                   "fault, and")
        return not_yet((
            f"{verdict} with no jitter every stranded session still retries in the same second, "
            "then again after each doubling: the herd stays one spike, only further apart.",
            "A longer cap only spaces the spikes out; add jitter (full, equal or decorrelated) "
            "so each wave spreads over its window.",))
    if outcome.first_oom_s is None:
        right = [f"With {_knobs(changed)} no session node runs out of memory.",
                 f"Presence peaked at {fmt.ratio(outcome.peak_presence_load_ratio)} its capacity."]
        if outcome.recovered:
            right.append(f"Everyone was back {_minutes_text(outcome.time_to_recover_s)} after "
                         "the fault.")
        return passed(right, (
            f"The price: stranded sessions wait longer; {_big(outcome.user_minutes_lost)} "
            "user-minutes of service were lost. Would your users accept that wait?",))
    hints = [f"With {_knobs(changed)} the first node still runs out of memory "
             f"{_minutes_text(outcome.first_oom_s)} after the fault "
             f"({outcome.oom_crashes} crashes)."]
    if params.reconnect_base_s >= LONG_WAIT_S:
        hints.append(f"Your base is {_fmt(params.reconnect_base_s)} s: a stranded session waits "
                     "minutes before its first retry, stalled and buffering all that time. "
                     "Lower reconnect_base_s (tens of seconds spread the herd enough).")
    else:
        first = herd / max(params.reconnect_base_s, 1e-9)
        hints.append(f"Your first wave is about {_fmt(first)} requests/s: raise reconnect_base_s "
                     "(and the cap with it) until the waves fit what presence can spare.")
    return not_yet(hints)


@question(2, "predict_jitter",
          "keep the 2017 base (1 s) and cap (4 s) but add full jitter. Will a session node "
          "still run out of memory?",
          {"a": "No: jitter spreads the herd so presence keeps up.",
           "b": "Yes: the herd is spread over at most 4 s, still far more than the survivors "
                "can spare.",
           "c": "Yes, and sooner than without jitter: randomness adds load.",
           "d": "No: the cap bounds how long anyone waits, so nobody stalls for long."},
          {"a": "Jitter moves retries inside the wait's window; the window here is at most "
                "4 s. Divide the herd by 4 s and compare with the spare capacity.",
           "b": "Spreading lowers the peak, not the total: the whole herd still arrives within "
                "the cap, again and again.",
           "c": "Jitter does not add requests; it only moves them in time.",
           "d": "A short cap keeps the waits short, so the herd retries more often, not less."},
          after="Then run the cell below and read the first OOM.")
def predict_jitter() -> str:
    """b (or c) while full jitter with the 2017 base and cap still crashes; a if it does not."""
    base = _preset("march-2017")
    jittered = _outcome(base.replace(reconnect_jitter="full"))
    if jittered.first_oom_s is None:
        return "a"
    return "c" if jittered.first_oom_s < _outcome(base).first_oom_s - 60 else "b"
