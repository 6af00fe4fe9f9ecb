"""Lesson 5 checkers: the fixes."""

from __future__ import annotations

import math
import re
from typing import Any

from incidentlab import fmt
from incidentlab.check._common import (
    Feedback,
    _big,
    _diagnose,
    _exercise,
    _fmt,
    _integer,
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

LIMIT_PROBES = (1, 10, 100, 1_000, 10_000, 100_000)  # limits the hints compare an answer with


def _fault():
    return _preset("march-2017")


def _limit_safe(limit: int) -> bool:
    return _outcome(_fault().replace(inflight_limit=limit)).first_oom_s is None


def safe_window(p) -> float:
    """Little's law: with N = limit x session_nodes requests in flight and `spare` ops/s to serve
    them, the last waits N / spare s; the per-node limit at which that equals rpc_timeout_s."""
    spare = _spare_ops(p)
    return max(spare, 0.0) * p.rpc_timeout_s / p.session_nodes


@_exercise(5, "inflight", "an in-flight limit that alone keeps the 2017 fault from crashing")
def inflight_limit(answer: Any) -> Feedback:
    """inflight_limit=answer, nothing else changed: no session node runs out of memory."""
    limit = _integer(answer, "an in-flight limit per session node", 1)
    base = _fault()
    ran, before = _outcome(base.replace(inflight_limit=limit)), _outcome(base)
    p = base.params
    if ran.first_oom_s is not None:
        safe = [probe for probe in LIMIT_PROBES if _limit_safe(probe)]
        window = (f"Little's law gives the upper end: {_fmt(limit * p.session_nodes)} requests "
                  f"in flight wait about {_fmt(limit * p.session_nodes)} ÷ the spare capacity "
                  f"({_fmt(_spare_ops(p))} ops/s), which must stay under the "
                  f"{p.rpc_timeout_s:g}-s timeout.")
        if safe and limit < min(safe):
            way = (f"Too low: with {limit:,} per node so few requests are in flight that "
                   "re-linking the herd is slower than the stalled sessions fill memory. "
                   "Raise the limit.")
        elif safe and limit > max(safe):
            way = (f"Too high: {limit:,} per node lets so many requests queue at presence that "
                   "they wait past the timeout and are abandoned, as in 2017. Lower the limit.")
        else:
            way = "Try a few limits a factor of ten apart to find where the safe ones lie."
        return not_yet((
            f"With at most {limit:,} requests in flight per node ({limit * p.session_nodes:,} in "
            f"all) nodes still run out of memory, {_minutes_text(ran.first_oom_s)} after the "
            "fault.", way, window))
    right = [f"inflight_limit={limit:,}: no session node runs out of memory "
             f"(2017: {before.oom_crashes} crashes).",
             f"Presence peaks at {fmt.ratio(ran.peak_presence_load_ratio)} its capacity instead of "
             f"{fmt.ratio(before.peak_presence_load_ratio)}: excess attempts fail at once, "
             "locally, and never join the queue."]
    nxt = ["The limit bounds the herd, not the stall: sessions still wait (and buffer) until "
           "they get a link."]
    if not ran.recovered:
        nxt.append("And it does not recover within the hour: with the split-brain bug a third "
                   "of presence is still gone. Which fix removes that?")
    return passed(right, nxt)


def _waves_expected() -> tuple[int, int, int]:
    from incidentlab.model.params import Params
    from incidentlab.model.presets import FIXES

    p = Params()
    per_node = math.ceil(p.users / p.session_nodes / p.presence_nodes)
    limit = int(FIXES["inflight_limit"])
    return per_node, limit, math.ceil(per_node / limit)


@_exercise(5, "waves", "how many waves an in-flight limit of 1,000 lets through per node")
def waves(answer: Any) -> Feedback:
    """⌈N/L⌉: N stranded sessions on one session node, L the limit of the fixed preset."""
    from incidentlab.model.params import Params

    n, limit, expected = _waves_expected()
    value = _number(answer, "a number of waves (an int)")
    if value == expected:
        return passed((
            f"{expected} waves: {n:,} stranded sessions on each node, {limit:,} at a time; "
            "the last wave is partial but still a wave.",
        ), ("Each wave waits for presence to answer before the next may start. What sets how "
            "long the whole re-link takes?",))
    p = Params()
    if not value.is_integer() and math.ceil(value) == expected:
        return not_yet(("Waves come whole: a partial last wave is still a wave. Round up "
                        "(math.ceil), not to the nearest.",), ("Your division is right.",))
    if value == math.floor(n / limit) and value != expected:
        return not_yet(("You rounded down (floor): the sessions left over after the last full "
                        "wave still need a wave of their own. Round up (math.ceil).",))
    mixups = {"the waves for the whole herd through one node's limit":
                  math.ceil(p.users / p.presence_nodes / limit),
              "the stranded sessions per node (divide by the limit)": float(n),
              "every session on the node, not only the third linked to the lost presence "
              "node": math.ceil(p.users / p.session_nodes / limit),
              "the waves if all session nodes shared one limit (limit × session_nodes)":
                  math.ceil(p.users / p.presence_nodes / (limit * p.session_nodes))}
    return not_yet((
        *_diagnose(value, expected, "waves", mixups),
        "Per session node: N = users / session_nodes / presence_nodes stranded sessions, at "
        "most L = inflight_limit in flight at once: ⌈N / L⌉ waves.",
    ))


DESIGN_KNOBS = ("buffer_limit", "buffer_policy", "reconnect_base_s", "reconnect_cap_s",
                "reconnect_jitter", "client_reconnect_base_s", "client_reconnect_cap_s",
                "client_reconnect_jitter", "connect_rate_limit", "inflight_limit", "fast_fail",
                "split_brain_fix", "rpc_timeout_s")
# The mechanism each knob acts on: a defence of the knob must name (one of) these.
MECHANISMS: dict[str, tuple[str, ...]] = {
    "buffer_limit": ("memory", "buffer", "drop", "oom"),
    "buffer_policy": ("memory", "buffer", "drop", "disconnect", "oom"),
    "reconnect_base_s": ("herd", "spread", "wave", "retry", "retries", "backoff"),
    "reconnect_cap_s": ("herd", "spread", "wave", "retry", "retries", "backoff"),
    "reconnect_jitter": ("herd", "spread", "wave", "retry", "retries", "lockstep", "random"),
    "client_reconnect_base_s": ("client", "reconnect", "herd", "spread", "retry"),
    "client_reconnect_cap_s": ("client", "reconnect", "herd", "spread", "retry"),
    "client_reconnect_jitter": ("client", "reconnect", "herd", "spread", "retry"),
    "connect_rate_limit": ("admission", "admit", "reconnect", "client", "rate"),
    "inflight_limit": ("in flight", "in-flight", "queue", "timeout", "concurren", "semaphore",
                       "herd"),
    "fast_fail": ("stall", "buffer", "deliver", "degrad", "presence data", "memory"),
    "split_brain_fix": ("node", "rejoin", "cluster", "capacity", "split"),
    "rpc_timeout_s": ("timeout", "abandon", "queue", "wait"),
}
COSTS = ("cost", "price", "wait", "slow", "stale", "lose", "lost", "drop", "delay", "longer",
         "degrad", "fewer", "less", "risk", "complex", "miss")
EVASIONS = ("did not think", "didn't think", "not sure", "no idea", "don't know", "dont know",
            "do not know", "no reason", "just because", "random", "whatever", "lorem", "todo")
RECOVER_WITHIN_S = 300.0


def _defence_notes(changed: dict[str, Any], defence: Any) -> tuple[list[str], list[str]]:
    """What is right and what is missing in a defence {knob: why it is there and its cost}."""
    if not isinstance(defence, dict) or not defence:
        return [], ["Write `defence` as a dict, one entry per knob you changed: "
                    "{\"inflight_limit\": \"bounds the requests queued at presence below what "
                    "it serves within the timeout; costs a slower re-link\", ...}."]
    right, nxt = [], []
    extra = [k for k in defence if k not in changed]
    if extra:
        nxt.append(f"You defend {', '.join(map(str, extra))} but did not change it (or set it to "
                   "its 2017 value): defend the knobs you changed.")
    for knob in changed:
        why = defence.get(knob)
        if not isinstance(why, str) or not why.strip():
            nxt.append(f"No defence of {knob}: say what it acts on and what it costs.")
            continue
        text = " ".join(why.lower().split())
        words = re.findall(r"[a-z']+", text)
        if any(e in text for e in EVASIONS):
            nxt.append(f"Your defence of {knob} says you do not know why it is there: "
                       "a design review needs the mechanism.")
        elif len(words) < 6 or not any(m in text for m in MECHANISMS.get(knob, ())):
            nxt.append(f"Your defence of {knob} does not say what it acts on: name the "
                       f"mechanism (e.g. {' / '.join(MECHANISMS[knob][:3])}) in a sentence.")
        elif not any(c in text for c in COSTS):
            nxt.append(f"Your defence of {knob} gives no cost: what does it make worse (a "
                       "wait, stale data, dropped events, a slower re-link)?")
        else:
            right.append(f"{knob}: mechanism and cost stated.")
    return right, nxt


@_exercise(5, "design", "your configuration, defended knob by knob", ("defence",))
def design(answer: Any, defence: Any = None) -> Feedback:
    """No OOM, no event lost or dropped, recovered within 5 minutes of the lockup; each changed
    knob defended by the mechanism it acts on and its cost."""
    params = _params(answer)
    changed = params.changed()
    bought = {k: v for k, v in changed.items() if k not in DESIGN_KNOBS}
    if bought:
        return not_yet((
            f"You changed {_knobs(bought)}: that changes the incident or buys hardware. Design "
            f"with the software knobs only: {', '.join(DESIGN_KNOBS)}.",))
    if not changed:
        return not_yet(("These are the 2017 knobs: change something.",))
    outcome = _outcome(_with_params(_fault(), params))
    deadline = params.lockup_start_s + params.lockup_duration_s + RECOVER_WITHIN_S
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
    said, missing = _defence_notes(changed, defence)
    right += said
    nxt += missing
    return Feedback("", not nxt, tuple(right), tuple(nxt) or (
        "Compare with the report's own action items (il.presets['march-2017-fixed']): what did "
        "you choose differently, and why?",))


PREDICT_LIMIT = 1  # the in-flight limit per session node the prediction asks about


@question(5, "predict_limit_one",
          f"the 2017 fault with inflight_limit={PREDICT_LIMIT} per session node and nothing else "
          "changed. What happens?",
          {"a": "Presence is overloaded again and nodes crash, as in 2017.",
           "b": "No node crashes: with so few requests in flight nothing waits at presence.",
           "c": "Presence is never overloaded, yet re-linking is so slow that stalled sessions "
                "fill memory and nodes crash.",
           "d": "No node crashes, but re-linking takes far longer than with the report's 1,000."},
          {"a": "The limit caps what is in flight at limit × session_nodes: could that overload "
                "presence?",
           "b": "Nothing waits at presence, but how fast does one request per node re-link a "
                "third of all sessions?",
           "c": "Too slow fails too: the safe window has a lower end as well as an upper one.",
           "d": "Compare the re-link rate (limit × session_nodes per round trip) with how fast "
                "buffers fill."},
          after="Then run the cell below.")
def predict_limit_one() -> str:
    """The letter the model gives for an in-flight limit of 1 per node."""
    o = _outcome(_fault().replace(inflight_limit=PREDICT_LIMIT))
    if o.first_oom_s is not None:
        return "a" if o.peak_presence_load_ratio > 1.5 else "c"
    fixed = _outcome(_fault().replace(inflight_limit=1000))
    slower = o.user_minutes_lost > 1.5 * fixed.user_minutes_lost
    return "d" if slower else "b"
