"""Each checker gives useful feedback: what is right on a right answer, a specific hint that
names the slip on a wrong one, a gentle prompt when there is no answer yet, and CheckError for
a wrong type. The table WRONG lists, per exercise, wrong and gaming answers and the words their
feedback must contain; a wrong answer that passes, or a hint that stops naming its slip, fails
here. Expected values are never typed: wrong answers are built from Params, the report and
the model, as a learner's slip would build them."""

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest

import incidentlab as il
from incidentlab import CheckError, check
from incidentlab.check import answers

P = il.Params()
HERD = P.users / P.presence_nodes
EVENTS = il.load_report("discord-2017-03-20")
M = il.incident_metrics(EVENTS)
REPLAY = il.presets["march-2017-replay"]
FAULT = il.presets["march-2017"]


def _hints(feedback) -> str:
    return " ".join(feedback.next)


def _text(feedback) -> str:
    return " ".join((*feedback.right, *feedback.next))


def _mitigations():
    return EVENTS.filter(pl.col("kind") == "mitigation").sort("time")


def _oom_slip(name: str) -> float:
    return next(v for k, v in check._oom_by_hand().items() if name in k)


def _second_wave():
    return check.lesson6._second_wave(REPLAY)


def _plan(*actions):
    return il.Scenario(params=FAULT.params, start=FAULT.start, actions=actions)


GOOD_PLAN = (il.Action(600, "set_connect_rate_limit", 6000), il.Action(600, "disable_sending"),
             il.Action(900, "full_reboot"))
FILLER = "this knob is here because it is good and it helps a lot overall"

