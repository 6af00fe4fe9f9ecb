"""The step loop: builds a run's named state from a Scenario, applies `rules.step` once per step
in a compiled loop, and records the timeline.

`simulate(scenario_or_params)` runs one scenario; `simulate_batch(scenarios)` runs many (the
sweep uses it). Deterministic to the bit: no randomness, no threads.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from incidentlab.errors import ScenarioError
from incidentlab.model import aot, state
from incidentlab.model.backoff import backoff, check_cost
from incidentlab.model.columns import RECORD
from incidentlab.model.outcome import (
    RECOVERED_TOLERANCE,
    Outcome,
    Run,
    outcome_from_tally,
    outcomes_from_record,
)
from incidentlab.model.params import Params
from incidentlab.model.scenario import Scenario

ENGINES = ("fluid", "agents")


KB_PER_GB = 1e6
UNLIMITED = 1e300  # stands for None (no limit) in the compiled loop


def simulate(scenario_or_params: Scenario | Params, engine: str = "fluid", seed: int = 0) -> Run:
    """Run one scenario (or Params: their own lockup knobs, no operator actions) -> Run.
    engine="agents" runs the agent-level reference engine (model/agents.py) with `seed`."""
    if engine not in ENGINES:
        raise ScenarioError(f"engine={engine!r} is unknown; accepted: {', '.join(ENGINES)}")
    if engine == "agents":
        from incidentlab.model import agents

        return agents.simulate(scenario_or_params, seed=seed)
    scenario = _as_scenario(scenario_or_params)
    record = run_record(scenario)
    outcome = outcomes_from_record([scenario], [record])[0]
    return Run(scenario=scenario, record=record, outcome=outcome)


def simulate_batch(scenarios: Sequence[Scenario | Params], keep_timeline: bool = False):
    """Run many scenarios; returns (outcomes, records or None). Without timelines each outcome
    is tallied inside the loop (`run_outcome`): no per-step record, a fraction of the memory."""
    scenarios = [_as_scenario(s) for s in scenarios]
    if not keep_timeline:
        return run_outcomes(scenarios), None
    outcomes, records = [], []
    for sc in scenarios:
        record = run_record(sc)
        outcomes.extend(outcomes_from_record([sc], [record]))
        records.append(record)
    return outcomes, records


def _as_scenario(x: Scenario | Params) -> Scenario:
    if isinstance(x, Scenario):
        return x
    if isinstance(x, Params):
        return Scenario(params=x)
    raise ScenarioError(f"simulate() takes a Scenario or Params, not {type(x).__name__}")


def steps(p: Params) -> int:
    """Number of steps of a run."""
    return max(1, round(p.horizon_s / p.dt_s))


def _exogenous(sc: Scenario, T: int):
    """What the schedule fixes in advance, per step: presence capacity, share of links lost,
    share of the event rate flowing, admissions per step, and operator events."""
    p, dt = sc.params, sc.params.dt_s
    faulty_up = _faulty_node_timeline(sc, T)
    capacity = (p.presence_nodes - 1 + faulty_up) * p.presence_capacity
    loss = np.zeros(T)
    loss[np.flatnonzero(np.diff(np.concatenate([[1.0], faulty_up])) < 0)] = 1 / p.presence_nodes
    send = np.ones(T)
    limit = np.full(T, UNLIMITED if p.connect_rate_limit is None else p.connect_rate_limit * dt)
    event = np.zeros(T, dtype=np.int64)
    for a in sc.actions:
        t = min(T - 1, max(0, round(a.t_s / dt)))
        if a.kind == "disable_sending":
            send[t:] = p.sending_disabled_event_fraction
        elif a.kind == "enable_sending":
            send[t:] = 1.0
        elif a.kind == "set_connect_rate_limit":
            limit[t:] = UNLIMITED if a.value is None else a.value * dt
        elif a.kind == "full_reboot":
            event[t] = state.FULL_REBOOT
        elif a.kind == "restart_presence":
            event[t] = state.RESTART_PRESENCE
            loss[t] = 1.0
        elif a.kind == "ignore_presence":
            event[t] = state.IGNORE_PRESENCE
    return capacity, loss, send, limit, event


def _faulty_node_timeline(sc: Scenario, T: int) -> np.ndarray:
    """1.0 while the faulty presence node answers, per step. A lockup takes it out; with the
    split-brain bug ('the presence cluster did not properly handle the lost node, and instead
    caused the entire cluster to split brain') it stays out until a full reboot, a presence
    restart or its own reboot ('This misbehaving server is rebooted')."""
    p, dt = sc.params, sc.params.dt_s
    changes = []  # (time, order, kind, length)
    for i in range(p.lockup_count):
        changes.append((p.lockup_start_s + i * p.lockup_interval_s, 1, "lockup",
                        p.lockup_duration_s))
    for a in sc.actions:
        if a.kind == "lockup":
            changes.append((a.t_s, 1, "lockup", p.lockup_duration_s if a.value is None
                            else a.value))
        elif a.kind in ("full_reboot", "restart_presence", "reboot_presence_node"):
            changes.append((a.t_s, 0, a.kind, 0.0))
    changes.sort(key=lambda c: (c[0], c[1]))
    edges: list[tuple[float, float]] = []  # (time, answering from then on)
    locked_until, cured = -1.0, False
    for time, _, kind, length in changes:
        if kind == "lockup":
            if cured:
                continue
            locked_until = max(locked_until, time + length)
            edges.append((time, 0.0))
            if p.split_brain_fix:
                edges.append((locked_until, 1.0))
        elif kind == "reboot_presence_node":  # 'resolves the soft-lock issues'
            cured = True
            locked_until = min(locked_until, time)
            edges.append((time, 1.0))
        else:  # a restart heals the split brain once the current lockup is over
            edges.append((max(time, locked_until), 1.0))
    state = np.ones(T)
    for time, value in sorted(edges, key=lambda e: e[0]):
        state[min(T, max(0, round(time / dt))) :] = value
    return state


def knobs(p: Params) -> np.ndarray:
    """The scenario's constants as the loop's `Knobs` record."""
    k = np.zeros(1, state.KNOBS)
    window = p.rpc_timeout_s - p.presence_rtt_s
    k["users"] = p.users
    k["capacity"] = p.presence_capacity
    k["bg_ops"] = p.presence_ops_per_session
    k["event_rate"] = p.event_rate
    k["base_kb"] = p.session_base_kb
    k["event_kb"] = p.event_kb
    k["mem_kb"] = p.node_memory_gb * KB_PER_GB
    k["fast_fail"] = float(p.fast_fail)
    k["inflight"] = UNLIMITED if p.inflight_limit is None else p.inflight_limit
    k["buf_limit"] = UNLIMITED if p.buffer_limit is None else p.buffer_limit
    k["policy"] = ("unbounded", "drop-oldest", "disconnect").index(p.buffer_policy)
    k["restart_s"] = p.session_restart_s
    k["dt"] = p.dt_s
    k["window"] = window
    k["rtt"] = p.presence_rtt_s
    k["cancel"] = float(p.cancel_abandoned)
    k["tq"] = max(1, math.ceil(window / p.dt_s - 1e-9))
    k["link_cost"] = p.link_cost_ops
    return k


# a sweep's runs share a few backoff policies: build each table once (the loop only reads them)
_backoff = functools.lru_cache(maxsize=32)(backoff)


def _pow2(n: int) -> int:
    """The least power of two >= n: ring lengths, so rules.py finds a slot with a mask."""
    return 1 << (n - 1).bit_length()


def _rings(jitter: str, base: float, cap: float, dt: float) -> state.Rings:
    b = _backoff(jitter, base, cap, dt)
    K, reach = len(b.delta), _pow2(b.reach + 2)
    return state.Rings(np.zeros((reach, K)), np.zeros((reach, K)), np.zeros(K, state.LANE),
                       b.delta, b.idx, b.val, b.nnz)


def world(sc: Scenario, record: bool = True) -> state.World:
    """A run's named state at t=0: every user linked, every node up, queues empty (and no
    timeline record when `record` is False: the outcome is tallied instead)."""
    p = sc.params
    T, dt, S = steps(p), p.dt_s, p.session_nodes
    check_cost(p.reconnect_jitter, p.reconnect_base_s, p.reconnect_cap_s, dt, T, "reconnect")
    check_cost(p.client_reconnect_jitter, p.client_reconnect_base_s, p.client_reconnect_cap_s,
               dt, T, "client reconnect")
    k = knobs(p)
    cluster = np.zeros(1, state.CLUSTER)
    cluster[0]["nodes_up"] = S
    cluster[0]["next_restart"] = math.inf
    ramp = np.linspace(1.0, -1.0, S) if S > 1 else np.zeros(1)
    weight = 1.0 + p.session_load_spread * ramp
    nodes = np.zeros(S, state.NODE)
    nodes["weight"] = weight / weight.sum()
    nodes["up_weight"] = nodes["weight"]
    nodes["up"] = 1.0
    nodes["restart_at"] = math.inf
    nodes["sessions"] = p.users * nodes["weight"]
    retries = _rings(p.reconnect_jitter, p.reconnect_base_s, p.reconnect_cap_s, dt)
    clients = _rings(p.client_reconnect_jitter, p.client_reconnect_base_s,
                     p.client_reconnect_cap_s, dt)
    WQ = _pow2(int(k[0]["tq"]) + 3)
    queue = state.Queue(np.zeros(T + 1, state.SEGMENT), np.zeros((WQ, 2)), np.zeros((WQ, 2)),
                        np.zeros((WQ, 2, len(retries.lanes))))
    capacity, loss, send, limit, event = _exogenous(sc, T)
    return state.World(k, cluster, nodes, queue, retries, clients, capacity, loss, send, limit,
                       event, np.zeros(T if record else 0, RECORD))


def run_record(sc: Scenario) -> np.ndarray:
    """Run one scenario's loop; returns its timeline record (T,) of columns.RECORD."""
    w = world(sc)
    _compiled_loop(w)(w)
    return w.record


