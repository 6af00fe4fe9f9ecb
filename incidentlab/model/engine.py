"""The step loop: builds the batched state, applies `rules` once per step, records the timeline.

`simulate(scenario_or_params)` runs one scenario; `simulate_batch(scenarios)` runs many with the
same array shapes in one loop (the sweep uses it). Deterministic to the bit: no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from incidentlab.errors import ScenarioError
from incidentlab.model import rules
from incidentlab.model.outcome import Run, outcomes_from_record
from incidentlab.model.params import Params
from incidentlab.model.scenario import Scenario

KB_PER_GB = 1e6
# record columns (internal order); the public timeline columns are COLUMNS
C = {name: i for i, name in enumerate(
    ("users_connected", "users_stalled", "users_reconnecting", "users_offline",
     "session_nodes_up", "node_memory_max_gb", "node_memory_mean_gb", "presence_offered_ops",
     "presence_capacity_ops", "presence_goodput_ops", "presence_queue", "reconnect_attempts",
     "events_produced", "events_delivered", "events_dropped", "events_lost", "events_buffered",
     "crashes", "users_unlinked", "presence_demand_ops"))}


def simulate(scenario_or_params: Scenario | Params) -> Run:
    """Run one scenario (or Params with their own lockup knobs and no operator actions)."""
    scenario = _as_scenario(scenario_or_params)
    record, crashes = _run_group([scenario], keep_timeline=True)
    outcome = outcomes_from_record([scenario], record, crashes)[0]
    return Run(scenario=scenario, record=record[0], outcome=outcome)


def simulate_batch(scenarios: Sequence[Scenario], keep_timeline: bool = False):
    """Run many scenarios, batched by array shape; returns (outcomes, records or None)."""
    scenarios = [_as_scenario(s) for s in scenarios]
    outcomes: list = [None] * len(scenarios)
    records: list = [None] * len(scenarios)
    groups: dict[tuple, list[int]] = {}
    for i, sc in enumerate(scenarios):
        groups.setdefault(_shape_key(sc), []).append(i)
    for idx in groups.values():
        for chunk in _chunks(idx, 64):
            group = [scenarios[i] for i in chunk]
            record, crashes = _run_group(group, keep_timeline)
            for j, o in zip(chunk, outcomes_from_record(group, record, crashes), strict=True):
                outcomes[j] = o
            if keep_timeline:
                for k, j in enumerate(chunk):
                    records[j] = record[k]
    return outcomes, (records if keep_timeline else None)


def _chunks(seq: list[int], n: int):
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _as_scenario(x: Scenario | Params) -> Scenario:
    if isinstance(x, Scenario):
        return x
    if isinstance(x, Params):
        return Scenario(params=x)
    raise ScenarioError(f"simulate() takes a Scenario or Params, not {type(x).__name__}")


def _steps(p: Params) -> int:
    return max(1, round(p.horizon_s / p.dt_s))


def _shape_key(sc: Scenario) -> tuple:
    p = sc.params
    return (p.session_nodes, _steps(p), p.dt_s, max(1, round(p.rpc_timeout_s / p.dt_s)))


@dataclass
class _Exogenous:
    """What the schedule fixes in advance, per step: presence nodes answering, link losses,
    the sending factor, the admission limit per step, and rare operator events."""

    presence_up: np.ndarray  # (B, T) nodes answering
    send: np.ndarray  # (B, T) share of the event rate flowing
    limit: np.ndarray  # (B, T) admissions per step
    loss: dict  # step -> (B,) share of linked sessions losing their link
    events: dict  # step -> list of (b, kind)


def _exogenous(scenarios: list[Scenario], T: int, dt: float) -> _Exogenous:
    B = len(scenarios)
    up = np.zeros((B, T))
    send = np.ones((B, T))
    limit = np.full((B, T), 1e300)
    loss: dict[int, np.ndarray] = {}
    events: dict[int, list] = {}
    for b, sc in enumerate(scenarios):
        p = sc.params
        faulty_up = _faulty_node_timeline(sc, T, dt)
        up[b] = p.presence_nodes - 1 + faulty_up
        down = np.flatnonzero(np.diff(np.concatenate([[1.0], faulty_up])) < 0)
        for t in down:
            loss.setdefault(int(t), np.zeros(B))[b] = 1.0 / p.presence_nodes
        rate = 1e300 if p.connect_rate_limit is None else p.connect_rate_limit
        limit[b] = rate * dt
        for a in sorted(sc.actions, key=lambda a: a.t_s):
            t = min(T - 1, max(0, round(a.t_s / dt)))
            if a.kind == "disable_sending":
                send[b, t:] = p.sending_disabled_event_fraction
            elif a.kind == "enable_sending":
                send[b, t:] = 1.0
            elif a.kind == "set_connect_rate_limit":
                limit[b, t:] = (1e300 if a.value is None else a.value) * dt
            elif a.kind in ("full_reboot", "restart_presence"):
                events.setdefault(t, []).append((b, a.kind))
                if a.kind == "restart_presence":
                    loss.setdefault(t, np.zeros(B))[b] = 1.0
    return _Exogenous(up, send, limit, loss, events)


def _faulty_node_timeline(sc: Scenario, T: int, dt: float) -> np.ndarray:
    """1.0 while the faulty presence node answers, per step. A lockup takes it out; with the
    split-brain bug it stays out until a full reboot, a presence restart or its own reboot."""
    p = sc.params
    changes = []  # (time, order, kind, value)
    for i in range(p.lockup_count):
        start = p.lockup_start_s + i * p.lockup_interval_s
        changes.append((start, 1, "lockup", p.lockup_duration_s))
    for a in sc.actions:
        if a.kind == "lockup":
            length = p.lockup_duration_s if a.value is None else a.value
            changes.append((a.t_s, 1, "lockup", length))
        elif a.kind in ("full_reboot", "restart_presence", "reboot_presence_node"):
            changes.append((a.t_s, 0, a.kind, None))
    changes.sort(key=lambda c: (c[0], c[1]))
    state = np.ones(T)
    locked_until, cured = -1.0, False
    edges: list[tuple[float, float]] = []  # (time, value) from this time on
    for time, _, kind, value in changes:
        if kind == "lockup":
            if cured:
                continue
            locked_until = max(locked_until, time + value)
            edges.append((time, 0.0))
            if p.split_brain_fix:
                edges.append((locked_until, 1.0))
        elif kind == "reboot_presence_node":
            cured = True
            locked_until = min(locked_until, time)
            edges.append((time, 1.0))
        else:  # a restart of the cluster heals the split brain once the lockup is over
            edges.append((max(time, locked_until), 1.0))
    for time, value in sorted(edges, key=lambda e: e[0]):
        state[min(T, max(0, round(time / dt))) :] = value
    return state


class _State:
    """All state of a batch of scenarios: arrays with a leading batch axis (see rules.py)."""

    def __init__(self, scenarios: list[Scenario]):
        ps = [sc.params for sc in scenarios]
        p0 = ps[0]
        B, S, dt = len(ps), p0.session_nodes, p0.dt_s
        self.B, self.S, self.dt, self.t = B, S, dt, 0
        self.T = _steps(p0)
        col = lambda name: np.array([float(getattr(p, name)) for p in ps])  # noqa: E731
        self.K = max(rules.levels_needed(p.reconnect_base_s, p.reconnect_cap_s,
                                         p.reconnect_jitter) for p in ps)
        self.Kc = max(rules.levels_needed(p.client_reconnect_base_s, p.client_reconnect_cap_s,
                                          p.client_reconnect_jitter) for p in ps)
        width = max(2 + round(p.reconnect_cap_s / dt) for p in ps)
        cwidth = max(2 + round(p.client_reconnect_cap_s / dt) for p in ps)
        self.pmf = np.stack([rules.backoff_pmf(p.reconnect_jitter, p.reconnect_base_s,
                                               p.reconnect_cap_s, self.K, dt, width) for p in ps])
        self.cpmf = np.stack([rules.backoff_pmf(
            p.client_reconnect_jitter, p.client_reconnect_base_s, p.client_reconnect_cap_s,
            self.Kc, dt, cwidth) for p in ps])
        self.R = np.zeros((B, self.T + width + 1, self.K))
        self.C = np.zeros((B, self.T + cwidth + 1, self.Kc))
        self.Wc = np.zeros((B, self.Kc))  # clients waiting, by attempt level
        # session nodes: load weights 1-spread .. 1+spread, normalised
        ramp = np.linspace(1.0, -1.0, S) if S > 1 else np.zeros(1)
        self.weight = np.stack([1.0 + p.session_load_spread * ramp for p in ps])
        self.weight /= self.weight.sum(1, keepdims=True)
        self.node_up = np.ones((B, S), dtype=bool)
        self.restart_at = np.full((B, S), np.inf)
        self.up_weight = self.weight.copy()
        self.nodes_up = np.full(B, float(S))
        self.Y = np.zeros((B, 4, S))
        self.Y[:, rules.N] = col("users")[:, None] * self.weight
        self.tot = self.Y.sum(2)
        self.mem_coef = np.zeros((B, 1, 4))
        self.mem_coef[:, 0, rules.N] = col("session_base_kb")
        self.mem_coef[:, 0, rules.BUF] = col("event_kb")
        self.mem_limit = col("node_memory_gb") * KB_PER_GB
        # presence queue as cumulative arrivals/services (FIFO), timeout in steps
        self.tq = max(1, round(p0.rpc_timeout_s / dt))
        self.window = self.tq + 1
        self.Acum = np.zeros(B)
        self.Scum = np.zeros(B)
        self.Ahist = np.zeros((B, self.T + 2))
        self.sent_row = np.zeros((B, self.window, self.K))
        self.fresh_live = np.zeros(B)
        self.failed = np.zeros((B, self.K))
        self.attempts = np.zeros(B)
        self.goodput = np.zeros(B)
        self.offered = np.zeros(B)
        # knobs as batch columns
        self.capacity = col("presence_capacity")
        self.bg_ops = col("presence_ops_per_session")
        self.event_rate = col("event_rate")
        self.fast_fail = col("fast_fail")[:, None]
        self.stalls = 1.0 - col("fast_fail")
        self.inflight_cap = np.array([1e300 if p.inflight_limit is None else p.inflight_limit
                                      for p in ps])
        self.buffer_limit = np.array([np.inf if p.buffer_limit is None else p.buffer_limit
                                      for p in ps])[:, None]
        self.drop_oldest = np.array([p.buffer_policy == "drop-oldest" for p in ps])[:, None] * 1.0
        self.disconnect = np.array([p.buffer_policy == "disconnect" for p in ps])[:, None] * 1.0
        self.any_policy = any(p.buffer_policy != "unbounded" for p in ps)
        self.restart_s = col("session_restart_s")
        self.users = col("users")
        # cumulative event counters
        self.produced = np.zeros(B)
        self.delivered = np.zeros(B)
        self.dropped = np.zeros(B)
        self.lost = np.zeros(B)


def _run_group(scenarios: list[Scenario], keep_timeline: bool):
    """Run scenarios of one shape in one loop; returns (record (B, T, cols), crash list)."""
    s = _State(scenarios)
    B, T, dt = s.B, s.T, s.dt
    ex = _exogenous(scenarios, T, dt)
    cap_ops = ex.presence_up * s.capacity[:, None]
    record = np.zeros((B, T, len(C)))
    crashes: list[tuple[int, int, int]] = []  # (b, step, node)
    next_restart = math.inf
    clients = False  # the gate runs once any client is disconnected
    zero = np.zeros(B)
    for t in range(T):
        s.t = t
        s.failed[:] = 0.0
        # rare: operator actions, link losses, restarts of crashed session nodes
        if t in ex.events:
            for b, kind in ex.events[t]:
                _operator_action(s, b, kind)
            clients = True
        if t in ex.loss:
            rules.lose_links(s, ex.loss[t])
        if t >= next_restart:
            next_restart = _restart_nodes(s, t)
        # common path
        if clients:
            admitted = rules.admit_clients(s, ex.limit[:, t])
            s.tot = s.Y.sum(2)
        else:
            admitted = zero
        sent = rules.send_link_requests(s, admitted)
        links = rules.serve_presence(s, sent, cap_ops[:, t])
        rules.link_sessions(s, links)
        rules.produce_events(s, ex.send[:, t])
        if s.any_policy:
            excess = rules.limit_buffers(s)
            if excess.any():
                _disconnect(s, excess)
                clients = True
        rules.schedule(s.R, t + 1, s.failed, s.pmf)
        s.tot = s.Y.sum(2)
        mem = rules.node_memory(s)
        top = mem.max(1)
        rec = record[:, t]
        if (top > s.mem_limit).any():
            for b, node in zip(*np.nonzero(mem > s.mem_limit[:, None]), strict=True):
                crashes.append((int(b), t, int(node)))
                _crash(s, int(b), int(node))
                rec[b, C["crashes"]] += 1
            next_restart = min(next_restart, float(s.restart_at.min()))
            clients = True
            s.tot = s.Y.sum(2)
            mem = rules.node_memory(s)
            top = mem.max(1)
        tot = s.tot
        rec[:, C["users_connected"]] = tot[:, 0] - tot[:, 2]
        rec[:, C["users_stalled"]] = tot[:, 1] * s.stalls
        rec[:, C["users_unlinked"]] = tot[:, 1] + tot[:, 2]
        rec[:, C["users_reconnecting"]] = tot[:, 2] + s.Wc[:, 2:].sum(1)
        rec[:, C["users_offline"]] = s.Wc[:, 1]
        rec[:, C["session_nodes_up"]] = s.nodes_up
        rec[:, C["node_memory_max_gb"]] = top / KB_PER_GB
        rec[:, C["node_memory_mean_gb"]] = mem.sum(1) / np.maximum(s.nodes_up, 1) / KB_PER_GB
        rec[:, C["presence_offered_ops"]] = s.offered
        rec[:, C["presence_capacity_ops"]] = cap_ops[:, t]
        rec[:, C["presence_goodput_ops"]] = s.goodput
        rec[:, C["presence_queue"]] = s.Acum - s.Scum
        rec[:, C["reconnect_attempts"]] = s.attempts / dt
        rec[:, C["events_produced"]] = s.produced
        rec[:, C["events_delivered"]] = s.delivered
        rec[:, C["events_dropped"]] = s.dropped
        rec[:, C["events_lost"]] = s.lost
        rec[:, C["events_buffered"]] = tot[:, 3]
        rec[:, C["presence_demand_ops"]] = (tot[:, 0] - tot[:, 1] - tot[:, 2]) * s.bg_ops
    return record, crashes


def _crash(s: _State, b: int, node: int) -> None:
    """A node out of memory crashes: buffered events lost, its clients reconnect, it restarts."""
    rules.drop_sessions(s, b, np.array([node]), lost=True)
    s.node_up[b, node] = False
    s.restart_at[b, node] = (s.t + 1) * s.dt + s.restart_s[b]
    _reweight(s, b)


def _disconnect(s: _State, excess: np.ndarray) -> None:
    """disconnect policy: a node's stalled sessions whose buffers are full are dropped; their
    buffered events are counted as dropped and their clients reconnect."""
    for b, node in zip(*np.nonzero(excess > 0), strict=True):
        Y = s.Y[b]
        stalled = Y[rules.ST, node]
        events = Y[rules.BUF, node]
        unlinked_all = Y[rules.ST].sum() + Y[rules.PE].sum()
        if unlinked_all > 0:
            keep = 1.0 - min(stalled / unlinked_all, 1.0)
            s.R[b, s.t + 1 :] *= keep
            s.fresh_live[b] *= keep
        s.dropped[b] += events
        Y[rules.N, node] -= stalled
        Y[rules.ST, node] = 0.0
        Y[rules.BUF, node] = 0.0
        failed = np.zeros((s.B, s.Kc))
        failed[b, 0] = stalled
        rules.schedule(s.C, s.t + 1, failed, s.cpmf)
        s.Wc[b, 1] += stalled


def _reweight(s: _State, b: int) -> None:
    w = s.weight[b] * s.node_up[b]
    total = w.sum()
    s.up_weight[b] = w / total if total > 0 else 0.0
    s.nodes_up[b] = s.node_up[b].sum()


def _restart_nodes(s: _State, t: int) -> float:
    now = t * s.dt
    ready = s.restart_at <= now + 1e-9
    for b in np.flatnonzero(ready.any(1)):
        s.node_up[b] |= ready[b]
        s.restart_at[b][ready[b]] = np.inf
        _reweight(s, int(b))
    return float(s.restart_at.min())


def _operator_action(s: _State, b: int, kind: str) -> None:
    """full_reboot: every session dropped (buffers counted as dropped), every client reconnects
    through the admission limit, presence restarted. restart_presence: presence restarted
    (queue emptied, every link lost — the loss itself comes from the schedule)."""
    if kind == "full_reboot":
        rules.drop_sessions(s, b, np.arange(s.S), lost=False)
        s.node_up[b] = True
        s.restart_at[b] = np.inf
        _reweight(s, b)
        s.R[b, s.t :] = 0.0
    # presence restarted: its queue is emptied; live requests in it fail and retry
    s.failed[b, 0] += s.fresh_live[b]
    s.fresh_live[b] = 0.0
    s.Scum[b] = s.Acum[b]
    s.tot = s.Y.sum(2)
