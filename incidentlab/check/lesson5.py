"""Lesson 5 checkers: the fixes."""

from __future__ import annotations

import math
import numbers
from typing import Any

from incidentlab.check._common import Feedback, _big, _describe, _diagnose, _exercise, _fmt
from incidentlab.check._model import _knobs, _minutes_text, _outcome, _params, _preset, _with_params
from incidentlab.errors import CheckError


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
