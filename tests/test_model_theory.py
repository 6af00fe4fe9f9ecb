"""The model against theory: conservation, Little's law, backoff formulas, the in-flight limit,
time to OOM, metastability (hysteresis), determinism."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlab import Action, Params, Scenario, simulate
from incidentlab.model.rules import backoff_pmf

JITTERS = ["none", "full", "equal", "decorrelated"]


def herd(**knobs) -> Params:
    """One session node, 3 presence nodes: a lockup at t=0 cuts 1/3 of users' links."""
    base = dict(users=3000, session_nodes=1, session_load_spread=0.0, presence_nodes=3,
                presence_capacity=1e9, presence_ops_per_session=0.0, node_memory_gb=10_000,
                horizon_s=200, split_brain_fix=True)
    return Params(**{**base, **knobs})


def attempts_per_step(run) -> np.ndarray:
    tl = run.timeline
    return (tl["reconnect_attempts"] * run.scenario.params.dt_s).to_numpy()


@pytest.mark.parametrize("jitter", JITTERS)
def test_first_wave_of_retries_follows_the_jitter_formula(jitter):
    base = 20.0
    run = simulate(herd(reconnect_jitter=jitter, reconnect_base_s=base, reconnect_cap_s=100))
    wave = attempts_per_step(run)
    n = 1000.0
    assert wave.sum() == pytest.approx(n)  # every session succeeds at its first retry
    t = np.arange(len(wave))
    mean = (t * wave).sum() / n
    expected_mean = {"none": base, "full": base / 2, "equal": 3 * base / 4,
                     "decorrelated": 2 * base}[jitter]
    assert mean == pytest.approx(expected_mean, abs=0.5)  # within half a step
    if jitter == "none":  # one spike
        assert wave[20] == pytest.approx(n) and np.count_nonzero(wave) == 1
    elif jitter == "full":  # uniform on [0, base]
        assert np.allclose(wave[2:20], n / base) and wave[21:].sum() == 0
    elif jitter == "equal":  # nothing before half, uniform on [base/2, base]
        assert wave[:10].sum() == 0 and np.allclose(wave[11:20], n / (base / 2))
    else:  # U(base, 3 base)
        assert wave[:20].sum() == 0 and np.allclose(wave[21:60], n / (2 * base), rtol=0.02)


@pytest.mark.parametrize("jitter", JITTERS)
def test_mean_waits_per_attempt_match_closed_forms(jitter):
    base, cap, dt, levels = 1.0, 64.0, 0.05, 8
    pmf = backoff_pmf(jitter, base, cap, levels, dt, int(cap / dt) + 2)
    steps = np.arange(pmf.shape[1]) * dt
    m_prev, top = base, base
    for k in range(levels):
        c = min(cap, base * 2**k)
        mean = (pmf[k] * steps).sum()
        if jitter == "decorrelated":  # E[U(base, 3 W)] = (base + 3 E[W]) while 3 max W <= cap
            top *= 3
            if top > cap:
                break
            expected = (base + 3 * m_prev) / 2
            m_prev = expected
        else:
            expected = {"none": c, "full": c / 2, "equal": 3 * c / 4}[jitter]
        assert mean == pytest.approx(expected, rel=0.02, abs=dt), (k, mean, expected)


@pytest.mark.parametrize(("n", "limit"), [(1000, 300), (1000, 250), (900, 1000), (1000, 7)])
def test_inflight_limit_admits_exactly_ceil_n_over_l_waves(n, limit):
    run = simulate(herd(users=3 * n, inflight_limit=limit, reconnect_jitter="none",
                        reconnect_base_s=1, reconnect_cap_s=1, horizon_s=300))
    links = run.timeline["presence_goodput_ops"].to_numpy() * run.scenario.params.dt_s
    waves = links[links > 1e-9]
    assert len(waves) == math.ceil(n / limit)
    assert np.allclose(waves[:-1], limit)
    assert waves.sum() == pytest.approx(n)


