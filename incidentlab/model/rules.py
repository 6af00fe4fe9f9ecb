"""The rules of the cluster model: one function per mechanism of the report, applied in order
by `step`. This is the one file to read to know what the model does.

The model counts; it never follows one session (a fluid, mean-field model), so a step costs the
same for 50 thousand or 50 million users. Its state has names (model/state.py):

- `Knobs` (one record): the scenario's constants, from Params.
- `Cluster` (one record): presence's queue head and in-flight requests, event counters.
- `Node` (one record per session node): sessions, stalled, pending, buffered events.
- The presence queue: one FIFO of every request, background operations and link requests
  alike, in arrival order. `Segment` j holds what arrived in step j: an instant's burst of
  link requests at its start (`atom`), then link requests and background operations spread
  over the step. Requests are served at the cluster's capacity; a link request served more
  than `rpc_timeout_s - presence_rtt_s` after it was sent has been abandoned by its session
  and links nothing, yet it cost the same service (unless clients cancel).
- Retries wait in rings, one lane per attempt level, in two forms: bursts that arrive at one
  instant (synchronised retries, the herd) and arrivals spread over a step (jittered ones).
  Every ring (and the queue's window of recent requests) has a power-of-two length R, so step
  t's slot is `t & (R - 1)`: t mod R without an integer division, a tenth of a step's time.

Times are exact within a step where it matters: a request is fresh or stale by its own arrival
and service time, an in-flight slot turns over once per round trip, a retry with a fixed wait
lands at its own time. So the step length `dt_s` changes the answers very little.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from numba import njit as _numba_njit

from incidentlab.model.backoff import ATOM, LATE, SPREAD
from incidentlab.model.state import (
    DISCONNECT,
    DROP_OLDEST,
    FULL_REBOOT,
    IGNORE_PRESENCE,
    RESTART_PRESENCE,
)


def njit(fn: Callable | str | None = None, **options: Any) -> Any:
    """numba's njit without reference counting (NRT): the model's compiled functions never
    allocate, and counting references to the World's arrays took a third of a step; with
    numpy's error model, as every division here is guarded (no ZeroDivisionError checks)."""
    options.setdefault("_nrt", False)
    options.setdefault("error_model", "numpy")
    return _numba_njit(**options) if fn is None else _numba_njit(fn, **options)


FRESH, STALE, SLIDING = 0, 1, 2  # how the head of presence's queue is served (see _piece)
_TINY = 1e-12


# -- one step ----------------------------------------------------------------------------

@njit
def step(t, w):
    """Apply every mechanism once, in order, for step t."""
    k, c, nodes, q, r, cl = w.knobs[0], w.cluster[0], w.nodes, w.queue, w.retries, w.clients
    c.crashes = 0.0
    if w.event[t] == FULL_REBOOT:
        full_reboot(t, c, nodes, q, r, cl)
    elif w.event[t] == RESTART_PRESENCE:
        restart_presence(t, c, q, r)
    elif w.event[t] == IGNORE_PRESENCE:
        ignore_presence(c, nodes)
    if w.loss[t] > 0:
        lose_links(t, nodes, r, w.loss[t])
    restart_nodes(t, k, c, nodes)
    time_out(t, k, c, q, r)
    new_atom, new_spread = admit_clients(t, k, c, nodes, cl, w.limit[t])
    unlinked = send_link_requests(t, k, c, nodes, q, r, w.capacity[t], new_atom, new_spread)
    links = serve_presence(t, k, c, q, w.capacity[t])
    full, over = update_nodes(k, c, nodes, w.send[t], links, unlinked)
    if full:
        disconnect_full_buffers(t, k, c, nodes, q, r, cl)
    if over:
        out_of_memory(t, k, c, nodes, q, r, cl)


# -- the mechanisms ------------------------------------------------------------------------

@njit
def lose_links(t, nodes, r, share):
    """'a server for one of the internal services (presence) ... disconnected from its other
    cluster members ... the nodes of another service (sessions) ... attempted a reconnection':
    `share` of the linked sessions stall at once and retry after their backoff."""
    for s in range(nodes.shape[0]):
        n = nodes[s]
        moved = (n.sessions - n.stalled - n.pending) * share
        n.stalled += moved
        r.lanes[0].fail_atoms += moved
    _move_up(r, 0)
    schedule_atoms(r, t, float(t), t, False)


