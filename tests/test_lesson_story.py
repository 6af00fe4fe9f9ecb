"""The claims the lessons make in prose still hold for the model.

The lessons compute their numbers in cells (no stored model output); these tests pin the
sentences around them ("it does not recover", "equal jitter sends nothing before half the
base", "the last of the herd waits past the timeout"), so a recalibration that changes the
story fails here, with the lesson to reread named in the test.
"""

import polars as pl
import pytest

import incidentlab as il
from incidentlab import check


@pytest.fixture(scope="module")
def base():
    return il.presets["march-2017"]


@pytest.fixture(scope="module")
def outcome(base):
    return il.simulate(base).outcome


def test_lesson2_3_the_2017_run_crashes_about_twelve_minutes_in_and_stays_down(outcome):
    assert outcome.first_oom_s is not None and 600 <= outcome.first_oom_s <= 840
    assert not outcome.recovered


def test_lesson2_first_wave_shapes(base):
    herd = base.params.users / base.params.presence_nodes
    shapes = {}
    for jitter in ["none", "full", "equal"]:
        scenario = base.replace(reconnect_jitter=jitter, reconnect_base_s=10.0,
                                reconnect_cap_s=120.0)
        timeline = il.simulate(scenario).timeline.filter(pl.col("t_s") < 60)
        shapes[jitter] = timeline["reconnect_attempts"].to_list()
    assert max(shapes["none"][8:13]) > 0.9 * herd  # one spike, about the whole herd
    assert 0.7 * herd / 10 < sorted(shapes["full"][1:10])[4] < 1.5 * herd / 10  # a flat block
    assert max(shapes["equal"][:5]) == 0  # nothing before half the base


def test_lesson3_busiest_node_first_and_relinks_slow_the_filling(base, outcome):
    even = il.simulate(base.replace(session_load_spread=0.0)).outcome.first_oom_s
    assert outcome.first_oom_s < even
    assert even > check._oom_by_hand()["right"]


def test_lesson4_removing_the_trigger_does_not_end_the_failure(base):
    run = il.simulate(base.replace(split_brain_fix=True))
    assert run.outcome.first_oom_s is not None and not run.outcome.recovered
    after = run.timeline.filter(pl.col("t_s") > 60)
    capacity = after["presence_capacity_ops"].mean()
    assert after["presence_goodput_ops"].mean() < 0.7 * capacity
    assert after["presence_offered_ops"].mean() > 2 * capacity


def test_lesson5_which_fix_recovers_alone(base):
    """The split-brain fix alone does not end the failure (it sustains itself); fast-fail alone
    ends the crashes but not the overload; the in-flight limit alone breaks the loop."""
    fixes = {"split_brain_fix": True, "inflight_limit": 1000, "fast_fail": True}
    alone = {k: il.simulate(base.replace(**{k: v})).outcome for k, v in fixes.items()}
    together = il.simulate(base.replace(**fixes)).outcome
    assert alone["split_brain_fix"].oom_crashes > 0 and not alone["split_brain_fix"].recovered
    assert alone["fast_fail"].oom_crashes == 0 and not alone["fast_fail"].recovered
    assert alone["inflight_limit"].recovered and alone["inflight_limit"].oom_crashes == 0
    assert together.recovered and together.time_to_recover_s < 600


def test_lesson6_landmarks_of_the_day():
    day = il.presets["march-2017-replay"]
    run = il.simulate(day)
    clock = pl.col("time").dt.strftime("%H:%M")
    down = run.timeline.filter(pl.col("session_nodes_up").diff() < 0).select(clock)["time"]
    assert "11:45" <= down.min() <= "11:55"
    assert (down >= "16:04").any() and not ((down >= "13:45") & (down < "16:04")).any()
    at_two = run.timeline.filter(clock == "14:00")["users_connected"][0]
    assert at_two >= 0.9 * day.params.users
    assert check._reboot_minutes(run, day)[0] < 16


def test_lesson2_the_herd_cannot_drain_within_the_timeout():
    p = il.Params()
    spare = check._model._spare_ops(p)
    herd = p.users / p.presence_nodes
    assert spare <= 0 or herd / spare > p.rpc_timeout_s  # "wait far longer than the timeout"


