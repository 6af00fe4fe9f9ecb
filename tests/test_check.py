"""Each checker gives useful feedback: what is right on a right answer, a specific hint on a
wrong one, a gentle prompt when there is no answer yet, and CheckError for a wrong type."""

import datetime as dt
import math

import polars as pl
import pytest

import incidentlab as il
from incidentlab import CheckError, check


@pytest.fixture(scope="module")
def events():
    return il.load_report("discord-2017-03-20")


def _hints(feedback) -> str:
    return " ".join(feedback.next)


def test_no_answer_yet_points_to_the_variable_and_the_solution():
    fb = check.lesson1.time_to_detect(None)
    assert fb.passed is None and not fb
    assert "time_to_detect_min" in _hints(fb)
    assert "%load solutions/01_time_to_detect.py" in _hints(fb)


def test_feedback_renders_as_text_and_markdown():
    fb = check.lesson1.recurrences(2)
    assert str(fb).startswith("01.recurrences: right.")
    assert fb._repr_markdown_().startswith("✅")


def test_mitigations(events):
    right = events.filter(pl.col("kind") == "mitigation").sort("time")
    fb = check.lesson1.mitigations(right)
    assert fb and any("in time order" in r for r in fb.right)
    fb = check.lesson1.mitigations(right.sort("time", descending=True))
    assert not fb and "sort" in _hints(fb)
    fb = check.lesson1.mitigations(events.filter(pl.col("kind") != "followup"))
    assert not fb and "communication" in _hints(fb)
    fb = check.lesson1.mitigations(right.head(2))
    missing = f"{right.height - 2} of the {right.height} mitigations are missing"
    assert not fb and missing in _hints(fb)
    fb = check.lesson1.mitigations(right.head(0))
    assert not fb and "empty" in _hints(fb)
    fb = check.lesson1.mitigations(right.select("time"))
    assert not fb and "filter" in _hints(fb)
    with pytest.raises(CheckError, match=r"polars DataFrame.*collect"):
        check.lesson1.mitigations(right.lazy())
    with pytest.raises(CheckError, match="polars DataFrame"):
        check.lesson1.mitigations([1, 2])


def test_time_to_detect_accepts_minutes_or_timedelta_and_spots_mixups():
    assert check.lesson1.time_to_detect(1)
    assert check.lesson1.time_to_detect(dt.timedelta(seconds=60))
    fb = check.lesson1.time_to_detect(13)
    assert not fb and "status update" in _hints(fb)
    fb = check.lesson1.time_to_detect(60)
    assert not fb and "units" in _hints(fb)
    fb = check.lesson1.time_to_detect(-1)
    assert not fb and "sign" in _hints(fb)
    with pytest.raises(CheckError, match=r"number of minutes.*got str"):
        check.lesson1.time_to_detect("1")
    with pytest.raises(CheckError, match="got bool"):
        check.lesson1.time_to_detect(True)


def test_time_to_first_update(events):
    first = events.filter(pl.col("source") == "status_update")["time"].min()
    trigger = events.filter(pl.col("kind") == "trigger")["time"].min()
    assert check.lesson1.time_to_first_update(first - trigger)
    fb = check.lesson1.time_to_first_update(1)
    assert not fb and "time to detect" in _hints(fb)
    fb = check.lesson1.time_to_first_update((first - trigger).total_seconds())
    assert not fb and "60 times" in _hints(fb)


def test_recurrences(events):
    triggers = events.filter(pl.col("kind") == "trigger").height
    assert check.lesson1.recurrences(triggers - 1)
    fb = check.lesson1.recurrences(triggers)
    assert not fb and "first trigger too" in _hints(fb)
    assert not check.lesson1.recurrences(0)
    with pytest.raises(CheckError, match=r"\.height"):
        check.lesson1.recurrences(events)
    with pytest.raises(CheckError, match="int"):
        check.lesson1.recurrences(2.0)


def test_herd_size():
    p = il.Params()
    assert check.lesson2.herd_size(p.users / p.presence_nodes)
    fb = check.lesson2.herd_size(p.users)
    assert not fb and "every user" in _hints(fb)
    with pytest.raises(CheckError, match="number of sessions"):
        check.lesson2.herd_size("a third")


def test_first_wave_rate():
    p = il.Params()
    herd = p.users / p.presence_nodes
    fb = check.lesson2.first_wave_rate(herd / check.FIRST_WAVE_BASE_S)
    assert fb and any("capacity" in r or "serve" in r for r in fb.right)
    fb = check.lesson2.first_wave_rate(herd)
    assert not fb and "no jitter" in _hints(fb)
    fb = check.lesson2.first_wave_rate(herd / (check.FIRST_WAVE_BASE_S / 2))
    assert not fb and "equal jitter" in _hints(fb)


