"""The agent-level reference engine: every session and every presence link request, with real
randomness, in continuous time — the truth the fluid engine is checked against.

`simulate(scenario, seed)` returns the same `Run` (same record columns, same Outcome) as the
fluid engine. A compiled event loop (numba, one heap of events) follows each session; presence
nodes are FIFO queues with deterministic service 1/presence_capacity, kept as a work clock: a
request arriving at `a` on node j completes at a + W_j(a) + 1/mu, where W_j is the work queued
in front of it, so queueing needs no events of its own and one attempt costs one event (its
reply or its timeout, whichever its session sees first). Background presence operations of
linked sessions enter that same clock as a deterministic fluid stream (rate = linked sessions
on the node x presence_ops_per_session) rather than millions of single operations.

Timing rules beyond the real system's: schedule changes (lockups, operator actions) and the
memory check act at the fluid engine's step boundaries (dt_s), so both engines see the same
schedule; every presence request, reply, timeout, backoff and admission is at its exact time.
A retry waits at least MIN_WAIT_S (a zero backoff would otherwise spin on a full in-flight
semaphore without time passing).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import polars as pl
from numba import njit

from incidentlab.errors import ScenarioError
from incidentlab.model.columns import RECORD
from incidentlab.model.engine import _as_scenario, _faulty_node_timeline, steps
from incidentlab.model.outcome import Run, outcomes_from_record
from incidentlab.model.params import JITTERS, Params
from incidentlab.model.scenario import Scenario

MAX_USERS = 100_000  # above this a run takes too long: use Scenario.scaled()
MAX_SESSION_STEPS = 1e9  # users x steps: the per-step bookkeeping visits every session
MAX_EVENTS = 30_000_000  # some 10-20 s: beyond it a run is refused, not left to hang
STATS = np.zeros(1, np.int64)  # events of the last run (benchmarks read it)
MIN_WAIT_S = 1e-3
KB_PER_GB = 1e6
# what _record computes, in its order; written to the record at the engine's column positions
QUANTITIES = ("users_connected", "users_stalled", "users_reconnecting", "users_offline",
              "session_nodes_up", "node_memory_max_gb", "node_memory_mean_gb",
              "presence_offered_ops", "presence_capacity_ops", "presence_goodput_ops",
              "presence_queue", "reconnect_attempts", "events_produced", "events_delivered",
              "events_dropped", "events_lost", "events_buffered", "crashes", "users_unlinked",
              "presence_demand_ops")
# the sample's states, in code order (code = index)
STATES = ("linked", "waiting to retry", "request in flight", "crashed", "reconnecting",
          "offline")


class Sessions(NamedTuple):
    """Per-session state (one array element per user; node < 0 means no session)."""

    node: np.ndarray  # session node, -1 without a session
    pnode: np.ndarray  # presence node it is linked to, -1 if unlinked
    ready: np.ndarray  # 1 once linked at least once (or fast-fail): connected
    inflight: np.ndarray  # 1 while a link request is out
    fails: np.ndarray  # failed link attempts since the last link
    prev: np.ndarray  # previous wait (decorrelated jitter)
    epoch: np.ndarray  # bumped to cancel the session's scheduled event
    req_node: np.ndarray  # presence node of the request in flight
    sent_at: np.ndarray  # when that request was sent
    req_slot: np.ndarray  # its place in the node's queue (cancel_abandoned only)
    stall_mark: np.ndarray  # E(t) when its buffer started filling
    acct: np.ndarray  # E(t) up to which its produced events are counted
    client_level: np.ndarray  # refusals of its client since its session ended
    cprev: np.ndarray  # previous client wait (decorrelated jitter)
    crashed: np.ndarray  # 1 if its last session ended in an out-of-memory crash


class Presence(NamedTuple):
    """Per presence node: the FIFO as a work clock plus the completion times of queued requests."""

    work: np.ndarray  # seconds of work queued at `clock`
    clock: np.ndarray  # node time the work clock was last advanced to
    arrived: np.ndarray  # ops arrived so far (background fluid + requests)
    lam: np.ndarray  # background ops/s arriving now
    up: np.ndarray  # 1 while it answers
    down_at: np.ndarray  # when it stopped answering
    ring: np.ndarray  # (nodes, cap) completion times of queued requests, FIFO
    head: np.ndarray
    tail: np.ndarray
    # cancel_abandoned only: who queued each request, the node's cancelled work when it came,
    # and a service process that hands replies out at the head of the queue
    ring_s: np.ndarray  # (nodes, cap) session of the request
    ring_e: np.ndarray  # (nodes, cap) that session's epoch when it sent it
    ring_k: np.ndarray  # (nodes, cap) cancelled[j] when it arrived
    ring_x: np.ndarray  # (nodes, cap) 1 once cancelled
    cancelled: np.ndarray  # seconds of work cancelled so far
    nepoch: np.ndarray  # bumped to cancel the node's scheduled head event
    busy: np.ndarray  # 1 while a head event is scheduled
    served: np.ndarray  # requests served this step


class Heap(NamedTuple):
    """A binary min-heap of events: time, session, epoch, kind."""

    t: np.ndarray
    s: np.ndarray
    e: np.ndarray
    k: np.ndarray
    n: np.ndarray  # n[0] = size


RETRY, REPLY, TIMEOUT, CLIENT, HEAD = 0, 1, 2, 3, 4  # event kinds (HEAD: s is a node)
NO_EVENT, FULL_REBOOT, RESTART_PRESENCE, IGNORE_PRESENCE = 0, 1, 2, 3  # operator events


def simulate(scenario: Scenario | Params, seed: int = 0) -> Run:
    """Run one scenario with every session as an agent -> Run (fluid engine's columns)."""
    return _simulate(scenario, seed, 0)[0]


def simulate_with_sessions(scenario: Scenario | Params, seed: int = 0,
                           sample: int = 40) -> tuple[Run, pl.DataFrame]:
    """The run plus the state of `sample` sessions (evenly spread over the users) at every
    step: a frame (t_s, session, node, state, stalled); state is one of STATES, node is -1
    without a session, stalled marks a ready session without its presence link."""
    if sample < 1:
        raise ScenarioError(f"simulate_with_sessions() needs sample >= 1, got {sample}")
    run, states, nodes, ids = _simulate(scenario, seed, sample)
    T, M = states.shape
    code = states.reshape(-1).astype(np.int64)
    frame = pl.DataFrame({
        "t_s": np.repeat(np.arange(T) * run.scenario.params.dt_s, M),
        "session": np.tile(ids, T),
        "node": nodes.reshape(-1),
        "state": np.array(STATES)[code],
        "stalled": np.isin(code, (1, 2)),
    })
    return run, frame


def band(scenario: Scenario, seeds: int = 10, lo: float = 0.1,
         hi: float = 0.9) -> pl.DataFrame:
    """Run `seeds` seeds; per timeline column its lo/median/hi quantiles over seeds per step:
    t_s, then <column>_lo, <column>_median, <column>_hi."""
    if seeds < 1:
        raise ScenarioError(f"band() needs seeds >= 1, got {seeds}")
    runs = [simulate(scenario, seed=s).timeline for s in range(seeds)]
    stack = {c: np.stack([r[c].to_numpy() for r in runs]) for c in runs[0].columns
             if c not in ("t_s", "time")}
    out = {"t_s": runs[0]["t_s"]}
    for c, a in stack.items():
        out[f"{c}_lo"] = np.quantile(a, lo, axis=0)
        out[f"{c}_median"] = np.quantile(a, 0.5, axis=0)
        out[f"{c}_hi"] = np.quantile(a, hi, axis=0)
    return pl.DataFrame(out)


# -- set up, run, record -------------------------------------------------------------------

def _knobs(p: Params) -> np.ndarray:
    inflight = -1.0 if p.inflight_limit is None else float(p.inflight_limit)
    limit = -1.0 if p.buffer_limit is None else float(p.buffer_limit)
    return np.array([
        p.presence_capacity, p.presence_ops_per_session, p.session_base_kb, p.event_kb,
        p.node_memory_gb * KB_PER_GB, float(p.fast_fail), inflight, limit,
        float(("unbounded", "drop-oldest", "disconnect").index(p.buffer_policy)),
        p.session_restart_s, p.dt_s, p.rpc_timeout_s,
        p.presence_rtt_s / 2, float(p.cancel_abandoned),
        p.reconnect_base_s, p.reconnect_cap_s, float(JITTERS.index(p.reconnect_jitter)),
        p.client_reconnect_base_s, p.client_reconnect_cap_s,
        float(JITTERS.index(p.client_reconnect_jitter)), p.link_cost_ops,
    ])


(MU, BG, BASE_KB, EVENT_KB, MEM_KB, FF, INFL, BUFL, POLICY, RESTART, DT, TAU, HALF_RTT, CANCEL,
 RB, RC, RJ, CB, CC, CJ, LINK) = range(21)


def _schedule(sc: Scenario, T: int):
    """Per step: operator event, admission limit (per s, -1 none), faulty node answering; and
    the send fraction as breakpoints (times, fractions) for the cumulative event curve E(t)."""
    p, dt = sc.params, sc.params.dt_s
    event = np.zeros(T, np.int64)
    limit = np.full(T, -1.0 if p.connect_rate_limit is None else p.connect_rate_limit)
    bt, bs = [0.0], [1.0]
    for a in sc.actions:
        k = min(T - 1, max(0, round(a.t_s / dt)))
        if a.kind in ("disable_sending", "enable_sending"):
            bt.append(k * dt)
            bs.append(p.sending_disabled_event_fraction if a.kind == "disable_sending" else 1.0)
        elif a.kind == "set_connect_rate_limit":
            limit[k:] = -1.0 if a.value is None else a.value
        elif a.kind == "full_reboot":
            event[k] = FULL_REBOOT
        elif a.kind == "restart_presence":
            event[k] = RESTART_PRESENCE
        elif a.kind == "ignore_presence":
            event[k] = IGNORE_PRESENCE
    return event, limit, _faulty_node_timeline(sc, T), np.array(bt), np.array(bs)


def _check_size(p: Params) -> None:
    if p.users * steps(p) > MAX_SESSION_STEPS:
        raise ScenarioError(
            f"the agents engine visits every session every step; users x steps = "
            f"{p.users:,} x {steps(p):,} is above {MAX_SESSION_STEPS:.0e}; accepted: fewer "
            "users (scenario.scaled(factor)), a shorter horizon_s or a longer dt_s")
    if p.users > MAX_USERS:
        raise ScenarioError(
            f"the agents engine simulates every session; users={p.users:,} is above its "
            f"{MAX_USERS:,}; accepted: users <= {MAX_USERS:,}, e.g. scenario.scaled("
            f"{MAX_USERS / 20 / p.users:.2g}) (the fluid outcome is unchanged by scaled())")


def _simulate(x: Scenario | Params, seed: int, sample: int):
    sc = _as_scenario(x)
    p = sc.params
    _check_size(p)
    T, S, P, U = steps(p), p.session_nodes, p.presence_nodes, p.users
    event, limit, faulty_up, bt, bs = _schedule(sc, T)
    ramp = np.linspace(1.0, -1.0, S) if S > 1 else np.zeros(1)
    weight = 1.0 + p.session_load_spread * ramp
    weight /= weight.sum()
    exact = U * weight
    count = np.floor(exact).astype(np.int64)
    count[np.argsort(count - exact)[: U - count.sum()]] += 1  # largest remainders
    home = np.repeat(np.arange(S), count)
    ids = np.unique(np.linspace(0, U - 1, max(sample, 1)).round().astype(np.int64))
    if sample <= 0:
        ids = ids[:0]
    cap = 1 << 14
    hcap = 4 * U + 64
    while True:
        ss = Sessions(home.copy(), np.full(U, -1, np.int64), np.ones(U, np.int8),
                      np.zeros(U, np.int8), np.zeros(U, np.int64), np.zeros(U),
                      np.zeros(U, np.int64), np.full(U, -1, np.int64), np.zeros(U),
                      np.zeros(U, np.int64), np.zeros(U), np.zeros(U),
                      np.zeros(U, np.int64), np.zeros(U),
                      np.zeros(U, np.int8))
        pr = Presence(np.zeros(P), np.zeros(P), np.zeros(P), np.zeros(P), np.ones(P, np.int8),
                      np.zeros(P), np.zeros((P, cap)), np.zeros(P, np.int64),
                      np.zeros(P, np.int64), np.zeros((P, cap), np.int64),
                      np.zeros((P, cap), np.int64), np.zeros((P, cap)),
                      np.zeros((P, cap), np.int8), np.zeros(P), np.zeros(P, np.int64),
                      np.zeros(P, np.int8), np.zeros(P))
        hp = Heap(np.zeros(hcap), np.zeros(hcap, np.int64), np.zeros(hcap, np.int64),
                  np.zeros(hcap, np.int64), np.zeros(1, np.int64))
        record = np.zeros((T, len(RECORD.names)))
        pos = np.array([RECORD.names.index(q) for q in QUANTITIES], np.int64)
        states = np.zeros((T, len(ids)), np.int8)
        nodes = np.zeros((T, len(ids)), np.int64)
        status = _run(ss, pr, hp, _knobs(p), weight, event, limit, faulty_up, bt, bs,
                      p.event_rate, seed, record, pos, ids, states, nodes, STATS)
        if status == 0:
            break
        if status == 3:
            raise ScenarioError(
                f"the agents engine stopped after {MAX_EVENTS:,} events: sessions retry too "
                f"often (reconnect_base_s={p.reconnect_base_s}, inflight_limit="
                f"{p.inflight_limit}); accepted: a backoff base of at least 0.01 s when an "
                "in-flight limit turns retries away, or fewer users (scenario.scaled())")
        if status == 1:
            cap *= 4
        else:
            hcap *= 2
    named = np.zeros(T, RECORD)
    for i, name in enumerate(RECORD.names):
        named[name] = record[:, i]
    outcome = outcomes_from_record([sc], [named])[0]
    return Run(scenario=sc, record=named, outcome=outcome), states, nodes, ids


# -- the compiled event loop ---------------------------------------------------------------

@njit(cache=True)
def _push(hp, t, s, e, k):
    n = hp.n[0]
    if n >= hp.t.shape[0]:
        return False
    i = n
    hp.n[0] = n + 1
    while i > 0:
        parent = (i - 1) >> 1
        if hp.t[parent] <= t:
            break
        hp.t[i], hp.s[i], hp.e[i], hp.k[i] = hp.t[parent], hp.s[parent], hp.e[parent], \
            hp.k[parent]
        i = parent
    hp.t[i], hp.s[i], hp.e[i], hp.k[i] = t, s, e, k
    return True


@njit(cache=True)
def _pop(hp):
    t, s, e, k = hp.t[0], hp.s[0], hp.e[0], hp.k[0]
    n = hp.n[0] - 1
    hp.n[0] = n
    lt, ls, le, lk = hp.t[n], hp.s[n], hp.e[n], hp.k[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and hp.t[c + 1] < hp.t[c]:
            c += 1
        if hp.t[c] >= lt:
            break
        hp.t[i], hp.s[i], hp.e[i], hp.k[i] = hp.t[c], hp.s[c], hp.e[c], hp.k[c]
        i = c
    if n > 0:
        hp.t[i], hp.s[i], hp.e[i], hp.k[i] = lt, ls, le, lk
    return t, s, e, k


@njit(cache=True)
def _wait(jitter, base, cap, k, prev):
    """A backoff wait after failure k (0-based): none min(cap, base 2^k); full U(0, that);
    equal that/2 + U(0, that/2); decorrelated min(cap, U(base, 3 prev))."""
    c = min(cap, base * 2.0 ** min(k, 60))
    if jitter == 0:
        w = c
    elif jitter == 1:
        w = np.random.random() * c
    elif jitter == 2:
        w = c / 2 + np.random.random() * c / 2
    else:
        w = min(cap, base + np.random.random() * (3 * prev - base))
    return max(w, MIN_WAIT_S)


@njit(cache=True)
def _advance(pr, j, tn, mu):
    """Move node j's work clock to node time tn: work drains at 1 s/s and background fluid
    adds lam/mu s/s (a node that does not answer is frozen)."""
    dtn = tn - pr.clock[j]
    if dtn <= 0:
        return
    if pr.up[j] > 0:
        pr.arrived[j] += pr.lam[j] * dtn
        pr.work[j] = max(0.0, pr.work[j] + (pr.lam[j] / mu - 1.0) * dtn)
    pr.clock[j] = tn


@njit(cache=True)
def _E(t, bt, bs, rate):
    """Events sent to one ready session by time t (the send fraction is piecewise constant)."""
    total = 0.0
    for m in range(bt.shape[0]):
        end = bt[m + 1] if m + 1 < bt.shape[0] else math.inf
        if t <= bt[m]:
            break
        total += bs[m] * (min(t, end) - bt[m])
    return total * rate


@njit(cache=True)
def _unlink(ss, pr, i, tn, k):
    j = ss.pnode[i]
    if j >= 0:
        _advance(pr, j, tn, k[MU])
        pr.lam[j] = max(pr.lam[j] - k[BG], 0.0)
        ss.pnode[i] = -1


@njit(cache=True)
def _fail(ss, hp, i, t, k):
    """A link attempt failed: back off (wait drawn for failure number `fails`), then retry."""
    w = _wait(int(k[RJ]), k[RB], k[RC], ss.fails[i], ss.prev[i] if ss.fails[i] > 0 else k[RB])
    ss.prev[i] = w
    ss.fails[i] += 1
    ss.epoch[i] += 1
    return _push(hp, t + w, i, ss.epoch[i], RETRY)


@njit(cache=True)
def _end_session(ss, pr, hp, i, t, k, used, crashed, Et, acc):
    """Session i ends at t: its buffer is lost (crash) or dropped; its client reconnects after
    client backoff. A request it left in a queue stays there and is still served."""
    s = ss.node[i]
    if ss.inflight[i] > 0:
        used[s] -= 1
        ss.inflight[i] = 0
    _unlink(ss, pr, i, t + k[HALF_RTT], k)
    if ss.ready[i] > 0:
        acc[0] += Et - ss.acct[i]  # produced
        buf = _buffer(ss, i, Et, k)
        if buf > 0:
            if crashed:
                acc[3] += buf
            else:
                acc[2] += buf
    ss.node[i] = -1
    ss.ready[i] = 0
    ss.crashed[i] = 1 if crashed else 0
    ss.client_level[i] = 0
    w = _wait(int(k[CJ]), k[CB], k[CC], 0, k[CB])
    ss.cprev[i] = w
    ss.epoch[i] += 1
    return _push(hp, t + w, i, ss.epoch[i], CLIENT)


@njit(cache=True)
def _buffer(ss, i, Et, k):
    """Events buffered by session i now (0 when linked, pending or fast-fail)."""
    if ss.pnode[i] >= 0 or ss.ready[i] == 0 or k[FF] > 0:
        return 0.0
    raw = Et - ss.stall_mark[i]
    if k[BUFL] >= 0 and k[POLICY] == 1:
        return min(raw, k[BUFL])
    return raw


@njit(cache=True)
def _clear_queues(pr, t, k):
    for j in range(pr.work.shape[0]):
        _advance(pr, j, t + k[HALF_RTT], k[MU])
        pr.arrived[j] -= pr.work[j] * k[MU]
        pr.work[j] = 0.0
        pr.head[j] = pr.tail[j]
        pr.nepoch[j] += 1
        pr.busy[j] = 0


@njit(cache=True)
def _run(ss, pr, hp, k, weight, event, limit, faulty_up, bt, bs, rate, seed, rec, pos, ids,
         states, nodes, stats):
    """Returns 0 when done, 1 if a presence ring overflowed, 2 if the heap did (retry larger),
    3 if it ran past MAX_EVENTS."""
    np.random.seed(seed)
    U, P, S, T = ss.node.shape[0], pr.work.shape[0], weight.shape[0], rec.shape[0]
    cap = pr.ring.shape[1]
    mu, dt, tau, h = k[MU], k[DT], k[TAU], k[HALF_RTT]
    ignoring = False  # operators: 'ignore the presence cluster for the time being'
    ff = k[FF] > 0
    inflight_limit = int(k[INFL])
    used = np.zeros(S, np.int64)
    node_up = np.ones(S, np.int8)
    restart_at = np.full(S, math.inf)
    acc = np.zeros(4)  # produced, (unused), dropped, lost
    node_sessions = np.zeros(S)
    node_buf = np.zeros(S)
    served0 = np.zeros(P)
    row = np.zeros(pos.shape[0])
    answering = np.zeros(P, np.int64)
    faulty = P - 1
    # everyone starts linked; each session node's sessions split evenly over the presence
    # nodes from a random offset (at full scale the shares are even to a few in 10^3; a plain
    # random draw at 100 sessions a node would stall 44 on the worst node instead of 33)
    offset = np.random.randint(0, P, S)
    rank = np.zeros(S, np.int64)
    for i in range(U):
        s = ss.node[i]
        j = (offset[s] + rank[s]) % P
        rank[s] += 1
        ss.pnode[i] = j
        pr.lam[j] += k[BG]
    tokens, token_t = 0.0, 0.0
    events = 0
    prev_up = 1.0
    for step in range(T):
        t0 = step * dt
        te = t0 + dt
        ff = k[FF] > 0 or ignoring
        crashes = 0.0
        attempts = 0.0
        sent = 0.0
        links = 0.0
        # -- the schedule, at the start of the step
        if event[step] == FULL_REBOOT:
            Et = _E(t0, bt, bs, rate)
            for i in range(U):
                if ss.node[i] >= 0 and not _end_session(ss, pr, hp, i, t0, k, used, False, Et,
                                                        acc):
                    return 2
            for s in range(S):
                node_up[s] = 1
                restart_at[s] = math.inf
                used[s] = 0
            _clear_queues(pr, t0, k)
            ignoring, ff = False, k[FF] > 0
        elif event[step] == IGNORE_PRESENCE:  # sessions deliver without presence, buffers too
            ignoring, ff = True, True
            Et = _E(t0, bt, bs, rate)
            for i in range(U):
                if ss.node[i] >= 0 and ss.ready[i] > 0 and ss.pnode[i] < 0:
                    ss.stall_mark[i] = Et
        elif event[step] == RESTART_PRESENCE:
            ignoring, ff = False, k[FF] > 0
            _clear_queues(pr, t0, k)
            Et = _E(t0, bt, bs, rate)
            for i in range(U):
                if ss.node[i] < 0:
                    continue
                if ss.pnode[i] >= 0:
                    _unlink(ss, pr, i, t0 + h, k)
                    ss.stall_mark[i] = Et
                    ss.fails[i] = 0
                    if not _fail(ss, hp, i, t0, k):
                        return 2
                elif ss.inflight[i] > 0:
                    used[ss.node[i]] -= 1
                    ss.inflight[i] = 0
                    if not _fail(ss, hp, i, t0, k):
                        return 2
        if faulty_up[step] != prev_up:
            _advance(pr, faulty, t0 + h, mu)
            if faulty_up[step] == 0:  # lockup: it serves nothing, its links are lost
                pr.up[faulty] = 0
                pr.down_at[faulty] = t0 + h
                pr.nepoch[faulty] += 1
                pr.busy[faulty] = 0
                Et = _E(t0, bt, bs, rate)
                for i in range(U):
                    if ss.node[i] < 0:
                        continue
                    if ss.pnode[i] == faulty:
                        _unlink(ss, pr, i, t0 + h, k)
                        ss.stall_mark[i] = Et
                        ss.fails[i] = 0
                        if not _fail(ss, hp, i, t0, k):
                            return 2
                    elif ss.inflight[i] > 0 and ss.req_node[i] == faulty:
                        ss.epoch[i] += 1  # its reply never comes: it times out
                        if not _push(hp, ss.sent_at[i] + tau, i, ss.epoch[i], TIMEOUT):
                            return 2
            else:  # back: the frozen queue resumes where it stopped
                down = t0 + h - pr.down_at[faulty]
                for q in range(pr.head[faulty], pr.tail[faulty]):
                    pr.ring[faulty, q % cap] += down
                pr.up[faulty] = 1
                if k[CANCEL] > 0:
                    _resume(pr, ss, faulty, t0, k)
                    if not _next_head(pr, hp, faulty, h):
                        return 2
            prev_up = faulty_up[step]
        for s in range(S):  # crashed session nodes come back, empty
            if restart_at[s] <= t0 + 1e-9:
                node_up[s] = 1
                restart_at[s] = math.inf
        na = 0
        for j in range(P):
            if pr.up[j] > 0:
                answering[na] = j
                na += 1
        up_total = 0.0
        for s in range(S):
            up_total += weight[s] * node_up[s]
        for j in range(P):
            _advance(pr, j, t0 + h, mu)
            served0[j] = pr.arrived[j] - pr.work[j] * mu
        # -- the events of this step, in time order
        while hp.n[0] > 0 and hp.t[0] < te:
            t, i, e, kind = _pop(hp)
            events += 1
            if events > MAX_EVENTS:
                return 3
            if kind == HEAD:  # node i serves the request at its head
                if e == pr.nepoch[i] and not _serve_head(pr, ss, hp, i, t, k):
                    return 2
                continue
            if e != ss.epoch[i]:
                continue
            if kind == CLIENT:
                if limit[step] >= 0:
                    burst = max(1.0, limit[step] * dt)  # the fluid admits limit x dt a step
                    tokens = min(burst, tokens + limit[step] * (t - token_t))
                    token_t = t
                if up_total <= 0 or (limit[step] >= 0 and tokens < 1.0):
                    ss.client_level[i] += 1
                    w = _wait(int(k[CJ]), k[CB], k[CC], ss.client_level[i], ss.cprev[i])
                    ss.cprev[i] = w
                    ss.epoch[i] += 1
                    if not _push(hp, t + w, i, ss.epoch[i], CLIENT):
                        return 2
                    continue
                if limit[step] >= 0:
                    tokens -= 1.0
                s = _pick_node(weight, node_up, np.random.random() * up_total)
                ss.node[i] = s
                ss.pnode[i] = -1
                ss.fails[i] = 0
                ss.client_level[i] = 0
                ss.crashed[i] = 0
                if ff:  # fast-fail: ready at once, without presence data
                    ss.ready[i] = 1
                    ss.acct[i] = _E(t, bt, bs, rate)
                    ss.stall_mark[i] = ss.acct[i]
                else:
                    ss.ready[i] = 0
                kind = RETRY  # and it asks for its first link now
            if kind == RETRY:
                s = ss.node[i]
                attempts += 1
                if inflight_limit >= 0 and used[s] >= inflight_limit:
                    if not _fail(ss, hp, i, t, k):  # no slot: fails locally at once
                        return 2
                    continue
                used[s] += 1
                j = answering[np.random.randint(0, na)]
                tn = t + h
                _advance(pr, j, tn, mu)
                done = tn + pr.work[j] + k[LINK] / mu  # a link request's service
                pr.work[j] += k[LINK] / mu
                pr.arrived[j] += 1.0
                if pr.tail[j] - pr.head[j] >= cap:
                    return 1
                slot = pr.tail[j] % cap
                pr.ring[j, slot] = done
                pr.tail[j] += 1
                sent += 1
                ss.inflight[i] = 1
                ss.req_node[i] = j
                ss.sent_at[i] = t
                ss.epoch[i] += 1
                if k[CANCEL] > 0:  # the head process decides when it is served
                    pr.ring_s[j, slot] = i
                    pr.ring_e[j, slot] = ss.epoch[i]
                    pr.ring_k[j, slot] = pr.cancelled[j]
                    pr.ring_x[j, slot] = 0
                    ss.req_slot[i] = pr.tail[j] - 1
                    ok = _push(hp, t + tau, i, ss.epoch[i], TIMEOUT)
                    if pr.busy[j] == 0:
                        ok = ok and _next_head(pr, hp, j, h)
                elif done + h <= t + tau:
                    ok = _push(hp, done + h, i, ss.epoch[i], REPLY)
                else:
                    ok = _push(hp, t + tau, i, ss.epoch[i], TIMEOUT)
                if not ok:
                    return 2
            elif kind == REPLY:
                used[ss.node[i]] -= 1
                ss.inflight[i] = 0
                j = ss.req_node[i]
                _advance(pr, j, t + h, mu)
                pr.lam[j] += k[BG]
                ss.pnode[i] = j
                links += 1
                Et = _E(t, bt, bs, rate)
                if ss.ready[i] == 0:
                    ss.ready[i] = 1
                    ss.acct[i] = Et
                elif not ff and k[BUFL] >= 0 and k[POLICY] == 1:
                    acc[2] += max(Et - ss.stall_mark[i] - k[BUFL], 0.0)
                ss.fails[i] = 0
            elif kind == TIMEOUT:
                used[ss.node[i]] -= 1
                ss.inflight[i] = 0
                if k[CANCEL] > 0 and not _cancel(pr, ss, hp, i, t, k):
                    return 2
                if not _fail(ss, hp, i, t, k):
                    return 2
        # -- end of the step: buffers, memory, crashes, record
        Et = _E(te, bt, bs, rate)
        node_sessions[:] = 0.0
        node_buf[:] = 0.0
        for i in range(U):
            s = ss.node[i]
            if s < 0:
                continue
            if ss.ready[i] > 0:
                acc[0] += Et - ss.acct[i]
                ss.acct[i] = Et
                if ignoring and ss.pnode[i] < 0:  # delivered without presence: no buffer
                    ss.stall_mark[i] = Et
                if ss.pnode[i] < 0 and not ff and k[BUFL] >= 0:
                    raw = Et - ss.stall_mark[i]
                    if raw > k[BUFL] and k[POLICY] == 1:  # drop-oldest
                        acc[2] += raw - k[BUFL]
                        ss.stall_mark[i] = Et - k[BUFL]
                    elif raw >= k[BUFL] and k[POLICY] == 2:  # disconnect
                        if not _end_session(ss, pr, hp, i, te, k, used, False, Et, acc):
                            return 2
                        continue
            node_sessions[s] += 1.0
            node_buf[s] += _buffer(ss, i, Et, k)
        for s in range(S):  # out of memory: crash
            if node_up[s] > 0 and node_sessions[s] * k[BASE_KB] + node_buf[s] * k[EVENT_KB] \
                    > k[MEM_KB]:
                for i in range(U):
                    if ss.node[i] == s and not _end_session(ss, pr, hp, i, te, k, used, True,
                                                            Et, acc):
                        return 2
                node_up[s] = 0
                used[s] = 0
                node_sessions[s] = 0.0
                node_buf[s] = 0.0
                restart_at[s] = te + k[RESTART]
                crashes += 1
        _record(row, ss, pr, k, ff, node_up, node_sessions, node_buf, acc, served0, te,
                attempts, sent, links, ids, states[step], nodes[step])
        row[17] = crashes
        for m in range(pos.shape[0]):
            rec[step, pos[m]] = row[m]
    stats[0] = events
    return 0


@njit(cache=True)
def _pick_node(weight, node_up, r):
    """The up session node in whose share of the up weight r falls."""
    last = -1
    for s in range(weight.shape[0]):
        if node_up[s] > 0:
            last = s
            r -= weight[s]
            if r < 0:
                return s
    return last


@njit(cache=True)
def _cancel(pr, ss, hp, i, t, k):
    """cancel_abandoned: session i's request leaves its queue if it has not started service.
    Sessions abandon in the order they sent, so the queue in front of it is one busy stretch:
    every request behind it is served exactly 1/mu sooner (kept as cancelled[j])."""
    j, q = ss.req_node[i], ss.req_slot[i]
    cap = pr.ring.shape[1]
    mu, h = k[MU], k[HALF_RTT]
    if pr.up[j] == 0 or q < pr.head[j] or q >= pr.tail[j]:
        return True
    slot = q % cap
    if pr.ring_e[j, slot] != ss.epoch[i] or pr.ring_x[j, slot] > 0:
        return True
    done = pr.ring[j, slot] - (pr.cancelled[j] - pr.ring_k[j, slot])
    svc = k[LINK] / mu
    if done - svc <= t + h:  # already in service: it costs its work
        return True
    _advance(pr, j, t + h, mu)
    pr.work[j] = max(pr.work[j] - svc, 0.0)
    pr.arrived[j] -= 1.0
    pr.cancelled[j] += svc
    pr.ring_x[j, slot] = 1
    if q == pr.head[j]:  # it was next: the head event moves
        pr.nepoch[j] += 1
        pr.busy[j] = 0
        return _next_head(pr, hp, j, h)
    return True


@njit(cache=True)
def _next_head(pr, hp, j, h):
    """Drop cancelled requests at the head of node j's queue; schedule the next completion."""
    cap = pr.ring.shape[1]
    while pr.head[j] < pr.tail[j] and pr.ring_x[j, pr.head[j] % cap] > 0:
        pr.head[j] += 1
    if pr.head[j] >= pr.tail[j] or pr.up[j] == 0:
        pr.busy[j] = 0
        return True
    slot = pr.head[j] % cap
    done = pr.ring[j, slot] - (pr.cancelled[j] - pr.ring_k[j, slot])
    pr.busy[j] = 1
    return _push(hp, done - h, j, pr.nepoch[j], HEAD)


@njit(cache=True)
def _serve_head(pr, ss, hp, j, t, k):
    """Node j finishes the request at its head (node time t + h): its session gets the reply
    half a round trip later if it is still waiting by then."""
    cap, h = pr.ring.shape[1], k[HALF_RTT]
    slot = pr.head[j] % cap
    i, e = pr.ring_s[j, slot], pr.ring_e[j, slot]
    pr.head[j] += 1
    pr.served[j] += 1.0
    pr.busy[j] = 0
    if e == ss.epoch[i] and ss.inflight[i] > 0 and t + 2 * h <= ss.sent_at[i] + k[TAU]:
        ss.epoch[i] += 1  # the reply wins over the timeout
        if not _push(hp, t + 2 * h, i, ss.epoch[i], REPLY):
            return False
    return _next_head(pr, hp, j, h)


@njit(cache=True)
def _resume(pr, ss, j, t0, k):
    """cancel_abandoned: a node back from a lockup drops the requests abandoned meanwhile and
    serves the rest in order from now."""
    cap, mu, h, tau = pr.ring.shape[1], k[MU], k[HALF_RTT], k[TAU]
    queued = pr.tail[j] - pr.head[j]
    svc = k[LINK] / mu
    background = max(pr.work[j] - queued * svc, 0.0)
    live = 0
    for q in range(pr.head[j], pr.tail[j]):
        slot = q % cap
        i = pr.ring_s[j, slot]
        if pr.ring_x[j, slot] == 0 and pr.ring_e[j, slot] == ss.epoch[i] \
                and ss.sent_at[i] + tau > t0:
            live += 1
            pr.ring[j, slot] = t0 + h + background + live * svc
            pr.ring_k[j, slot] = pr.cancelled[j]
        else:
            pr.ring_x[j, slot] = 1
    pr.arrived[j] -= queued - live
    pr.work[j] = background + live * svc
    pr.clock[j] = t0 + h


@njit(cache=True)
def _record(row, ss, pr, k, ff, node_up, node_sessions, node_buf, acc, served0, te, attempts, sent,
            links, ids, states, nodes):
    mu, dt, h = k[MU], k[DT], k[HALF_RTT]
    U, S, P = ss.node.shape[0], node_up.shape[0], pr.work.shape[0]
    cap = pr.ring.shape[1]
    connected = stalled = pending = offline = refused = 0.0
    for i in range(U):
        if ss.node[i] >= 0:
            if ss.ready[i] == 0:
                pending += 1
            else:
                connected += 1
                if ss.pnode[i] < 0:
                    stalled += 1
        elif ss.client_level[i] == 0:
            offline += 1
        else:
            refused += 1
    top = mem = buf = up = 0.0
    for s in range(S):
        m = node_sessions[s] * k[BASE_KB] + node_buf[s] * k[EVENT_KB]
        top = max(top, m)
        mem += m * node_up[s]
        buf += node_buf[s]
        up += node_up[s]
    queue = demand = goodput = capacity = 0.0
    for j in range(P):
        _advance(pr, j, te + h, mu)
        popped = 0
        if k[CANCEL] > 0:  # the head process pops; cancelled requests are not queued
            popped = int(pr.served[j])
            pr.served[j] = 0.0
            for q in range(pr.head[j], pr.tail[j]):
                queue += 1 - pr.ring_x[j, q % cap]
        else:
            while pr.head[j] < pr.tail[j] and pr.ring[j, pr.head[j] % cap] <= te + h \
                    and pr.up[j] > 0:
                pr.head[j] += 1
                popped += 1
            queue += pr.tail[j] - pr.head[j]
        demand += pr.lam[j]
        if pr.up[j] > 0:
            capacity += mu
            if pr.work[j] < dt:  # keeping up: its background is served as it arrives
                goodput += pr.lam[j]
            else:  # backlogged: what it served this step, less the requests among it
                served = pr.arrived[j] - pr.work[j] * mu - served0[j] - popped
                goodput += min(max(served, 0.0), pr.lam[j] * dt) / dt
    produced, dropped, lost = acc[0], acc[2], acc[3]
    row[0] = connected
    row[1] = 0.0 if ff else stalled
    row[2] = pending + refused
    row[3] = offline
    row[4] = up
    row[5] = top / 1e6
    row[6] = mem / max(up, 1.0) / 1e6
    row[7] = demand + sent / dt
    row[8] = capacity
    row[9] = goodput + links / dt
    row[10] = queue
    row[11] = attempts / dt
    row[12] = produced
    row[13] = produced - dropped - lost - buf
    row[14] = dropped
    row[15] = lost
    row[16] = buf
    row[18] = stalled + pending
    row[19] = demand
    for m in range(ids.shape[0]):
        i = ids[m]
        nodes[m] = ss.node[i]
        states[m] = _sample_code(ss, i)


@njit(cache=True)
def _sample_code(ss, i):
    """Index into STATES: a new session waiting for its first link is reconnecting."""
    if ss.node[i] < 0:
        if ss.client_level[i] > 0:
            return 4
        return 3 if ss.crashed[i] > 0 else 5
    if ss.pnode[i] >= 0:
        return 0
    if ss.ready[i] == 0:
        return 4
    return 2 if ss.inflight[i] > 0 else 1
