"""The model against theory: conservation, Little's law, backoff formulas, the in-flight limit,
time to OOM, metastability, convergence in the step length, determinism."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlab import Action, ParamError, Params, Scenario, presets, simulate
from incidentlab.model.backoff import cap_of_level, levels_needed, wait_masses

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


def links_per_step(run) -> np.ndarray:
    p = run.scenario.params
    return (run.timeline["presence_goodput_ops"] * p.dt_s / p.link_cost_ops).to_numpy()


@pytest.mark.parametrize("cap", [4.0, 120.0, 600.0])
@pytest.mark.parametrize("jitter", JITTERS)
def test_first_wave_of_retries_follows_the_jitter_formula(jitter, cap):
    base = min(20.0, cap)
    run = simulate(herd(reconnect_jitter=jitter, reconnect_base_s=base, reconnect_cap_s=cap))
    wave = attempts_per_step(run)
    n, b = 1000.0, int(base)
    assert wave.sum() == pytest.approx(n)  # every session succeeds at its first retry
    t = np.arange(len(wave)) + 0.5  # a spread arrival is, on average, half-way through its step
    mean = (t * wave).sum() / n
    expected_mean = {"none": base + 0.5, "full": base / 2, "equal": 3 * base / 4,
                     "decorrelated": 2 * base if cap >= 3 * base else cap + 0.5}[jitter]
    # decorrelated's marginal lives on a fine grid: within half a grid cell
    assert mean == pytest.approx(expected_mean, abs=0.15 if jitter == "decorrelated" else 0.05)
    if jitter == "none":  # one spike, at the wait's own instant
        assert wave[b] == pytest.approx(n) and np.count_nonzero(wave > 1e-9) == 1
    elif jitter == "full":  # uniform on [0, base]: from the failure's own step
        assert np.allclose(wave[:b], n / base) and wave[b:].sum() == pytest.approx(0)
    elif jitter == "equal":  # nothing before half, uniform on [base/2, base]
        assert wave[: b // 2].sum() == 0 and np.allclose(wave[b // 2: b], n / (base / 2))
    elif cap >= 3 * base:  # U(base, 3 base)
        assert wave[:b].sum() < 2e-3 * n  # the marginal lives on a fine grid: a cell early at most
        assert np.allclose(wave[b + 1: 3 * b - 1], n / (2 * base), rtol=0.02)


def _decorrelated_means(base: float, cap: float, levels: int, n: int = 400_000) -> np.ndarray:
    rng = np.random.default_rng(7)
    prev, out = np.full(n, base), []
    for _ in range(levels):
        prev = np.minimum(cap, rng.uniform(base, 3 * prev))
        out.append(prev.mean())
    return np.array(out)


@pytest.mark.parametrize("cap", [4.0, 120.0, 600.0])
@pytest.mark.parametrize("jitter", JITTERS)
def test_mean_waits_per_attempt_match_closed_forms(jitter, cap):
    """Every jitter keeps its exact per-attempt distribution up to its cap, decorrelated too
    (against the process itself, sampled): no level is cut short."""
    base, dt = 1.0, 0.5
    levels = levels_needed(jitter, base, cap)
    masses = wait_masses(jitter, base, cap, dt, levels)
    t = (np.arange(masses.shape[1]) + 0.5) * dt  # a wait inside a step lands spread over it
    means = masses @ t
    if jitter == "decorrelated":
        expected = _decorrelated_means(base, cap, levels)
    else:
        c = np.array([cap_of_level(base, cap, k) for k in range(levels)])
        expected = {"none": c + dt / 2, "full": c / 2, "equal": 3 * c / 4}[jitter]
    assert np.allclose(means, expected, rtol=0.02, atol=dt / 2), (means, expected)
    if jitter == "decorrelated":  # the levels run on until the cap truly binds
        assert means[-1] > 0.8 * cap / 2


@pytest.mark.parametrize(("n", "limit"), [(1000, 300), (1000, 250), (900, 1000), (1000, 7)])
def test_inflight_limit_admits_exactly_ceil_n_over_l_waves(n, limit):
    """Synchronised retries (no jitter) meet the semaphore as one burst each: L get through."""
    run = simulate(herd(users=3 * n, inflight_limit=limit, reconnect_jitter="none",
                        reconnect_base_s=1, reconnect_cap_s=1, horizon_s=300))
    links = links_per_step(run)
    waves = links[links > 1e-9]
    assert len(waves) == math.ceil(n / limit)
    assert np.allclose(waves[:-1], limit)
    assert waves.sum() == pytest.approx(n)


def test_inflight_slots_turn_over_once_per_round_trip():
    """Spread arrivals against one slot: the link rate is slots / round trip, whatever dt_s."""
    for dt in (1.0, 0.25):
        p = herd(users=30_000, inflight_limit=1, reconnect_jitter="full", reconnect_base_s=10,
                 reconnect_cap_s=10, presence_rtt_s=0.01, dt_s=dt, horizon_s=400)
        links = links_per_step(simulate(p))
        rate = links[20: 40].sum() / (20 * dt)  # while the herd is still there
        assert rate == pytest.approx(1 / 0.01, rel=0.05)


def test_a_retry_without_backoff_comes_right_after_its_timeout():
    """Nothing is served; with no backoff each session retries at its timeout, whatever dt_s,
    not a step later."""
    for dt in (1.0, 0.5):
        p = herd(presence_capacity=1.0, reconnect_base_s=0, reconnect_cap_s=0, dt_s=dt,
                 rpc_timeout_s=5.0, horizon_s=40)
        wave = attempts_per_step(simulate(p))
        times = np.flatnonzero(wave > 1) * dt
        assert np.allclose(np.diff(times), 5.0), times


def test_a_short_wait_is_not_rounded_up_to_a_step():
    run = simulate(herd(reconnect_jitter="full", reconnect_base_s=0.5, reconnect_cap_s=0.5))
    wave = attempts_per_step(run)
    assert wave[0] == pytest.approx(1000)  # waits of U(0, 0.5 s) land in the failure's step


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
    p = herd(users=30_000, presence_capacity=600.0, reconnect_jitter="full",
             reconnect_base_s=20, reconnect_cap_s=20, rpc_timeout_s=120, horizon_s=150)
    tl = simulate(p).timeline
    arrivals = (tl["reconnect_attempts"] * p.dt_s * p.link_cost_ops).to_numpy()
    served = (tl["presence_goodput_ops"] * p.dt_s).to_numpy()
    queue = tl["presence_queue"].to_numpy()
    assert queue[-1] == pytest.approx(0, abs=1e-6) and queue.max() > 1000
    T = len(queue) * p.dt_s
    L = queue.mean()
    lam = arrivals.sum() / T
    A, D = np.cumsum(arrivals), np.cumsum(served)
    units = np.linspace(0, A[-1], 200_001)[1:-1]
    arrive = np.searchsorted(A, units, side="left")
    leave = np.searchsorted(D, units, side="left")
    W = (leave - arrive).mean() * p.dt_s
    assert pytest.approx(lam * W, rel=0.01) == L


def test_after_the_herd_presence_has_headroom():
    """Every session linked to the two surviving nodes: utilisation well below 1."""
    p = Params()
    rho = p.users * p.presence_ops_per_session / ((p.presence_nodes - 1) * p.presence_capacity)
    assert rho <= 0.75


HEALED = Params(split_brain_fix=True, node_memory_gb=10_000)  # trigger gone, memory no issue


def test_metastability_the_2017_retries_alone_keep_presence_down():
    """The lockup is over after 25 s, the capacity is back, memory is out of the way, the same
    users ask for the same background work: with no history presence is fine; after the herd,
    the 2017 retry policy keeps it saturated with abandoned requests that are still served."""
    calm, herd_run = simulate(HEALED.replace(lockup_count=0)), simulate(HEALED)
    tail = herd_run.timeline.filter(pl.col("t_s") >= 1800)
    assert calm.outcome.recovered and calm.outcome.peak_stalled_fraction == 0
    assert not herd_run.outcome.recovered
    assert tail["users_stalled"].min() > 0.25 * HEALED.users
    assert (tail["presence_capacity_ops"] == 3 * HEALED.presence_capacity).all()
    assert tail["presence_queue"][-1] > tail["presence_queue"][0]


@pytest.mark.parametrize("fix", [{"reconnect_jitter": "full", "reconnect_cap_s": 120},
                                 {"inflight_limit": 1000},
                                 {"cancel_abandoned": True}])
def test_metastability_what_breaks_the_loop(fix):
    """A capped jittered backoff, the in-flight limit, or a client that cancels what it gave up
    on (the counterfactual that proves wasted work is the cause) each drain the same herd."""
    run = simulate(HEALED.replace(**fix))
    assert run.outcome.recovered, fix
    assert run.timeline.filter(pl.col("t_s") >= 1800)["users_stalled"].max() < 1


def test_the_reports_fix_recovers_even_with_the_split_brain_bug():
    run = simulate(presets["march-2017"].replace(inflight_limit=1000, fast_fail=True))
    o = run.outcome
    assert o.recovered and o.oom_crashes == 0 and o.events_lost == 0


OUTCOME_FIGURES = ("first_oom_s", "oom_crashes", "peak_stalled_fraction", "events_produced",
                   "events_delivered", "events_lost", "events_dropped", "time_to_recover_s",
                   "peak_presence_load_ratio", "user_minutes_lost")


@pytest.mark.parametrize("name", ["march-2017", "march-2017-fixed"])
def test_every_headline_converges_in_the_step_length(name):
    """Every Outcome figure changes by under 2% between dt_s = 0.5 and 0.25."""
    a = simulate(presets[name].replace(dt_s=0.5)).outcome
    b = simulate(presets[name].replace(dt_s=0.25)).outcome
    assert a.recovered == b.recovered
    for field in OUTCOME_FIGURES:
        x, y = getattr(a, field), getattr(b, field)
        if x is None or y is None:
            assert x is None and y is None, field
        else:
            assert x == pytest.approx(y, rel=0.02, abs=1e-9 * max(1.0, abs(y))), field


@pytest.mark.parametrize("limit", [1, 10, 100, 1000])
def test_inflight_limited_relink_time_does_not_depend_on_the_step(limit):
    """The 2017 retries against an in-flight limit, fast-fail on: the time to re-link every
    session changes by at most 10% between dt_s = 1 and 0.25 (or never ends in either)."""
    def relink(dt):
        p = presets["march-2017"].replace(inflight_limit=limit, fast_fail=True, dt_s=dt,
                                          horizon_s=5400)
        return simulate(p).outcome.time_to_recover_s
    a, b = relink(1.0), relink(0.25)
    if a is None or b is None:
        assert a is None and b is None
    else:
        assert a == pytest.approx(b, rel=0.10)


def test_dense_waits_on_a_fine_grid_are_refused_with_what_to_change():
    with pytest.raises(ParamError, match="raise dt_s"):
        simulate(Params(dt_s=0.01, reconnect_jitter="decorrelated", reconnect_cap_s=3600,
                        horizon_s=5000))


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
        link_cost_ops=draw(st.floats(0.5, 10)),
        presence_rtt_s=draw(st.floats(0, 0.2)),
        cancel_abandoned=draw(st.booleans()),
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
             "enable_sending", "lockup", "set_connect_rate_limit", "ignore_presence"]
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
                "events_buffered", "presence_queue", "requests_in_flight"):
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
