"""Lesson 4 checkers: metastability."""

from __future__ import annotations

from functools import cache
from typing import Any

from incidentlab import fmt
from incidentlab.check._common import (
    Feedback,
    _big,
    _bisect,
    _close,
    _diagnose,
    _exercise,
    _fmt,
    _number,
    not_yet,
    passed,
)
from incidentlab.check._model import _knobs, _minutes_text, _outcome, _preset, _run, _scenario
from incidentlab.check._predict import question
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
    value = _number(answer, "a number of queued requests (int or float)")
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
        return passed((
            story,
            f"At full capacity ({_fmt(capacity)} ops/s) that queue is "
            f"{fmt.minutes(expected / capacity)} of work — most of it for sessions that "
            "already gave up waiting.",
        ), ("The trigger is gone; what keeps the queue growing? Compare goodput with "
            "capacity.",))
    mixups = {"the queue when the lockup ended": at_end,
              "the queue five minutes after the fault (not after the lockup's end)":
                  _queue_at(run, QUEUE_LOOK_AFTER_S),
              "the queue five minutes after the lockup's start (add its duration too)":
                  _queue_at(run, p.lockup_start_s + QUEUE_LOOK_AFTER_S),
              "the queue in the 2017 run, with the split brain left in (use the trigger-removed "
              "run)": _queue_at(_run(_preset("march-2017")), end + QUEUE_LOOK_AFTER_S),
              "the queue one minute after the lockup (five minutes is 300 s)":
                  _queue_at(run, end + 60)}
    return not_yet((
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
    scenario = _scenario(answer, "the march-2017 preset with operator actions added")
    base = _preset("march-2017")
    changed = {k: v for k, v in scenario.params.changed().items()
               if getattr(base.params, k) != v}
    if changed:
        return not_yet((
            f"You changed knobs ({_knobs(changed)}). Operators in the middle of an incident "
            "cannot redeploy; keep the 2017 knobs and change only `actions`.",))
    ops = [a for a in scenario.actions if a.kind != "lockup"]
    if not ops:
        return not_yet((
            "There are no operator actions yet: add il.Action(t_s, kind) items to `actions`.",))
    outcome = _outcome(scenario)
    plan = "; ".join(f"{a.kind} at {_minutes_text(a.t_s)}" for a in ops)
    right = [f"Your plan: {plan}."]
    kinds = {a.kind for a in ops}
    last_disable = max((a.t_s for a in ops if a.kind == "disable_sending"), default=None)
    never_back = last_disable is not None and not any(
        a.kind == "enable_sending" and a.t_s > last_disable for a in ops)
    if never_back:
        return not_yet((
            "Message sending is disabled and never enabled again: users may be connected, but "
            "a chat that cannot send is not recovered. Add enable_sending once the reboot is "
            "through.",), right)
    if outcome.recovered:
        right.append(f"It recovers: everyone is back {_minutes_text(outcome.time_to_recover_s)} "
                     f"after the fault, after {outcome.oom_crashes} crashes.")
        return passed(right, (
            "Could it recover sooner? Each minute before your first action costs "
            f"{_big(base.params.users / base.params.presence_nodes)} stalled users.",))
    hints = [f"Not recovered within the hour ({outcome.oom_crashes} crashes)."]
    hints += [f"Missing: {text}." for kind, text in ACTION_HINTS.items() if kind not in kinds]
    return not_yet(hints, right)


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

    return _bisect(safe, PHASE_BASE_S, 3600.0, rel=0.02)[1]


@_exercise(4, "smallest_cap_s",
           "the smallest backoff cap (1-s base, full jitter) that survives the 25-s lockup")
def tipping_point(answer: Any) -> Feedback:
    """Safe at the answer, and within 25% of the boundary the model's bisection finds."""
    value = _number(answer, "a backoff cap in seconds (int or float)")
    if value < PHASE_BASE_S:
        raise CheckError(f"expects a cap of at least the base, {PHASE_BASE_S:g} s; "
                         f"got {value:g}.")
    boundary = _smallest_safe_cap()
    ran = _outcome(_phase_base().replace(reconnect_cap_s=value))
    lockup = _phase_base().params.lockup_duration_s
    if ran.first_oom_s is not None:
        return not_yet((
            f"With a {value:g}-s cap the {lockup:g}-s lockup still tips the system over: the "
            f"first node runs out of memory {_minutes_text(ran.first_oom_s)} after the fault.",
            "Move up the phase diagram: a larger cap lets the retries spread further.",))
    if value > boundary * 1.25:
        return not_yet((
            "But a smaller one does too, and a long cap means a long wait for an unlucky "
            "session. Look for the edge of the safe region.",), (f"A {value:g}-s cap survives.",))
    return passed((
        f"A {value:g}-s cap survives, and the edge is near {fmt.number(boundary)} s: below it "
        f"the same {lockup:g}-second trigger leaves a failure that sustains itself.",
    ), ("Same trigger, two outcomes: that is metastability. On the diagram, how does the edge "
        "move for a longer lockup?",))


@question(4, "predict_no_trigger",
          "remove the trigger: split_brain_fix=True, so the locked presence node answers again "
          "as soon as its lockup ends. Does the 2017 run recover by itself?",
          {"a": "Yes, within a minute of the lockup's end.",
           "b": "Yes, after a few minutes of draining the queue.",
           "c": "No: presence has its capacity back, yet retries and work on abandoned "
                "requests keep it overloaded.",
           "d": "No: the lost presence node stays gone."},
          {"a": "That would make the failure no more than its trigger.",
           "b": "A queue drains when presence serves more than arrives; check whether it does.",
           "c": "That is a metastable failure: the sustaining effect outlives the trigger.",
           "d": "With the fix the node rejoins: the grey capacity line comes back to full."},
          after="Then run the cells below and look at the presence panel.")
def predict_no_trigger() -> str:
    """The letter the trigger-removed run gives."""
    scenario = _trigger_removed()
    o = _outcome(scenario)
    p = scenario.params
    end = p.lockup_start_s + p.lockup_duration_s
    if o.recovered:
        return "a" if o.time_to_recover_s <= end + 60 else "b"
    import polars as pl

    after = _run(scenario).timeline.filter(pl.col("t_s") > end + 60)
    full = p.presence_nodes * p.presence_capacity
    return "c" if after["presence_capacity_ops"].min() >= 0.99 * full else "d"