@njit(inline="always")
def time_out(t, k, c, q, r):
    """A link request not answered within `rpc_timeout_s` is abandoned by its session, which
    backs off and retries. A burst times out together at its deadline; spread requests over
    the step their deadline falls in. Their in-flight slots are freed."""
    WQ = q.live.shape[0]
    for part in range(2):
        j = t - k.tq - part
        if j < 0:
            continue
        i = j & (WQ - 1)
        gone = q.live[i, part] + q.doomed[i, part]
        q.live[i, part], q.doomed[i, part] = 0.0, 0.0
        if gone <= 0:
            continue
        c.in_flight = max(c.in_flight - gone, 0.0)
        _fail_by_level(r, q.sent[i, part], gone, part)
        if part == 0:
            schedule_atoms(r, t, j + k.window / k.dt, t, False)
        else:
            schedule_spread(r, t - 1, t)


@njit(inline="always")
def admit_clients(t, k, c, nodes, cl, limit):
    """Clients whose backoff ended ask the gateway; at most `connect_rate_limit` per second are
    let in ('patches introduce limitations on connections'), the rest back off again. Admitted
    clients become new sessions on the nodes that are up, each needing a presence link before
    it is ready (with fast-fail it is ready at once). Returns new sessions (burst, spread)."""
    atoms, spread = _arrivals(cl, t)
    asked = atoms + spread
    if asked <= 0:
        return 0.0, 0.0
    admitted = min(asked, limit) if c.nodes_up > 0 else 0.0
    ok = admitted / asked
    R = cl.atoms.shape[0]
    for lvl in range(cl.lanes.shape[0]):
        lane = cl.lanes[lvl]
        came_a, came_s = cl.atoms[t & (R - 1), lvl], lane.level
        lane.waiting -= came_a + came_s
        lane.fail_atoms = came_a * (1.0 - ok)
        lane.fail_spread = came_s * (1.0 - ok)
        cl.atoms[t & (R - 1), lvl] = 0.0
    _move_up(cl, 0)
    _move_up(cl, 1)
    schedule_atoms(cl, t, float(t), t + 1, True)
    schedule_spread(cl, t, t + 1)
    ready = c.ignoring > 0 or k.fast_fail > 0  # 'fast-fail mechanism'
    for s in range(nodes.shape[0]):
        n = nodes[s]
        n.sessions += admitted * n.up_weight
        if ready:
            n.stalled += admitted * n.up_weight
        else:
            n.pending += admitted * n.up_weight
    return atoms * ok, spread * ok


@njit(inline="always")
def send_link_requests(t, k, c, nodes, q, r, capacity, new_atom, new_spread):
    """Unlinked sessions whose backoff ended, and new sessions, send a link request. With an
    in-flight limit ('a hard limit to the number of in-flight connections') a request that
    finds every slot of its node's semaphore taken fails at once, locally, and backs off. A
    slot is held for the request's round trip: `presence_rtt_s` plus its wait in the queue,
    at most until it is abandoned. Mean field: the semaphores add up over the nodes up.
    Returns the sessions still unlinked, which update_nodes shares the links among."""
    K, R, WQ = r.lanes.shape[0], r.atoms.shape[0], q.live.shape[0]
    i = t & (WQ - 1)
    slots = k.inflight * c.nodes_up
    # a burst at the step's first instant takes the free slots
    burst = new_atom
    for lvl in range(K):
        burst += max(r.atoms[t & (R - 1), lvl], 0.0)
    free = max(slots - c.in_flight, 0.0)
    ok = 1.0 if burst <= free else free / burst
    for lvl in range(K):
        came = max(r.atoms[t & (R - 1), lvl], 0.0)
        asking = came + (new_atom if lvl == 0 else 0.0)
        r.lanes[lvl].waiting -= came
        q.sent[i, 0, lvl] = asking * ok
        r.lanes[lvl].fail_atoms = asking - asking * ok
        r.atoms[t & (R - 1), lvl] = 0.0
    _move_up(r, 0)
    schedule_atoms(r, t, float(t), t + 1, False)
    c.in_flight += burst * ok
    # then the arrivals spread over the step: a slot turns over once per round trip
    spread = new_spread
    for lvl in range(K):
        r.lanes[lvl].level += r.spread[t & (R - 1), lvl]
        r.spread[t & (R - 1), lvl] = 0.0
        spread += max(r.lanes[lvl].level, 0.0)
    trip = k.rtt + min(queue_wait(c, capacity), k.window)
    turns = k.dt / max(trip, 1e-9)
    room = max(slots - c.in_flight, 0.0) * max(1.0, turns) + min(c.in_flight, slots) * turns
    ok = 1.0 if spread <= room else room / spread
    for lvl in range(K):
        came = max(r.lanes[lvl].level, 0.0)
        asking = came + (new_spread if lvl == 0 else 0.0)
        r.lanes[lvl].waiting -= came
        q.sent[i, 1, lvl] = asking * ok
        r.lanes[lvl].fail_spread = asking - asking * ok
    _move_up(r, 1)
    schedule_spread(r, t, t + 1)
    c.in_flight += spread * ok
    c.attempts = (burst + spread) / k.dt
    # into presence's queue, behind everything that came before
    linked = unlinked = 0.0
    for s in range(nodes.shape[0]):
        n = nodes[s]
        linked += n.sessions - n.stalled - n.pending
        unlinked += n.stalled + n.pending
    seg = q.segments[t]
    q.live[i, 0], q.live[i, 1] = q.sent[i, 0].sum(), q.sent[i, 1].sum()
    q.doomed[i, 0], q.doomed[i, 1] = 0.0, 0.0
    seg.atom = q.live[i, 0] * k.link_cost
    seg.link = q.live[i, 1] * k.link_cost
    seg.bg = linked * k.bg_ops * k.dt  # every linked session's background presence traffic
    c.positions += seg.atom + seg.link + seg.bg
    c.offered = (seg.atom + seg.link + seg.bg) / k.dt
    c.demand = linked * k.bg_ops
    return unlinked


