"""The step loop, compiled by numba's JIT: `run(world)` applies `rules.step` once per step and
records the timeline. model/aot.py compiles the same function ahead of time; the engine uses
that build when it is current and this one otherwise.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from incidentlab.model import rules
from incidentlab.model.rules import njit  # numba's, without reference counting


def _drop_stale_compiled_loop() -> None:
    """numba's on-disk cache checks only the source of the file a function is in, but the loop
    below inlines rules.py: when rules.py changes, drop this file's compiled functions."""
    cache = Path(__file__).with_name("__pycache__")
    stamp = cache / "loop.rules.sha256"
    try:
        digest = hashlib.sha256(Path(rules.__file__).read_bytes()).hexdigest()
        if stamp.exists() and stamp.read_text() == digest:
            return
        for compiled in cache.glob("loop.*.nb[ci]"):
            compiled.unlink()
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: its files do not change either
        pass


_drop_stale_compiled_loop()


@njit(cache=True)
def run(w):
    """Apply `rules.step` and record the timeline, step after step, for the whole run."""
    for t in range(w.record.shape[0]):
        rules.step(t, w)
        _record(t, w)


@njit
def _record(t, w):
    k, c, row = w.knobs[0], w.cluster[0], w.record[t]
    sessions = stalled = pending = buffered = top = total = 0.0
    for s in range(w.nodes.shape[0]):
        n = w.nodes[s]
        sessions += n.sessions
        stalled += n.stalled
        pending += n.pending
        buffered += n.buffered
        m = rules.memory_kb(n, k)
        top = max(top, m)
        total += m * n.up
    retrying = 0.0
    for lvl in range(2, w.clients.lanes.shape[0]):
        retrying += w.clients.lanes[lvl].waiting
    waiting = 0.0
    for lvl in range(w.retries.lanes.shape[0]):
        waiting += w.retries.lanes[lvl].waiting
    buffering = 0.0 if (k.fast_fail > 0 or c.ignoring > 0) else 1.0
    row.users_connected = sessions - pending
    row.users_stalled = stalled * buffering
    row.users_reconnecting = pending + retrying
    row.users_offline = w.clients.lanes[1].waiting
    row.session_nodes_up = c.nodes_up
    row.node_memory_max_gb = top / 1e6
    row.node_memory_mean_gb = total / max(c.nodes_up, 1.0) / 1e6
    row.presence_offered_ops = c.offered
    row.presence_capacity_ops = w.capacity[t]
    row.presence_goodput_ops = c.goodput
    row.presence_queue = c.positions - c.consumed
    row.reconnect_attempts = c.attempts
    row.events_produced = c.produced
    row.events_delivered = c.delivered
    row.events_dropped = c.dropped
    row.events_lost = c.lost
    row.events_buffered = buffered
    row.requests_in_flight = c.in_flight
    row.sessions_retry_wait = max(waiting, 0.0)
    row.crashes = c.crashes
    row.users_unlinked = stalled + pending
    row.presence_demand_ops = c.demand


@njit(cache=True)
def tally(w, sums, offered, unserved):
    """Apply `rules.step` step after step and fold what the outcome needs into `tally` (see
    engine.run_outcome): a sweep's run without a timeline record."""
    a = sums[0]
    for t in range(w.capacity.shape[0]):
        rules.step(t, w)
        _tally(t, w, a, offered, unserved)


@njit
def _tally(t, w, a, offered, unserved):
    """The record's columns the outcome reads, computed as _record does, folded at once."""
    k, c = w.knobs[0], w.cluster[0]
    sessions = stalled = pending = 0.0
    for s in range(w.nodes.shape[0]):
        n = w.nodes[s]
        sessions += n.sessions
        stalled += n.stalled
        pending += n.pending
    buffering = 0.0 if (k.fast_fail > 0 or c.ignoring > 0) else 1.0
    connected = sessions - pending
    shown = stalled * buffering
    unlinked = stalled + pending
    offered[t] = c.offered
    if c.crashes != 0:
        if a.first_crash < 0:
            a.first_crash = t
        a.crashes += c.crashes
    frac = shown / connected if connected > 1e-9 else 0.0
    if frac > a.peak_stalled or frac != frac:  # a NaN stays, as in numpy's max
        a.peak_stalled = frac
    a.healthy = ((a.users - connected <= a.tol) & (shown <= a.tol) & (unlinked <= a.tol)
                 & (c.positions - c.consumed <= a.tol) & (c.goodput >= a.goodput_share * c.demand))
    if not a.healthy:
        a.last_unhealthy = t
    lost = (a.users - connected) + shown
    unserved[t] = lost if (lost >= 0.0 or lost != lost) else 0.0  # numpy's maximum(lost, 0)