def test_calm_herd():
    fb = check.lesson2.calm_herd(il.Params(reconnect_jitter="full", reconnect_base_s=10.0,
                                           reconnect_cap_s=120.0))
    assert fb and "no session node runs out of memory" in " ".join(fb.right)
    fb = check.lesson2.calm_herd(il.Params(reconnect_jitter="full"))
    assert not fb and "still runs out of memory" in _hints(fb)
    fb = check.lesson2.calm_herd(il.Params())
    assert not fb and "unchanged" in _hints(fb)
    fb = check.lesson2.calm_herd(il.Params(fast_fail=True))
    assert not fb and "fast_fail" in _hints(fb)
    with pytest.raises(CheckError, match=r"il\.Params"):
        check.lesson2.calm_herd({"reconnect_jitter": "full"})


def test_time_to_oom_by_hand():
    p = il.Params()
    sessions = p.users / p.session_nodes
    free = p.node_memory_gb * 1e6 - sessions * p.session_base_kb
    fill = sessions / p.presence_nodes * p.event_rate * p.event_kb
    assert check.lesson3.time_to_oom_by_hand(free / fill)
    fb = check.lesson3.time_to_oom_by_hand(p.node_memory_gb * 1e6 / fill)
    assert not fb and "idle sessions" in _hints(fb)
    fb = check.lesson3.time_to_oom_by_hand(free / fill / 60)
    assert not fb and "minutes" in _hints(fb)


def test_time_to_oom_by_model():
    first = il.simulate(il.presets["march-2017"]).outcome.first_oom_s
    assert check.lesson3.time_to_oom_by_model(first)
    fb = check.lesson3.time_to_oom_by_model(first / 60)
    assert not fb and "minutes" in _hints(fb)


