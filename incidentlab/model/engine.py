"""The step loop: sets up the batched arrays, applies `rules` once per step, records the timeline.

`simulate(scenario_or_params)` runs one scenario; `simulate_batch(scenarios)` runs many in one
compiled loop (scenarios of one array shape together; the sweep uses it). Deterministic to the
bit: no randomness, no threads.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numba import njit

from incidentlab.errors import ScenarioError
from incidentlab.model import rules
from incidentlab.model.outcome import Run, outcomes_from_record
from incidentlab.model.params import Params
from incidentlab.model.rules import (
    ACUM,
    ATTEMPTS,
    BUF,
    CLIENTS,
    CRASHES,
    DELIVERED,
    DEMAND,
    DROPPED,
    DT,
    FAST_FAIL,
    FULL_REBOOT,
    GOODPUT,
    LOST,
    MEM_KB,
    NEXT_RESTART,
    NODES_UP,
    OFFERED,
    PE,
    PRODUCED,
    RESTART_PRESENCE,
    RESTART_S,
    SCUM,
    ST,
    X_SIZE,
    N,
)
from incidentlab.model.scenario import Scenario


def _drop_stale_compiled_loop() -> None:
    """numba's on-disk cache checks only the source of the file a function is in, but the loop
    below inlines rules.py: when rules.py changes, drop this file's compiled functions."""
    cache = Path(__file__).with_name("__pycache__")
    stamp = cache / "engine.rules.sha256"
    try:
        digest = hashlib.sha256(Path(rules.__file__).read_bytes()).hexdigest()
        if stamp.exists() and stamp.read_text() == digest:
            return
        for compiled in cache.glob("engine.*.nb[ci]"):
            compiled.unlink()
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: its files do not change either
        pass


_drop_stale_compiled_loop()

KB_PER_GB = 1e6
UNLIMITED = 1e300  # stands for None (no limit) in the compiled loop
CHUNK = 64  # scenarios per compiled batch: bounds the memory of a sweep
RECORD = ("users_connected", "users_stalled", "users_reconnecting", "users_offline",
          "session_nodes_up", "node_memory_max_gb", "node_memory_mean_gb", "presence_offered_ops",
          "presence_capacity_ops", "presence_goodput_ops", "presence_queue", "reconnect_attempts",
          "events_produced", "events_delivered", "events_dropped", "events_lost",
          "events_buffered", "crashes", "users_unlinked", "presence_demand_ops")


def simulate(scenario_or_params: Scenario | Params, engine: str = "fluid", seed: int = 0) -> Run:
    """Run one scenario (or Params: their own lockup knobs, no operator actions) -> Run.
    engine="agents" runs the agent-level reference engine (model/agents.py) with `seed`."""
    if engine == "agents":
        from incidentlab.model import agents

        return agents.simulate(scenario_or_params, seed=seed)
    if engine != "fluid":
        raise ScenarioError(f"engine={engine!r} is unknown; accepted: fluid, agents")
    scenario = _as_scenario(scenario_or_params)
    record = _run_group([scenario])
    outcome = outcomes_from_record([scenario], record)[0]
    return Run(scenario=scenario, record=record[0], outcome=outcome)


def simulate_batch(scenarios: Sequence[Scenario | Params], keep_timeline: bool = False):
    """Run many scenarios batched by array shape; returns (outcomes, records or None)."""
    scenarios = [_as_scenario(s) for s in scenarios]
    outcomes: list = [None] * len(scenarios)
    records: list = [None] * len(scenarios)
    groups: dict[tuple, list[int]] = {}
    for i, sc in enumerate(scenarios):
        groups.setdefault(_shape_key(sc), []).append(i)
    for idx in groups.values():
        for start in range(0, len(idx), CHUNK):
            chunk = idx[start : start + CHUNK]
            group = [scenarios[i] for i in chunk]
            record = _run_group(group)
            for j, o in zip(chunk, outcomes_from_record(group, record), strict=True):
                outcomes[j] = o
            if keep_timeline:
                for n, j in enumerate(chunk):
                    records[j] = record[n]
    return outcomes, (records if keep_timeline else None)


def _as_scenario(x: Scenario | Params) -> Scenario:
    if isinstance(x, Scenario):
        return x
    if isinstance(x, Params):
        return Scenario(params=x)
    raise ScenarioError(f"simulate() takes a Scenario or Params, not {type(x).__name__}")


def steps(p: Params) -> int:
    """Number of steps of a run."""
    return max(1, round(p.horizon_s / p.dt_s))


def _shape_key(sc: Scenario) -> tuple:
    p = sc.params
    return (p.session_nodes, steps(p), p.dt_s)


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
            event[t] = rules.FULL_REBOOT
        elif a.kind == "restart_presence":
            event[t] = rules.RESTART_PRESENCE
            loss[t] = 1.0
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