@njit(inline="always")
def serve_presence(t, k, c, q, mu):
    """Presence serves its one queue first in, first out, at the capacity `mu` (ops/s) of the
    nodes that answer. A link request served within its window links its session; one served
    later was abandoned ('millions of processes reconnecting quickly overloaded the remaining
    presence servers'): it links nothing but costs the same service, the wasted work that
    keeps the overload going after its trigger. With `cancel_abandoned` it leaves the queue
    instead. Returns the links made."""
    dt, WQ = k.dt, q.live.shape[0]
    clock, links, served = 0.0, 0.0, 0.0
    for _ in range(100_000):  # each pass finishes a piece of the queue or the step's time
        j = c.head_step
        if mu <= 0 or clock >= dt * (1 - 1e-12) or j > t:
            break
        seg, i, part = q.segments[j], j & (WQ - 1), c.head_part
        size = seg.atom if part == 0 else seg.link + seg.bg
        rest = size - c.head_off
        if rest <= _TINY * (1.0 + size):
            if part == 0:
                c.head_part = 1
            else:
                c.head_step, c.head_part = j + 1, 0
            c.head_off = 0.0
            continue
        link_share = 1.0 if part == 0 else seg.link / size
        if part == 1 and j == t:  # arriving during this step: an idle server keeps up
            mode, n = FRESH, rest
        else:
            mode, n = _piece(t, j, part, size, c.head_off, clock, mu, link_share, k)
            n = min(n, rest)
        cost = 1.0 / mu  # seconds of service per work unit
        share = 1.0 if mode == FRESH else 0.0  # of the swept link requests, served in time
        if mode == STALE and k.cancel > 0:
            cost = (1.0 - link_share) / mu
        elif mode == SLIDING:
            cost = dt / size
            share = (mu * dt / size - (1.0 - link_share)) / link_share
        if cost > 0:
            n = min(n, (dt - clock) / cost)
        live = q.live[i, part]
        got = live * n * share / rest
        late = live * n * (1.0 - share) / rest
        q.live[i, part] = live - got - late
        q.doomed[i, part] += late
        links += got
        c.in_flight = max(c.in_flight - got, 0.0)
        served += n * (1.0 - link_share) + got * k.link_cost
        clock += n * cost
        c.head_off += n
        c.consumed += n
    c.goodput = served / dt
    return links