def test_lesson2_no_jitter_peaks_far_above_the_others(base):
    peaks = {}
    for jitter in ["none", "full", "equal", "decorrelated"]:
        scenario = base.replace(reconnect_jitter=jitter, reconnect_base_s=10.0,
                                reconnect_cap_s=120.0)
        timeline = il.simulate(scenario).timeline.filter(pl.col("t_s") < 60)
        peaks[jitter] = timeline["reconnect_attempts"].max()
    assert all(peaks["none"] > 3 * peaks[j] for j in ["full", "equal", "decorrelated"])


def test_lesson3_a_buffer_limit_turns_crashes_into_drops(base):
    o = il.simulate(base.replace(buffer_policy="drop-oldest", buffer_limit=1000)).outcome
    assert o.oom_crashes == 0 and o.events_dropped > 0
    # the guide: drop-oldest drops more events over the hour than the crashes lost
    assert o.events_dropped > il.simulate(base).outcome.events_lost


def test_lesson4_the_wait_outgrows_the_timeout_after_the_trigger(base):
    scenario = base.replace(split_brain_fix=True)
    p = scenario.params
    end = p.lockup_start_s + p.lockup_duration_s
    after = il.simulate(scenario).timeline.filter((pl.col("t_s") > end)
                                                  & (pl.col("t_s") <= end + 300))
    wait = float(after["presence_queue"][-1]) / after["presence_capacity_ops"].mean()
    assert wait > p.rpc_timeout_s


def test_lesson5_the_inflight_window_has_two_ends(base):
    crashes = {limit: il.simulate(base.replace(inflight_limit=limit)).outcome.oom_crashes
               for limit in [1, 10, 100, 1_000, 10_000]}
    assert crashes[10_000] > 0  # too many in flight wait past the timeout
    assert any(c == 0 for c in crashes.values())  # a safe window exists
    # "too few in flight is too slow": the lesson's prediction question reads the same run
    assert check.lesson5.predict_limit_one.right() in ("c", "d")


def test_lesson6_the_tuned_agreements_are_the_ones_the_lesson_names():
    from incidentlab.model.params import ASSUMPTIONS

    reasons = {row["knob"]: row["reasoning"] for row in ASSUMPTIONS}
    assert any("OOM" in text for knob, text in reasons.items() if "node_memory_gb" in knob)
    assert "16 minutes" in reasons["connect_rate_limit"]


def test_lesson6_the_fixed_day_has_no_crash():
    from incidentlab.model.presets import FIXES

    day = il.presets["march-2017-replay"]
    assert il.simulate(day.replace(**FIXES)).outcome.oom_crashes == 0  # "no crash at all"


def test_lesson2_3_charts_show_every_series_on_its_own_scale(base):
    shapes = pl.DataFrame({"t_s": [0.0, 1.0] * 4, "reconnect_attempts": [1e6, 0, 1e3, 1e3,
                                                                         5e2, 5e2, 2e2, 2e2],
                           "jitter": [j for j in ["none", "full", "equal", "decorrelated"]
                                      for _ in range(2)]})
    spec = il.charts.first_wave_chart(shapes).to_dict()
    assert spec["resolve"]["scale"]["y"] == "independent" and "row" in spec["facet"]
    table = pl.DataFrame({"buffer_limit": ["unbounded (2017)", "1,000"] * 2,
                          "what": ["OOM crashes"] * 2 + ["events dropped on purpose"] * 2,
                          "value": [78.0, 0.0, 0.0, 9e9]})
    spec = il.charts.buffer_tradeoff_chart(table).to_dict()
    assert spec["resolve"]["scale"]["x"] == "independent" and "column" in spec["facet"]


def test_lesson5_limits_far_above_littles_window_crash(base):
    p = base.params
    spare = check._model._spare_ops(p)
    if spare <= 0:
        pytest.skip("no headroom after the herd (rho >= 1): lesson 5's window is degenerate")
    upper = spare * p.rpc_timeout_s / p.session_nodes  # the lesson's upper end, per node
    for limit in [1, 10, 100, 1_000, 10_000, 100_000]:
        if limit > 2 * upper:
            outcome = il.simulate(base.replace(inflight_limit=limit)).outcome
            assert outcome.oom_crashes > 0, (limit, upper)