# (exercise, a wrong or gaming answer, extra keyword arguments, words the feedback must contain)
WRONG = [
    ("01.mitigations", lambda: EVENTS.with_columns(kind=pl.lit("mitigation")), {},
     ["relabelled"]),
    ("01.mitigations", lambda: pl.concat([_mitigations(), _mitigations()]).sort("time"), {},
     ["more than once"]),
    ("01.mitigations", lambda: _mitigations().select("time", "kind"), {}, ["column", "filter"]),
    ("01.mitigations", lambda: _mitigations().sort("time", descending=True), {}, ["time order"]),
    ("01.mitigations", lambda: _mitigations().head(2), {}, ["missing"]),
    ("01.time_to_detect", lambda: M.minutes_to_first_update, {}, ["status update"]),
    ("01.time_to_detect", lambda: 60 * M.minutes_to_detect, {}, ["60 times"]),
    ("01.time_to_detect", lambda: -M.minutes_to_detect, {}, ["wrong sign"]),
    ("01.time_to_detect", lambda: M.minutes_to_first_recovery, {}, ["first recovery"]),
    ("01.time_to_first_update", lambda: M.minutes_to_detect, {}, ["time to detect"]),
    ("01.time_to_first_update", lambda: 60 * M.minutes_to_first_update, {}, ["seconds"]),
    ("01.time_to_first_update", lambda: M.minutes_to_resolution, {}, ["resolution"]),
    ("01.recurrences", lambda: M.recurrences + 1, {}, ["first trigger too"]),
    ("01.recurrences", lambda: 1, {}, ["summary", "trigger"]),
    ("01.recurrences", lambda: 0, {}, ["trigger"]),
    ("02.herd_size", lambda: P.users, {}, ["every user"]),
    ("02.herd_size", lambda: P.users - HERD, {}, ["survived"]),
    ("02.herd_size", lambda: P.users / (P.presence_nodes - 1), {}, ["surviving nodes"]),
    ("02.herd_size", lambda: P.users / P.session_nodes, {}, ["one session node"]),
    ("02.herd_size", lambda: HERD / P.session_nodes, {}, ["per session node"]),
    ("02.first_wave_rate", lambda: HERD, {}, ["whole herd"]),
    ("02.first_wave_rate", lambda: HERD / 5, {}, ["equal jitter"]),
    ("02.first_wave_rate", lambda: P.users / 10, {}, ["every user"]),
    ("02.first_wave_rate", lambda: HERD / 120, {}, ["cap"]),
    ("02.first_wave_rate", lambda: HERD / 10 / (P.presence_nodes - 1), {}, ["per surviving"]),
    ("02.calm_herd", lambda: P.replace(reconnect_cap_s=120.0), {}, ["no jitter", "same second"]),
    ("02.calm_herd", lambda: P.replace(reconnect_jitter="full", reconnect_base_s=3000.0,
                                       reconnect_cap_s=3600.0), {}, ["Lower reconnect_base_s"]),
    ("02.calm_herd", lambda: P.replace(fast_fail=True), {}, ["backoff alone"]),
    ("02.calm_herd", lambda: P, {}, ["2017 knobs"]),
    ("03.time_to_oom_by_hand", lambda: _oom_slip("idle"), {}, ["idle sessions"]),
    ("03.time_to_oom_by_hand", lambda: _oom_slip("every session"), {}, ["every session"]),
    ("03.time_to_oom_by_hand", lambda: _oom_slip("event_rate"), {}, ["event_rate"]),
    ("03.time_to_oom_by_hand", lambda: _oom_slip("busiest"), {}, ["busiest"]),
    ("03.time_to_oom_by_hand", lambda: _oom_slip("1024") , {}, ["1024"]),
    ("03.time_to_oom_by_hand", lambda: check._oom_by_hand()["right"] / 60, {}, ["minutes"]),
    ("03.time_to_oom_by_model", lambda: check._oom_by_hand()["right"], {}, ["by-hand"]),
    ("03.time_to_oom_by_model", lambda: il.simulate(FAULT).outcome.first_oom_s / 60, {},
     ["minutes"]),
    ("03.time_to_oom_by_model", lambda: il.simulate(FAULT.replace(
        session_load_spread=0.0)).outcome.first_oom_s, {}, ["equally loaded"]),
    ("03.buffer_limit", lambda: 10, {}, ["drops more than it must"]),
    ("03.buffer_limit", lambda: 10**7, {}, ["too high"]),
    ("03.buffer_limit", lambda: 3 * check._buffer_boundary(), {}, ["runs out of memory"]),
    ("04.queue_after_trigger", lambda: _queue(0), {}, ["lockup ended"]),
    ("04.queue_after_trigger", lambda: _queue(-FAULT.params.lockup_duration_s), {},
     ["after the fault"]),
    ("04.queue_after_trigger", lambda: _queue(60), {}, ["one minute"]),
    ("04.queue_after_trigger", lambda: _queue(300, split=False), {}, ["split brain"]),
    ("04.shed_load", lambda: _plan(*GOOD_PLAN), {}, ["never enabled again"]),
    ("04.shed_load", lambda: _plan(il.Action(600, "full_reboot")), {},
     ["admission limit", "disable message sending"]),
    ("04.shed_load", lambda: FAULT.replace(fast_fail=True), {}, ["cannot redeploy"]),
    ("04.shed_load", lambda: FAULT, {}, ["no operator actions"]),
    ("04.tipping_point", lambda: 1.5, {}, ["tips the system over"]),
    ("04.tipping_point", lambda: 3000.0, {}, ["smaller one does too"]),
    ("04.tipping_point", lambda: check._smallest_safe_cap() / 1.5, {}, ["larger cap"]),
    ("05.inflight_limit", lambda: _too_low_limit(), {}, ["Too low", "Raise"]),
    ("05.inflight_limit", lambda: 100_000, {}, ["Too high", "timeout"]),
    ("05.inflight_limit", lambda: 1_000_000, {}, ["Lower the limit", "Little's law"]),
    ("05.waves", lambda: math.floor(_n() / 1000), {}, ["rounded down"]),
    ("05.waves", lambda: _n() / 1000, {}, ["Round up"]),
    ("05.waves", lambda: math.ceil(HERD / 1000), {}, ["whole herd"]),
    ("05.waves", lambda: _n(), {}, ["stranded sessions per node"]),
    ("05.waves", lambda: math.ceil(P.users / P.session_nodes / 1000), {}, ["every session"]),
    ("05.design", lambda: il.presets["march-2017-fixed"].params,
     {"defence": "split_brain_fix inflight_limit fast_fail " + FILLER}, ["dict"]),
    ("05.design", lambda: il.presets["march-2017-fixed"].params,
     {"defence": dict.fromkeys(["split_brain_fix", "inflight_limit", "fast_fail"], FILLER)},
     ["does not say what it acts on"]),
    ("05.design", lambda: il.presets["march-2017-fixed"].params,
     {"defence": {"split_brain_fix": "the node rejoins its cluster; costs an upgrade",
                  "inflight_limit": "bounds the queue below the timeout; costs a slower re-link",
                  "fast_fail": "I did not think about fast_fail at all, it just seemed right"}},
     ["do not know why"]),
    ("05.design", lambda: il.presets["march-2017-fixed"].params,
     {"defence": {"fast_fail": "keeps sessions delivering instead of stalling; stale dots"}},
     ["No defence of split_brain_fix", "No defence of inflight_limit"]),
    ("05.design", lambda: P.replace(node_memory_gb=512.0), {"defence": {}}, ["hardware"]),
    ("01.recurrences", lambda: 40, {}, ["soft lockups"]),
    ("01.recurrences", lambda: EVENTS.filter(pl.col("source") == "status_update").height, {},
     ["status-page updates"]),
    ("03.time_to_oom_by_model", lambda: 720.0, {}, ["report's 12 minutes"]),
    ("03.time_to_oom_by_model", lambda: il.simulate(il.presets["march-2017"]).outcome.first_oom_s
     + 480, {}, ["replay's start"]),
    ("06.second_wave_clock", lambda: il.simulate(REPLAY).timeline.filter(
        pl.col("session_nodes_up").diff() < 0)["time"][0], {}, ["first crash of the day"]),
    ("06.second_wave_clock", lambda: "14:52", {}, ["trigger itself"]),
    ("06.second_wave_clock", lambda: "14:54", {}, ["report's 14:54"]),
    ("06.second_wave_clock", lambda: "15:04", {}, ["twelve minutes after 14:52", "14:58"]),
    ("06.second_wave_clock", lambda: _second_wave().replace(tzinfo=None)
     + dt.timedelta(hours=7), {}, ["whole hours"]),
    ("06.reboot_minutes", lambda: 16, {}, ["report's figure"]),
    ("06.reboot_minutes", lambda: 60 * check._reboot_minutes(il.simulate(REPLAY), REPLAY)[0],
     {}, ["seconds"]),
    ("06.reboot_minutes", lambda: 11, {}, ["13:56"]),
    ("06.fixed_day", lambda: REPLAY.replace(users=1000, **_fixes()), {}, ["also changed users"]),
    ("06.fixed_day", lambda: il.presets["march-2017-fixed"], {}, ["actions"]),
    ("06.fixed_day", lambda: REPLAY.replace(fast_fail=True), {}, ["inflight_limit"]),
]