@njit(inline="always")
def _piece(t, j, part, size, off, clock, mu, link_share, k):
    """How the head of the queue is served next: (mode, work units). FRESH: in its window;
    STALE: abandoned (wasted work, or skipped when clients cancel); SLIDING: cancelling
    clients keep the head exactly at the window's edge."""
    dt = k.dt
    age = (t - j) * dt + clock  # of the segment's first arrival, now
    if part == 0:
        if age < k.window - 1e-9 * dt:
            return FRESH, (k.window - age) * mu
        return STALE, 1e300
    # spread arrivals: unit x arrived at j*dt + x*dt/size; g(x) = its age when served - window
    g = age - off * dt / size - k.window
    fresh_slope = 1.0 / mu - dt / size
    stale_slope = ((1.0 - link_share) if k.cancel > 0 else 1.0) / mu - dt / size
    eps = 1e-9 * dt
    if g < -eps or (g <= eps and fresh_slope <= 0):
        return FRESH, 1e300 if fresh_slope <= 0 else max(-g, 0.0) / fresh_slope
    if g <= eps and stale_slope < 0:  # only with cancelling clients
        return SLIDING, 1e300
    return STALE, 1e300 if stale_slope >= 0 else g / -stale_slope


@njit(inline="always")
def update_nodes(k, c, nodes, send, links, unlinked):
    """Links made go to each node's unlinked sessions in proportion (mean field); a stalled
    session that gets its link flushes its buffer to its client. Every ready session receives
    `event_rate` events/s; a linked one delivers them, a stalled one queues them 'in memory
    (an intended behavior of our sessions service)' unless fast-fail lets it deliver without
    presence data. Buffer policy drop-oldest keeps at most `buffer_limit` events a session.
    Returns (the disconnect policy finds a full buffer, a node up is over its memory)."""
    frac = min(links / unlinked, 1.0) if unlinked > 0 else 0.0
    per_session = k.event_rate * send * k.dt
    stalls = 0.0 if (k.fast_fail > 0 or c.ignoring > 0) else 1.0
    limit, policy = k.buf_limit, k.policy
    produced = delivered = dropped = 0.0  # summed here, stored once (the loop stays in registers)
    overflow = over = False
    for s in range(nodes.shape[0]):
        n = nodes[s]
        delivered += n.buffered * frac
        stalled_n = n.stalled * (1.0 - frac)
        pending = n.pending * (1.0 - frac)
        buffered = n.buffered * (1.0 - frac)
        ready = n.sessions - pending
        stalled = stalled_n * stalls
        produced += ready * per_session
        delivered += (ready - stalled) * per_session
        buffered += stalled * per_session
        excess = buffered - stalled_n * limit
        if excess > 0:
            if policy == DROP_OLDEST:
                buffered -= excess
                dropped += excess
            elif policy == DISCONNECT:
                overflow = True
        n.stalled, n.pending, n.buffered = stalled_n, pending, buffered
        over |= n.up > 0 and memory_kb(n, k) > k.mem_kb
    c.produced += produced
    c.delivered += delivered
    c.dropped += dropped
    return overflow, over


@njit
def disconnect_full_buffers(t, k, c, nodes, q, r, cl):
    """Buffer policy disconnect: a node's stalled sessions whose buffers are full are dropped;
    their clients reconnect."""
    for s in range(nodes.shape[0]):
        n = nodes[s]
        if n.stalled > 0 and n.buffered > n.stalled * k.buf_limit:
            end_sessions(t + 1, c, nodes, s, n.stalled, False, q, r, cl)


@njit(inline="always")
def memory_kb(n, k):
    """'Once the event queues on these session nodes reached a limit, they ran out of available
    memory and crashed': memory = sessions x session_base_kb + buffered events x event_kb."""
    return n.sessions * k.base_kb + n.buffered * k.event_kb


@njit(inline="always")
def out_of_memory(t, k, c, nodes, q, r, cl):
    """'members of the sessions cluster began to OOM (run out of memory) and crash': a node
    over its memory loses every session and buffered event, and comes back empty after
    `session_restart_s`."""
    for s in range(nodes.shape[0]):
        n = nodes[s]
        if n.up > 0 and memory_kb(n, k) > k.mem_kb:
            end_sessions(t + 1, c, nodes, s, n.sessions, True, q, r, cl)
            n.up = 0.0
            n.restart_at = (t + 1) * k.dt + k.restart_s
            c.next_restart = min(c.next_restart, n.restart_at)
            c.crashes += 1.0
    if c.crashes > 0:
        reweight(c, nodes)