def _knobs(p: Params) -> np.ndarray:
    k = np.zeros(rules.K_SIZE)
    k[rules.USERS] = p.users
    k[rules.CAPACITY] = p.presence_capacity
    k[rules.BG_OPS] = p.presence_ops_per_session
    k[rules.EVENT_RATE] = p.event_rate
    k[rules.BASE_KB] = p.session_base_kb
    k[rules.EVENT_KB] = p.event_kb
    k[rules.MEM_KB] = p.node_memory_gb * KB_PER_GB
    k[rules.FAST_FAIL] = float(p.fast_fail)
    k[rules.INFLIGHT] = UNLIMITED if p.inflight_limit is None else p.inflight_limit
    k[rules.BUF_LIMIT] = UNLIMITED if p.buffer_limit is None else p.buffer_limit
    k[rules.POLICY] = ("unbounded", "drop-oldest", "disconnect").index(p.buffer_policy)
    k[rules.RESTART_S] = p.session_restart_s
    k[rules.DT] = p.dt_s
    k[rules.TQ] = max(1, round(p.rpc_timeout_s / p.dt_s))
    return k


def _run_group(scenarios: list[Scenario]) -> np.ndarray:
    """Run scenarios of one shape (nodes, steps, dt) in one compiled loop -> record (B, T, C)."""
    ps = [sc.params for sc in scenarios]
    B, S, T, dt = len(ps), ps[0].session_nodes, steps(ps[0]), ps[0].dt_s
    K = max(rules.levels_needed(p.reconnect_base_s, p.reconnect_cap_s, p.reconnect_jitter)
            for p in ps)
    Kc = max(rules.levels_needed(p.client_reconnect_base_s, p.client_reconnect_cap_s,
                                 p.client_reconnect_jitter) for p in ps)
    W = max(2 + round(p.reconnect_cap_s / dt) for p in ps)
    Wc = max(2 + round(p.client_reconnect_cap_s / dt) for p in ps)
    window = max(int(_knobs(p)[rules.TQ]) for p in ps) + 1
    pmf = np.stack([rules.backoff_pmf(p.reconnect_jitter, p.reconnect_base_s, p.reconnect_cap_s,
                                      K, dt, W) for p in ps])
    cpmf = np.stack([rules.backoff_pmf(p.client_reconnect_jitter, p.client_reconnect_base_s,
                                       p.client_reconnect_cap_s, Kc, dt, Wc) for p in ps])
    ramp = np.linspace(1.0, -1.0, S) if S > 1 else np.zeros(1)
    weight = np.stack([1.0 + p.session_load_spread * ramp for p in ps])
    weight /= weight.sum(1, keepdims=True)
    knobs = np.stack([_knobs(p) for p in ps])
    exo = [_exogenous(sc, T) for sc in scenarios]
    capacity, loss, send, limit, event = (np.stack([e[i] for e in exo]) for i in range(5))
    Y = np.zeros((B, 4, S))
    Y[:, N] = knobs[:, rules.USERS, None] * weight
    record = np.zeros((B, T, len(RECORD)))
    _loop(Y, np.zeros((B, T + W + 1, K)), np.zeros((B, T + Wc + 1, Kc)), pmf, cpmf, weight,
          np.zeros((B, T + 2)), np.zeros((B, window, K)), knobs, capacity, loss, send, limit,
          event, record)
    return record


@njit(cache=True)
def _loop(Y, R, C, pmf, cpmf, weight, Ahist, sent_row, knobs, capacity, loss, send, limit,
          event, record):
    for b in range(Y.shape[0]):
        _run_one(Y[b], R[b], C[b], pmf[b], cpmf[b], weight[b], Ahist[b], sent_row[b], knobs[b],
                 capacity[b], loss[b], send[b], limit[b], event[b], record[b])