def _queue(after_end: float, split: bool = True) -> float:
    scenario = FAULT.replace(split_brain_fix=True) if split else FAULT
    p = FAULT.params
    run = il.simulate(scenario)
    t = p.lockup_start_s + p.lockup_duration_s + after_end
    if after_end == -p.lockup_duration_s:
        t = p.lockup_start_s + 300
    return float(run.timeline.filter(pl.col("t_s") <= t)["presence_queue"][-1])


def _too_low_limit() -> int:
    """The largest probed in-flight limit that crashes below the safe ones (the model's call)."""
    safe = [x for x in check.lesson5.LIMIT_PROBES if check.lesson5._limit_safe(x)]
    low = [x for x in check.lesson5.LIMIT_PROBES if safe and x < min(safe)]
    if not low:
        pytest.skip("every probed limit down to 1 is safe in this model: no 'too low' case")
    return max(low)


def _n() -> int:
    return math.ceil(P.users / P.session_nodes / P.presence_nodes)


def _fixes() -> dict:
    from incidentlab.model.presets import FIXES

    return FIXES


@pytest.mark.parametrize(("exercise_id", "answer", "context", "words"), WRONG,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(WRONG)])
def test_wrong_answers_are_refused_with_the_slip_named(exercise_id, answer, context, words):
    feedback = check.EXERCISES[exercise_id](answer(), **context)
    assert feedback.passed is False, str(feedback)
    for word in words:
        assert word.lower() in _text(feedback).lower(), (word, str(feedback))