@njit(inline="always")
def restart_nodes(t, k, c, nodes):
    """Crashed session nodes come back, empty, `session_restart_s` after their crash."""
    if t * k.dt < c.next_restart - 1e-9:
        return
    c.next_restart = math.inf
    for s in range(nodes.shape[0]):
        n = nodes[s]
        if n.restart_at <= t * k.dt + 1e-9:
            n.up, n.restart_at = 1.0, math.inf
        c.next_restart = min(c.next_restart, n.restart_at)
    reweight(c, nodes)


@njit
def end_sessions(first, c, nodes, s, count, lost, q, r, cl):
    """`count` sessions of node s end (a crash: everyone; the disconnect policy: the stalled
    ones) at the start of step `first`. Their buffered events are lost in a crash, dropped
    otherwise; their retries and requests leave with them (requests already queued stay, as
    orphans that still cost service); their clients reconnect after client backoff."""
    n = nodes[s]
    everyone = count >= n.sessions - 1e-9 * max(n.sessions, 1.0)
    gone_unlinked = n.stalled + n.pending if everyone else n.stalled
    unlinked = 0.0
    for i in range(nodes.shape[0]):
        unlinked += nodes[i].stalled + nodes[i].pending
    if unlinked > 0 and gone_unlinked > 0:
        keep = 1.0 - min(gone_unlinked / unlinked, 1.0)
        _scale(r.atoms, keep)
        _scale(r.spread, keep)
        for lvl in range(r.lanes.shape[0]):
            r.lanes[lvl].level *= keep
            r.lanes[lvl].waiting *= keep
        _scale(q.live, keep)
        _scale(q.doomed, keep)
        c.in_flight *= keep
    if lost:
        c.lost += n.buffered
    else:
        c.dropped += n.buffered
    n.sessions -= count
    n.stalled, n.buffered = 0.0, 0.0
    if everyone:
        n.sessions, n.pending = 0.0, 0.0
    cl.lanes[0].fail_atoms = count
    _move_up(cl, 0)
    schedule_atoms(cl, first, float(first), first, False)  # backoff from when they ended


@njit(inline="always")
def _scale(a, factor):
    """a *= factor, element by element (an array expression would allocate on every crash)."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[i, j] *= factor


@njit
def full_reboot(t, c, nodes, q, r, cl):
    """'the decision to fully "reboot" Discord': every session ends (buffers dropped on
    purpose), crashed nodes come back, presence restarts with an empty queue; every client
    reconnects through the gateway's admission limit."""
    for s in range(nodes.shape[0]):
        n = nodes[s]
        if n.sessions > 0:
            end_sessions(t, c, nodes, s, n.sessions, False, q, r, cl)
        n.up, n.restart_at = 1.0, math.inf
    c.next_restart = math.inf
    reweight(c, nodes)
    _empty_queue(t, c, q)
    c.ignoring = 0.0


@njit
def restart_presence(t, c, q, r):
    """'engineers attempt to reboot and recover the presence service, however this causes
    further issues within the sessions cluster': every link is lost (the schedule's loss), the
    queue is emptied and the requests in it fail and retry; sessions depend on presence again."""
    for i in range(q.live.shape[0]):
        for part in range(2):
            waiting = q.live[i, part] + q.doomed[i, part]
            if waiting > 0:
                _fail_by_level(r, q.sent[i, part], waiting, 0)
    schedule_atoms(r, t, float(t), t, False)
    _empty_queue(t, c, q)
    c.ignoring = 0.0


@njit
def ignore_presence(c, nodes):
    """'The decision is made to ignore the presence cluster for the time being, and work on
    correcting the state of sessions. For the most part, Discord functions for users at this
    point': sessions stop waiting on presence and deliver what they buffered."""
    c.ignoring = 1.0
    for s in range(nodes.shape[0]):
        c.delivered += nodes[s].buffered
        nodes[s].buffered = 0.0


@njit
def reweight(c, nodes):
    """New sessions go to the nodes that are up, in proportion to their load share."""
    total, up = 0.0, 0.0
    for s in range(nodes.shape[0]):
        total += nodes[s].weight * nodes[s].up
        up += nodes[s].up
    for s in range(nodes.shape[0]):
        n = nodes[s]
        n.up_weight = n.weight * n.up / total if total > 0 else 0.0
    c.nodes_up = up


@njit(inline="always")
def queue_wait(c, mu):
    """Seconds a request sent now waits in presence's queue (its work over the capacity)."""
    return (c.positions - c.consumed) / mu if mu > 0 else 1e300