def _compiled_loop(w: state.World):
    """The loop built ahead of time for this state's layout if a current build exists (model/aot.py:
    no compiler is loaded), else numba's JIT of the same function (model/loop.py)."""
    run = aot.load(w)
    if run is None:
        from incidentlab.model import loop

        run = loop.run
    return run


def run_outcome(sc: Scenario) -> Outcome:
    """Run one scenario's loop without a timeline; its outcome equals
    outcomes_from_record([sc], [run_record(sc)])[0] (the reference), at a fraction of the cost."""
    return run_outcomes([sc])[0]


def run_outcomes(scenarios: Sequence[Scenario]) -> list[Outcome]:
    """`run_outcome` of each scenario, in three passes (every state, every loop, every outcome)
    so that each pass's code and data stay in the CPU's caches: a sweep's batch runs faster."""
    from incidentlab.model import loop  # sweeps run the JIT: their workers load numba anyway

    runs = []
    for sc in scenarios:
        w = world(sc, record=False)
        T = w.capacity.shape[0]
        tally = np.zeros(1, state.TALLY)
        users = float(sc.params.users)
        tally["users"], tally["tol"] = users, RECOVERED_TOLERANCE * users
        tally["goodput_share"] = 1 - RECOVERED_TOLERANCE
        tally["first_crash"], tally["last_unhealthy"] = -1, -1
        tally["peak_stalled"] = -math.inf
        runs.append((sc, w, tally, np.empty(T), np.empty(T)))
    for _, w, tally, offered, unserved in runs:
        loop.tally(w, tally, offered, unserved)
    return [outcome_from_tally(sc, tally[0], w.cluster[0], offered, w.capacity, unserved)
            for sc, w, tally, offered, unserved in runs]