def test_every_exercise_has_at_least_three_wrong_answers_in_the_table():
    counts = {ex: sum(row[0] == ex for row in WRONG) for ex in check.EXERCISES
              if not ex.startswith("07.")}
    assert min(counts.values()) >= 3, counts


def test_no_answer_yet_points_to_the_variable_and_the_solution():
    fb = check.lesson1.time_to_detect(None)
    assert fb.passed is None and not fb
    assert "time_to_detect_min" in _hints(fb)
    assert "%load solutions/01_time_to_detect.py" in _hints(fb)


def test_feedback_renders_as_text_and_markdown_without_emoji():
    fb = check.lesson1.recurrences(2)
    assert str(fb).startswith("01.recurrences: right.")
    markdown = fb._repr_markdown_()
    assert markdown.startswith("**01.recurrences: right.**")
    assert all(ord(ch) < 0x2700 or ch in "✔" for ch in markdown), markdown


def test_right_answers_pass_in_every_accepted_form():
    assert check.lesson1.time_to_detect(dt.timedelta(minutes=M.minutes_to_detect))
    assert check.lesson1.recurrences(float(M.recurrences))
    assert check.lesson2.herd_size(HERD)
    assert check.lesson5.waves(math.ceil(_n() / 1000))
    assert check.lesson6.second_wave_clock(f"{_second_wave():%H:%M}")


@pytest.mark.parametrize("question_id", sorted(check.QUESTIONS))
def test_predictions_name_the_misconception_of_each_wrong_option(question_id):
    q = check.QUESTIONS[question_id]
    ask = q(None)
    assert ask.passed is None and all(text in _hints(ask) for text in q.options.values())
    right = q.right()
    assert right in q.options
    assert q(right).passed is True and q(f"({right.upper()})").passed is True
    for letter in q.options:
        if letter != right:
            fb = q(letter)
            assert fb.passed is False and q.diagnoses[letter] in _hints(fb)
    with pytest.raises(CheckError, match=question_id):
        q("z")


def test_the_guide_holds_the_current_expected_answers():
    guide = Path(__file__).resolve().parent.parent / "docs" / "instructor-guide.md"
    text = guide.read_text(encoding="utf-8")
    start, end = text.index(answers.START), text.index(answers.END) + len(answers.END)
    assert text[start:end] == check.answers_table(), (
        "docs/instructor-guide.md is stale: paste check.answers_table() between its markers")


REPORT = """\
Timeline
09:12 - A configuration change lowers the cache TTL and causes checkout errors.
09:17 - The error-rate alert fires and pages the on-call engineer.
09:30 - The on-call engineer identifies the TTL change as the cause.
09:34 - The configuration change is rolled back.
09:55 - Checkout error rate is back to normal.
"""


@pytest.mark.parametrize("exercise_id", sorted(check.EXERCISES))
def test_every_checker_waits_for_an_answer_and_refuses_the_wrong_type(exercise_id):
    exercise = check.EXERCISES[exercise_id]
    context = {name: REPORT if name == "report" else "" for name in exercise.context}
    fb = exercise(None, **context)
    assert fb.passed is None and exercise.answer in _hints(fb)
    with pytest.raises(CheckError, match=exercise_id):
        exercise(object(), **context)