def test_time_to_first_oom_with_a_constant_stall():
    """Presence answers nothing (capacity below background), so a third of sessions stay
    stalled: OOM at free memory / (stalled x event_rate x event_kb), within one step."""
    p = Params(users=30_000, session_nodes=1, session_load_spread=0.0, presence_nodes=3,
               presence_capacity=1.0, node_memory_gb=1.0, session_base_kb=10.0, event_rate=1.7,
               event_kb=1.3, horizon_s=200)
    run = simulate(p)
    stalled = run.timeline["users_stalled"].to_numpy()
    first = run.outcome.first_oom_s
    assert np.all(stalled[: int(first)] == pytest.approx(p.users / 3))
    free_kb = p.node_memory_gb * 1e6 - p.users * p.session_base_kb
    expected = free_kb / (p.users / 3 * p.event_rate * p.event_kb)
    assert abs(first - expected) <= p.dt_s


def test_littles_law_on_the_presence_queue():
    """A herd through a capacity limit, no timeouts: the queue starts and ends empty, and the
    time-mean queue L equals arrival rate x mean wait, the waits read off the FIFO curves."""
    p = herd(users=30_000, presence_capacity=150.0, reconnect_jitter="full",
             reconnect_base_s=20, reconnect_cap_s=20, rpc_timeout_s=120, horizon_s=150)
    tl = simulate(p).timeline
    arrivals = (tl["reconnect_attempts"] * p.dt_s).to_numpy()
    served = ((tl["presence_goodput_ops"] - 0.0) * p.dt_s).to_numpy()
    queue = tl["presence_queue"].to_numpy()
    assert queue[0] == 0 and queue[-1] == pytest.approx(0, abs=1e-6) and queue.max() > 1000
    T = len(queue) * p.dt_s
    L = queue.mean()
    lam = arrivals.sum() / T
    # mean wait from the FIFO: unit u arrives in the step where cum arrivals pass u and leaves
    # in the step where cum services pass u; a unit served in its arrival step waits 0
    A, D = np.cumsum(arrivals), np.cumsum(served)
    units = np.linspace(0, A[-1], 200_001)[1:-1]
    arrive = np.searchsorted(A, units, side="left")
    leave = np.searchsorted(D, units, side="left")
    W = (leave - arrive).mean() * p.dt_s
    assert pytest.approx(lam * W, rel=0.01) == L


def test_hysteresis_same_load_different_outcome_depending_on_history():
    """The locked node is back after 25 s (split-brain fix): same users, same capacity. With no
    history presence is fine; after the herd it stays saturated (the 2017 retry policy); full
    jitter with a longer cap, or the in-flight limit, drains the same trigger."""
    fault = Params(split_brain_fix=True, node_memory_gb=10_000, horizon_s=3600)

    def late(p):
        run = simulate(p)
        tail = run.timeline.filter(pl.col("t_s") >= 1800)
        return run, tail

    calm, calm_tail = late(fault.replace(lockup_count=0))
    herd_run, herd_tail = late(fault)
    assert (calm_tail["presence_capacity_ops"] == herd_tail["presence_capacity_ops"]).all()
    assert calm_tail["users_stalled"].max() == 0
    assert (calm_tail["presence_offered_ops"] <= calm_tail["presence_capacity_ops"]).all()
    assert herd_tail["users_stalled"].min() > 0.25 * fault.users
    assert herd_tail["presence_queue"][-1] > herd_tail["presence_queue"][0] > 1e6
    assert not herd_run.outcome.recovered and calm.outcome.recovered
    for fix in ({"reconnect_jitter": "full", "reconnect_cap_s": 120}, {"inflight_limit": 1000}):
        run, tail = late(fault.replace(**fix))
        assert run.outcome.recovered and tail["users_stalled"].max() < 1, fix