def test_buffer_limit():
    boundary = check._buffer_boundary()
    fb = check.lesson3.buffer_limit(boundary)
    assert fb and "dropped on purpose" in " ".join(fb.right)
    fb = check.lesson3.buffer_limit(boundary * 2)
    assert not fb and "too high" in _hints(fb)
    fb = check.lesson3.buffer_limit(max(1, boundary // 4))
    assert not fb and "larger limit" in _hints(fb)
    with pytest.raises(CheckError, match="int >= 1"):
        check.lesson3.buffer_limit(0)


REPORT = """\
Timeline
09:12 - A configuration change lowers the cache TTL and causes checkout errors.
09:17 - The error-rate alert fires and pages the on-call engineer.
09:30 - The on-call engineer identifies the TTL change as the cause.
09:34 - The configuration change is rolled back.
09:55 - Checkout error rate is back to normal.
"""


def test_queue_after_trigger():
    scenario = il.presets["march-2017"].replace(split_brain_fix=True)
    p = scenario.params
    end = p.lockup_start_s + p.lockup_duration_s
    timeline = il.simulate(scenario).timeline
    at = timeline.filter(pl.col("t_s") == end + 300)["presence_queue"][0]
    assert check.lesson4.queue_after_trigger(at)
    fb = check.lesson4.queue_after_trigger(timeline.filter(pl.col("t_s") == end)
                                           ["presence_queue"][0])
    assert not fb and "when the lockup ended" in _hints(fb)


def test_shed_load():
    base = il.presets["march-2017"]
    plan = il.Scenario(params=base.params, start=base.start, actions=(
        il.Action(600, "set_connect_rate_limit", 6000), il.Action(600, "disable_sending"),
        il.Action(900, "full_reboot"), il.Action(1800, "enable_sending")))
    assert check.lesson4.shed_load(plan)
    no_limit = il.Scenario(params=base.params, start=base.start, actions=(
        il.Action(600, "disable_sending"), il.Action(900, "full_reboot")))
    fb = check.lesson4.shed_load(no_limit)
    assert not fb and "admission limit" in _hints(fb)
    fb = check.lesson4.shed_load(base)
    assert not fb and "no operator actions" in _hints(fb)
    fb = check.lesson4.shed_load(base.replace(fast_fail=True))
    assert not fb and "fast_fail" in _hints(fb)
    with pytest.raises(CheckError, match="Scenario"):
        check.lesson4.shed_load(base.params)


def test_tipping_point():
    edge = check._smallest_safe_cap()
    assert check.lesson4.tipping_point(edge * 1.05)
    fb = check.lesson4.tipping_point(edge / 2)
    assert not fb and "larger cap" in _hints(fb)
    fb = check.lesson4.tipping_point(edge * 4)
    assert not fb and "edge" in _hints(fb)
    with pytest.raises(CheckError, match="at least the base"):
        check.lesson4.tipping_point(0.1)


def test_inflight_limit():
    base = il.presets["march-2017"]
    safe = next(limit for limit in [3000, 1000, 300, 100, 30, 10]
                if il.simulate(base.replace(inflight_limit=limit)).outcome.first_oom_s is None)
    fb = check.lesson5.inflight_limit(safe)
    assert fb and "never join the queue" in " ".join(fb.right)
    fb = check.lesson5.inflight_limit(100_000)
    assert not fb and "still run out of memory" in _hints(fb)
    with pytest.raises(CheckError, match="int >= 1"):
        check.lesson5.inflight_limit(0)


def test_waves():
    p = il.Params()
    n = p.users / p.session_nodes / p.presence_nodes
    assert check.lesson5.waves(math.ceil(n / 1000))
    fb = check.lesson5.waves(n / 1000)
    assert not fb and "Round up" in _hints(fb)
    with pytest.raises(CheckError, match="number of waves"):
        check.lesson5.waves("34")


def test_design():
    good = il.Params(inflight_limit=1000, fast_fail=True, split_brain_fix=True)
    words = "inflight_limit bounds the herd, fast_fail ends the stall, split_brain_fix brings "
    fb = check.lesson5.design(good, defence=words + "the node back.")
    assert fb and "names every knob" in " ".join(fb.right)
    fb = check.lesson5.design(good, defence="fast_fail and inflight_limit help a lot, trust me, "
                                            "they are the fixes from the report.")
    assert not fb and "split_brain_fix" in _hints(fb)
    fb = check.lesson5.design(il.Params(fast_fail=True), defence="fast_fail " * 12)
    assert not fb and "does not recover" in _hints(fb)
    fb = check.lesson5.design(il.Params(node_memory_gb=1000.0), defence="more memory " * 6)
    assert not fb and "hardware" in _hints(fb)


def test_first_oom_clock():
    day = il.presets["march-2017-replay"]
    first = il.simulate(day).outcome.first_oom_s
    at = day.start + dt.timedelta(seconds=day.fault_s + first)
    assert check.lesson6.first_oom_clock(at)
    assert check.lesson6.first_oom_clock(f"{at:%H:%M}")
    fb = check.lesson6.first_oom_clock(day.start + dt.timedelta(seconds=first))
    assert not fb and "counts from the fault" in _hints(fb)
    with pytest.raises(CheckError, match="clock time"):
        check.lesson6.first_oom_clock("ten to twelve")
    with pytest.raises(CheckError, match="wall-clock time"):
        check.lesson6.first_oom_clock(719.0)


def test_reboot_minutes():
    day = il.presets["march-2017-replay"]
    run = il.simulate(day)
    reboot = min(a.t_s for a in day.actions if a.kind == "full_reboot")
    back = run.timeline.filter((pl.col("t_s") > reboot)
                               & (pl.col("users_connected") >= 0.95 * day.params.users))
    minutes = (back["t_s"][0] - reboot) / 60
    fb = check.lesson6.reboot_minutes(minutes)
    assert fb and "16 minutes" in " ".join(fb.right)
    fb = check.lesson6.reboot_minutes(minutes * 60)
    assert not fb and "units" in _hints(fb)


def test_fixed_day():
    day = il.presets["march-2017-replay"]
    fixes = il.presets["march-2017-fixed"].params.changed()
    fb = check.lesson6.fixed_day(day.replace(**fixes))
    assert fb and "no crash" in " ".join(fb.right)
    fb = check.lesson6.fixed_day(il.presets["march-2017-fixed"])
    assert not fb and "actions" in _hints(fb)
    fb = check.lesson6.fixed_day(day.replace(fast_fail=True))
    assert not fb and "inflight_limit" in _hints(fb)


@pytest.mark.parametrize("exercise_id", sorted(check.EXERCISES))
def test_every_checker_waits_for_an_answer_and_refuses_the_wrong_type(exercise_id):
    exercise = check.EXERCISES[exercise_id]
    context = {name: REPORT if name == "report" else "" for name in exercise.context}
    fb = exercise(None, **context)
    assert fb.passed is None and exercise.answer in _hints(fb)
    with pytest.raises(CheckError, match=exercise_id):
        exercise(object(), **context)
