"""Lesson 4 checkers: metastability."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from incidentlab.check._common import Feedback, _big, _close, _diagnose, _exercise, _fmt, _number
from incidentlab.check._model import _knobs, _minutes_text, _outcome, _preset, _run, _scenario
from incidentlab.errors import CheckError

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