@st.composite
def scenarios(draw):
    base = draw(st.floats(0, 4))
    cbase = draw(st.floats(0, 10))
    dt = draw(st.sampled_from([0.5, 1.0, 2.0]))
    policy = draw(st.sampled_from(["unbounded", "drop-oldest", "disconnect"]))
    horizon = 400.0
    p = Params(
        users=draw(st.integers(1_000, 20_000_000)),
        session_nodes=draw(st.integers(1, 12)),
        session_load_spread=draw(st.floats(0, 0.9)),
        presence_nodes=draw(st.integers(2, 5)),
        presence_capacity=draw(st.floats(10, 1e6)),
        presence_ops_per_session=draw(st.floats(0, 0.1)),
        node_memory_gb=draw(st.floats(0.1, 64)),
        session_base_kb=draw(st.floats(0, 200)),
        event_rate=draw(st.floats(0, 5)),
        event_kb=draw(st.floats(0.1, 4)),
        rpc_timeout_s=draw(st.floats(dt, 10)),
        session_restart_s=draw(st.floats(0, 100)),
        buffer_policy=policy,
        buffer_limit=None if policy == "unbounded" else draw(st.integers(1, 2000)),
        reconnect_base_s=base, reconnect_cap_s=base + draw(st.floats(0, 30)),
        reconnect_jitter=draw(st.sampled_from(JITTERS)),
        client_reconnect_base_s=cbase, client_reconnect_cap_s=cbase + draw(st.floats(0, 60)),
        client_reconnect_jitter=draw(st.sampled_from(JITTERS)),
        connect_rate_limit=draw(st.none() | st.floats(1, 1e5)),
        inflight_limit=draw(st.none() | st.integers(0, 5000)),
        fast_fail=draw(st.booleans()), split_brain_fix=draw(st.booleans()),
        lockup_start_s=draw(st.floats(0, 100)), lockup_duration_s=draw(st.floats(1, 60)),
        lockup_interval_s=draw(st.floats(30, 200)), lockup_count=draw(st.integers(0, 3)),
        horizon_s=horizon, dt_s=dt)
    kinds = ["full_reboot", "restart_presence", "reboot_presence_node", "disable_sending",
             "enable_sending", "lockup", "set_connect_rate_limit"]
    actions = [Action(draw(st.floats(0, horizon)), kind,
                      draw(st.floats(1, 1e4)) if kind == "set_connect_rate_limit" else None)
               for kind in draw(st.lists(st.sampled_from(kinds), max_size=4))]
    return Scenario(params=p, actions=tuple(actions))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_conservation_at_every_step_for_random_knobs(scenario):
    """Users are connected, reconnecting or offline and sum to `users`; events produced =
    delivered + buffered + dropped + lost. Nothing vanishes (to float rounding, 1e-9)."""
    tl = simulate(scenario).timeline
    users = scenario.params.users
    total = tl["users_connected"] + tl["users_reconnecting"] + tl["users_offline"]
    assert ((total - users).abs() <= 1e-9 * users).all()
    for col in ("users_connected", "users_reconnecting", "users_offline", "users_stalled",
                "events_buffered", "presence_queue"):
        assert (tl[col] >= -1e-9 * users).all(), col
    assert (tl["users_stalled"] <= tl["users_connected"] + 1e-9 * users).all()
    produced = tl["events_produced"]
    rest = tl["events_delivered"] + tl["events_buffered"] + tl["events_dropped"] + tl[
        "events_lost"]
    assert ((produced - rest).abs() <= 1e-9 * (produced + users)).all()
    for col in ("events_produced", "events_delivered", "events_dropped", "events_lost"):
        assert (tl[col].diff().drop_nulls() >= -1e-6 * (produced.max() + 1)).all(), col


@settings(max_examples=10, deadline=None)
@given(scenarios())
def test_determinism_bit_identical(scenario):
    a, b = simulate(scenario), simulate(scenario)
    assert a.outcome == b.outcome and a.timeline.equals(b.timeline)