@njit(cache=True)
def _run_one(Y, R, C, pmf, cpmf, weight, Ahist, sent_row, k, capacity, loss, send, limit, event,
             rec):
    S, T, K, Kc, W = Y.shape[1], rec.shape[0], R.shape[1], C.shape[1], pmf.shape[1]
    dt = k[DT]
    x = np.zeros(X_SIZE)
    x[NODES_UP] = S
    x[NEXT_RESTART] = math.inf
    node_up = np.ones(S)
    restart_at = np.full(S, math.inf)
    up_weight = weight.copy()
    Wc = np.zeros(Kc)
    failed, late, sent = np.zeros(K), np.zeros(K), np.zeros(K)
    refused, failed_c = np.zeros(Kc), np.zeros(Kc)
    for t in range(T):
        failed[:] = 0.0  # failures at the start of this step
        late[:] = 0.0  # failures at its end (timeouts)
        x[CRASHES] = 0.0
        # operator actions and the schedule's presence changes (start of the step)
        if event[t] == FULL_REBOOT:  # 'fully "reboot" Discord'
            for s in range(S):
                if Y[N, s] > 0:
                    rules.end_sessions(t, Y, s, Y[N, s], R, W, C, Wc, cpmf, x, False, failed_c)
                node_up[s] = 1.0
                restart_at[s] = math.inf
            x[NEXT_RESTART] = math.inf
            _reweight(weight, node_up, up_weight, x)
            rules.clear_presence_queue(x, failed)
        elif event[t] == RESTART_PRESENCE:
            rules.clear_presence_queue(x, failed)
        if loss[t] > 0:
            rules.lose_links(Y, loss[t], failed)
        if t * dt >= x[NEXT_RESTART]:  # crashed session nodes come back, empty
            x[NEXT_RESTART] = math.inf
            for s in range(S):
                if restart_at[s] <= t * dt + 1e-9:
                    node_up[s], restart_at[s] = 1.0, math.inf
                x[NEXT_RESTART] = min(x[NEXT_RESTART], restart_at[s])
            _reweight(weight, node_up, up_weight, x)
        # clients, link requests, presence, nodes
        admitted = 0.0
        if x[CLIENTS] > 0:
            admitted = rules.admit_clients(t, C, Wc, cpmf, limit[t], Y, up_weight, x, k,
                                           refused)
        linked = 0.0
        for s in range(S):
            linked += Y[N, s] - Y[ST, s] - Y[PE, s]
        total = rules.send_link_requests(t, R, admitted, x, k, sent, failed)
        sent_row[t % sent_row.shape[0]] = sent
        links = rules.serve_presence(t, total, capacity[t], linked, Ahist, sent_row, x, k,
                                     late)
        unlinked = 0.0
        for s in range(S):
            unlinked += Y[ST, s] + Y[PE, s]
        overflow = rules.update_nodes(Y, links, unlinked, send[t], x, k)
        if overflow >= 0:  # disconnect policy: stalled sessions with full buffers are dropped
            for s in range(overflow, S):
                if Y[BUF, s] > Y[ST, s] * k[rules.BUF_LIMIT]:
                    rules.end_sessions(t + 1, Y, s, Y[ST, s], R, W, C, Wc, cpmf, x, False,
                                       failed_c)
        rules.schedule(R, t, failed, pmf)
        rules.schedule(R, t + 1, late, pmf)
        for s in range(S):  # out of memory: crash
            if node_up[s] > 0 and rules.memory_kb(Y, s, k) > k[MEM_KB]:
                rules.end_sessions(t + 1, Y, s, Y[N, s], R, W, C, Wc, cpmf, x, True, failed_c)
                node_up[s] = 0.0
                restart_at[s] = (t + 1) * dt + k[RESTART_S]
                x[NEXT_RESTART] = min(x[NEXT_RESTART], restart_at[s])
                x[CRASHES] += 1.0
        if x[CRASHES] > 0:
            _reweight(weight, node_up, up_weight, x)
        _record(rec[t], Y, Wc, x, k, capacity[t], node_up)


@njit(cache=True)
def _reweight(weight, node_up, up_weight, x):
    total, up = 0.0, 0.0
    for s in range(weight.shape[0]):
        total += weight[s] * node_up[s]
        up += node_up[s]
    for s in range(weight.shape[0]):
        up_weight[s] = weight[s] * node_up[s] / total if total > 0 else 0.0
    x[NODES_UP] = up


@njit(cache=True)
def _record(row, Y, Wc, x, k, capacity, node_up):
    n = st = pe = buf = top = mem = 0.0
    for s in range(Y.shape[1]):
        n += Y[N, s]
        st += Y[ST, s]
        pe += Y[PE, s]
        buf += Y[BUF, s]
        m = rules.memory_kb(Y, s, k)
        top = max(top, m)
        mem += m * node_up[s]
    waiting = 0.0
    for lvl in range(2, Wc.shape[0]):
        waiting += Wc[lvl]
    row[0] = n - pe
    row[1] = st * (1.0 - k[FAST_FAIL])
    row[2] = pe + waiting
    row[3] = Wc[1]
    row[4] = x[NODES_UP]
    row[5] = top / 1e6
    row[6] = mem / max(x[NODES_UP], 1.0) / 1e6
    row[7] = x[OFFERED]
    row[8] = capacity
    row[9] = x[GOODPUT]
    row[10] = x[ACUM] - x[SCUM]
    row[11] = x[ATTEMPTS] / k[DT]
    row[12] = x[PRODUCED]
    row[13] = x[DELIVERED]
    row[14] = x[DROPPED]
    row[15] = x[LOST]
    row[16] = buf
    row[17] = x[CRASHES]
    row[18] = st + pe
    row[19] = x[DEMAND]