# -- backoff: when do retries come back? ----------------------------------------------------

@njit(inline="always")
def schedule_atoms(r, t, when, earliest, late):
    """Failures `fail_atoms` of each lane at the instant `when` (in steps) come back at the
    next level after that level's backoff: a fixed wait lands at its exact time (split between
    the two step starts around it), a jittered one spreads over the steps it covers. `late`:
    the current step's spread arrivals were already counted, so none may land in it."""
    R, K = r.atoms.shape
    table = LATE if late else ATOM
    for lvl in range(K):
        f = r.lanes[lvl].fail_atoms
        if f == 0.0:
            continue
        r.lanes[lvl].fail_atoms = 0.0
        nxt = min(lvl + 1, K - 1)
        if r.delta[lvl] >= 0:
            x = max(when + r.delta[lvl], float(earliest))
            i = math.floor(x)
            fr = x - i
            r.atoms[i & (R - 1), nxt] += f * (1.0 - fr)
            if fr > 0:
                r.atoms[(i + 1) & (R - 1), nxt] += f * fr
        else:
            for e in range(r.nnz[table, lvl]):
                r.spread[(t + r.idx[table, lvl, e]) & (R - 1), nxt] += f * r.val[table, lvl, e]


@njit(inline="always")
def schedule_spread(r, src, earliest):
    """Failures `fail_spread` of each lane, spread over step `src`, come back spread at the
    next level after that level's backoff (never before step `earliest`)."""
    R, K = r.atoms.shape
    for lvl in range(K):
        f = r.lanes[lvl].fail_spread
        if f == 0.0:
            continue
        r.lanes[lvl].fail_spread = 0.0
        nxt = min(lvl + 1, K - 1)
        if r.delta[lvl] >= 0:
            x = src + r.delta[lvl]
            i = math.floor(x)
            fr = x - i
            if i < earliest:
                i, fr = earliest, 0.0
            _spread_into(r, i, nxt, f * (1.0 - fr))
            if fr > 0:
                _spread_into(r, i + 1, nxt, f * fr)
        else:
            for e in range(r.nnz[SPREAD, lvl]):
                r.spread[(src + r.idx[SPREAD, lvl, e]) & (R - 1), nxt] += f * r.val[SPREAD, lvl, e]


@njit(inline="always")
def _spread_into(r, i, lvl, mass):
    R = r.atoms.shape[0]
    r.spread[i & (R - 1), lvl] += mass
    r.spread[(i + 1) & (R - 1), lvl] -= mass


@njit(inline="always")
def _arrivals(r, t):
    """This step's arrivals (burst at its start, spread over it); advances the running sum."""
    R = r.atoms.shape[0]
    atoms, spread = 0.0, 0.0
    for lvl in range(r.lanes.shape[0]):
        r.lanes[lvl].level += r.spread[t & (R - 1), lvl]
        r.spread[t & (R - 1), lvl] = 0.0
        atoms += max(r.atoms[t & (R - 1), lvl], 0.0)
        spread += max(r.lanes[lvl].level, 0.0)
    return atoms, spread


@njit(inline="always")
def _move_up(r, spread):
    """Failures at a level will come back at the next one: count them there as waiting."""
    K = r.lanes.shape[0]
    for lvl in range(K):
        f = r.lanes[lvl].fail_spread if spread else r.lanes[lvl].fail_atoms
        r.lanes[min(lvl + 1, K - 1)].waiting += f


@njit
def _fail_by_level(r, sent, total, spread):
    """`total` requests fail, shared over the levels like `sent` was; counted as waiting."""
    whole = sent.sum()
    for lvl in range(sent.shape[0]):
        f = total * sent[lvl] / whole if whole > 0 else (total if lvl == 0 else 0.0)
        if spread:
            r.lanes[lvl].fail_spread += f
        else:
            r.lanes[lvl].fail_atoms += f
        r.lanes[min(lvl + 1, sent.shape[0] - 1)].waiting += f


@njit
def _empty_queue(t, c, q):
    """Presence restarted: its queue is gone, and the in-flight requests with it."""
    c.head_step, c.head_part, c.head_off = t, 0, 0.0
    c.consumed = c.positions
    c.in_flight = 0.0
    q.live[:] = 0.0
    q.doomed[:] = 0.0
