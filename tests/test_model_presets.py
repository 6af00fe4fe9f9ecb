"""The presets tell the report's story in the report's numbers (issue 3, 'What it must show')."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

import incidentlab as il
from incidentlab import Params, presets, simulate, sweep

MIN = 60.0


@pytest.fixture(scope="module")
def run2017():
    return simulate(presets["march-2017"])


@pytest.fixture(scope="module")
def fixed():
    return simulate(presets["march-2017-fixed"])


@pytest.fixture(scope="module")
def replay():
    return simulate(presets["march-2017-replay"])


def crash_times(run) -> list[dt.datetime]:
    tl = run.timeline
    return tl.filter(pl.col("session_nodes_up").diff() < 0)["time"].to_list()


def test_presets_mapping():
    assert list(presets) == ["march-2017", "march-2017-fixed", "march-2017-replay"]
    assert "march-2017" in presets and "nope" not in presets
    with pytest.raises(il.ScenarioError, match="unknown preset 'nope'; accepted: march-2017"):
        presets["nope"]
    start = presets["march-2017"].start
    assert start.utcoffset() == dt.timedelta(hours=-7) and (start.hour, start.minute) == (11, 38)


def test_march_2017_about_a_third_stall(run2017):
    # "this caused 1/3rd of all connected sessions on Discord to effectively stall"
    assert 0.28 <= run2017.outcome.peak_stalled_fraction <= 0.40


def test_march_2017_first_oom_about_twelve_minutes_after_the_fault(run2017):
    # 11:38 trigger; "By 11:50 ... members of the sessions cluster began to OOM"
    assert 10 * MIN <= run2017.outcome.first_oom_s <= 14 * MIN


def test_march_2017_the_crash_spreads_and_it_does_not_recover(run2017):
    o = run2017.outcome
    times = crash_times(run2017)
    assert o.oom_crashes >= 10 and len(set(times)) >= 5  # many nodes, over many steps
    assert times[-1] - times[0] >= dt.timedelta(seconds=30)
    assert o.events_lost > 0
    assert not o.recovered and o.time_to_recover_s is None
    last = run2017.timeline.tail(1)
    assert last["users_connected"][0] < 0.5 * Params().users


def test_march_2017_fixed_no_oom_no_loss_recovers_within_five_minutes(fixed):
    o = fixed.outcome
    p = presets["march-2017-fixed"].params
    assert o.first_oom_s is None and o.oom_crashes == 0
    assert o.events_lost == 0 and o.events_dropped == 0
    assert o.events_delivered == pytest.approx(o.events_produced, rel=1e-12)
    assert o.recovered
    assert o.time_to_recover_s <= p.lockup_start_s + p.lockup_duration_s + 5 * MIN


def test_each_fix_alone_changes_the_story():
    base = presets["march-2017"]
    fast = simulate(base.replace(fast_fail=True)).outcome  # no stall, so no buffers, no OOM
    assert fast.first_oom_s is None and fast.peak_stalled_fraction == 0
    limited = simulate(base.replace(inflight_limit=1000)).outcome
    assert limited.peak_presence_load_ratio < 1.5 < simulate(base).outcome.peak_presence_load_ratio


def test_bounded_buffer_trades_crashes_for_loss_and_the_boundary_matches_memory():
    """drop-oldest: below buffer_limit* = free memory of the heaviest node / (its stalled
    sessions x event_kb) no node runs out of memory but events are dropped; above it, OOM."""
    base = presets["march-2017"]
    p = base.params
    heaviest = p.users * (1 + p.session_load_spread) / p.session_nodes
    free_kb = p.node_memory_gb * 1e6 - heaviest * p.session_base_kb
    stalled_share = simulate(base.replace(horizon_s=120)).timeline["users_stalled"][-1] / p.users
    boundary = free_kb / (heaviest * stalled_share * p.event_kb)
    assert 1300 < boundary < 1600  # ~1,438 events: 12 minutes of events at 2/s
    grid = sweep(base, buffer_policy=["drop-oldest"],
                 buffer_limit=[100, int(boundary) - 5, int(boundary) + 5, 5000])
    below, above = grid.filter(pl.col("buffer_limit") < boundary), grid.filter(
        pl.col("buffer_limit") > boundary)
    assert below["oom_crashes"].to_list() == [0, 0]
    assert (below["events_lost"] == 0).all() and (below["events_dropped"] > 1e9).all()
    assert (above["oom_crashes"] > 0).all() and (above["events_lost"] > 0).all()


def test_disconnect_policy_also_avoids_oom_at_a_small_limit():
    o = simulate(presets["march-2017"].replace(buffer_policy="disconnect",
                                               buffer_limit=500)).outcome
    assert o.oom_crashes == 0 and o.events_lost == 0 and o.events_dropped > 0


def test_replay_two_waves_of_oom(replay):
    tz = replay.scenario.start.tzinfo
    at = lambda h, m: dt.datetime(2017, 3, 20, h, m, tzinfo=tz)  # noqa: E731
    times = crash_times(replay)
    assert at(11, 46) <= times[0] <= at(11, 54)  # "By 11:50 ... began to OOM"
    first = [t for t in times if t < at(13, 45)]
    second = [t for t in times if t > at(16, 4)]
    assert first and second
    # from 14:52 the sessions ignore presence (at the model's assumed 14:58) and do not crash:
    # "For the most part, Discord functions for users at this point"
    assert not [t for t in times if at(13, 45) <= t <= at(16, 4)]
    assert second[0] < at(16, 24)  # the 16:04 presence restart repeats the first incident


def test_replay_recovers_after_each_full_reboot_within_sixteen_minutes(replay):
    tl = replay.timeline
    users = replay.scenario.params.users
    reboots = [a for a in replay.scenario.actions if a.kind == "full_reboot"]
    assert [f"{replay.scenario.start + dt.timedelta(seconds=a.t_s):%H:%M}" for a in reboots] == [
        "13:45", "16:24"]
    for a in reboots:
        window = tl.filter(pl.col("t_s").is_between(a.t_s, a.t_s + 16 * MIN))
        # "our services took under 16 minutes to reconnect millions of concurrent Discord users"
        assert window["users_connected"].max() >= 0.95 * users
        after = tl.filter(pl.col("t_s").is_between(a.t_s + 16 * MIN, a.t_s + 20 * MIN))
        assert after["users_stalled"].max() < 0.001 * users
        assert (after["presence_queue"] < 0.001 * users).all()
    assert replay.outcome.recovered


def test_replay_admission_limit_comes_from_the_patches(replay):
    limits = [a for a in replay.scenario.actions if a.kind == "set_connect_rate_limit"]
    assert len(limits) == 1 and limits[0].value == 6000
    assert f"{replay.scenario.start + dt.timedelta(seconds=limits[0].t_s):%H:%M}" == "13:35"


def test_runs_are_bit_identical(run2017):
    again = simulate(presets["march-2017"])
    assert again.outcome == run2017.outcome
    assert again.timeline.equals(run2017.timeline)
    a = run2017.timeline.drop("time").to_numpy()
    b = again.timeline.drop("time").to_numpy()
    assert np.array_equal(a.view(np.uint64), b.view(np.uint64))


def test_counts_scale_with_users_when_capacities_scale_too(run2017):
    """A fluid model: 100x fewer users on 100x smaller memory and presence tells the same story."""
    p = presets["march-2017"].params
    small = simulate(presets["march-2017"].replace(
        users=p.users // 100, node_memory_gb=p.node_memory_gb / 100,
        presence_capacity=p.presence_capacity / 100)).outcome
    big = run2017.outcome
    assert small.first_oom_s == big.first_oom_s
    assert small.oom_crashes == big.oom_crashes
    assert small.peak_stalled_fraction == pytest.approx(big.peak_stalled_fraction, rel=1e-9)
    assert small.events_lost == pytest.approx(big.events_lost / 100, rel=1e-6)
