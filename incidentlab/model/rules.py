"""The rules of one step of the cluster model — the one file to read to know what the model does.

State is counts (a fluid, mean-field model), never individual sessions, so a step costs the same
for 50 thousand or 50 million users. Per session node `s` the state holds sessions `Y[N, s]`,
stalled sessions `Y[ST, s]` (ready, lost their presence link), pending sessions `Y[PE, s]` (new,
waiting for their first link before they are ready) and buffered events `Y[BUF, s]`. Unlinked
sessions wait in a retry ring `R[step, level]`, clients without a session in `C[step, level]`
(level = failed attempts so far). Presence is a FIFO queue kept as cumulative counts. Scalars
live in `x[...]`, knobs in `k[...]` (index names below).

Each function is one mechanism and quotes the report sentence it comes from. They are compiled
with numba (plain loops, no allocation per step) so a 3,600-step run takes milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

N, ST, PE, BUF = 0, 1, 2, 3  # rows of Y
# scalar state x[...]
ACUM, SCUM, FRESH, PRODUCED, DELIVERED, DROPPED, LOST, NODES_UP, CLIENTS, NEXT_RESTART, \
    ATTEMPTS, GOODPUT, OFFERED, CRASHES, DEMAND = range(15)
X_SIZE = 15
# knobs k[...]
USERS, CAPACITY, BG_OPS, EVENT_RATE, BASE_KB, EVENT_KB, MEM_KB, FAST_FAIL, INFLIGHT, \
    BUF_LIMIT, POLICY, RESTART_S, DT, TQ = range(14)
K_SIZE = 14
UNBOUNDED, DROP_OLDEST, DISCONNECT = 0, 1, 2  # k[POLICY]
NO_EVENT, FULL_REBOOT, RESTART_PRESENCE = 0, 1, 2  # operator events per step


# -- backoff: how long after failed attempt k does attempt k+1 come? --------------------------

def backoff_pmf(jitter: str, base: float, cap: float, levels: int, dt: float,
                width: int) -> np.ndarray:
    """pmf[k, j]: probability that the wait after failure k is j steps (j >= 1).

    none = min(cap, base*2^k); full = U(0, that); equal = half fixed + half U(0, half);
    decorrelated = min(cap, U(base, 3*previous)) from previous = base, its marginal per attempt
    computed on a fine grid. A wait is rounded to the nearest step and is at least one step.
    """
    edges = (np.arange(width + 1) - 0.5) * dt  # step j holds waits in [edges[j], edges[j+1])
    out = np.zeros((levels, width))
    cdfs = _decorrelated_cdfs(base, cap, levels, edges) if jitter == "decorrelated" else None
    for lvl in range(levels):
        c = min(cap, base * 2.0 ** min(lvl, 60))
        if jitter == "none":
            cdf = (edges >= c).astype(float)
        elif jitter == "full":
            cdf = _uniform_cdf(edges, 0.0, c)
        elif jitter == "equal":
            cdf = _uniform_cdf(edges, c / 2, c)
        else:
            cdf = cdfs[lvl]
        cdf[-1] = 1.0
        p = np.diff(cdf)
        p[1] += p[0]  # nothing retries in the step it failed
        p[0] = 0.0
        out[lvl] = p / p.sum()
    return out


def _uniform_cdf(x: np.ndarray, a: float, b: float) -> np.ndarray:
    if b - a <= 1e-9:
        return (x >= a).astype(float)
    return np.clip((x - a) / (b - a), 0.0, 1.0)


def _decorrelated_cdfs(base: float, cap: float, levels: int, edges: np.ndarray) -> list:
    """CDFs (at `edges`) of W_k = min(cap, U(base, 3 W_{k-1})), W_-1 = base, on a fine grid."""
    g = 4000
    h = max(cap, base, 1e-9) / g
    x = np.arange(g + 1) * h
    lo = min(g, round(base / h))
    mass = np.zeros(g + 1)
    mass[lo] = 1.0
    cdfs = []
    for _ in range(levels):
        hi = np.round(3 * x / h).astype(np.int64)  # U(base, 3v) covers grid points lo..hi
        ok = (mass > 0) & (hi >= lo)
        dens = np.where(ok, mass / np.maximum(hi - lo + 1, 1), 0.0)
        diff = np.zeros(g + 2)
        diff[lo] += dens.sum()
        np.add.at(diff, np.minimum(hi, g)[ok] + 1, -dens[ok])
        new = np.cumsum(diff)[: g + 1]
        new[g] += (dens * np.maximum(hi - g, 0)).sum()  # waits above cap wait cap
        mass = np.maximum(new, 0.0) / max(new.sum(), 1e-300)
        cdfs.append(np.interp(edges, x, np.cumsum(mass), left=0.0, right=1.0))
    return cdfs


def levels_needed(base: float, cap: float, jitter: str) -> int:
    """Attempt levels until the wait stops growing (the last level repeats)."""
    if jitter == "decorrelated":
        return 12
    if base <= 0 or cap <= base:
        return 2
    return max(2, min(16, math.ceil(math.log2(min(cap / base, 2.0**20))) + 2))


@njit(cache=True)
def schedule(ring, t, failed, pmf):
    """Failures at level k come back at level k+1 (the last level repeats), spread by pmf[k]."""
    K, W = pmf.shape
    for lvl in range(K):
        f = failed[lvl]
        if f == 0.0:
            continue
        nxt = min(lvl + 1, K - 1)
        for j in range(1, W):
            p = pmf[lvl, j]
            if p != 0.0:
                ring[t + j, nxt] += f * p


# -- the mechanisms, in the order a step applies them ----------------------------------------

@njit(cache=True)
def lose_links(Y, share, failed):
    """'the nodes of another service (sessions) ... attempted a reconnection': a presence node
    is gone; its `share` of linked sessions stalls and retries after backoff."""
    for s in range(Y.shape[1]):
        moved = (Y[N, s] - Y[ST, s] - Y[PE, s]) * share
        Y[ST, s] += moved
        failed[0] += moved


@njit(cache=True)
def admit_clients(t, C, Wc, cpmf, limit, Y, up_weight, x, k, refused):
    """Clients whose backoff ended ask the gateway; at most `connect_rate_limit`·dt are admitted
    ('patches introduce limitations on connections'), the rest back off again. Admitted clients
    become new sessions on the nodes that are up; each needs a presence link to be ready."""
    asked = 0.0
    for lvl in range(C.shape[1]):
        asked += C[t, lvl]
    if asked == 0.0:
        return 0.0
    admitted = min(asked, limit) if x[NODES_UP] > 0 else 0.0
    ok = admitted / asked
    for lvl in range(C.shape[1]):
        refused[lvl] = C[t, lvl] * (1.0 - ok)
        Wc[lvl] -= C[t, lvl]
        Wc[min(lvl + 1, C.shape[1] - 1)] += refused[lvl]
    schedule(C, t, refused, cpmf)
    # fast-fail: a new session is ready at once, without presence data ('fast-fail mechanism')
    ready = ST if k[FAST_FAIL] > 0 else PE
    for s in range(Y.shape[1]):
        Y[N, s] += admitted * up_weight[s]
        Y[ready, s] += admitted * up_weight[s]
    return admitted


@njit(cache=True)
def send_link_requests(t, R, new_sessions, x, k, sent, failed):
    """Unlinked sessions whose backoff ended, and new sessions, ask presence for a link. With an
    in-flight limit ('a hard limit to the number of in-flight connections') requests beyond
    the semaphore fail locally at once and back off. Mean field: requests spread over the
    nodes like sessions do, so the semaphores add up to `inflight_limit` x nodes up."""
    total = new_sessions
    for lvl in range(R.shape[1]):
        total += R[t, lvl]
    room = max(k[INFLIGHT] * x[NODES_UP] - x[FRESH], 0.0)
    ok = 1.0 if total <= room else room / total
    for lvl in range(R.shape[1]):
        asking = R[t, lvl] + (new_sessions if lvl == 0 else 0.0)
        sent[lvl] = asking * ok
        failed[lvl] += asking - sent[lvl]
    x[ATTEMPTS] = total
    return total * ok


@njit(cache=True)
def serve_presence(t, sent_total, capacity, linked, Ahist, sent_row, x, k, timeouts):
    """Presence serves the background traffic of linked sessions first, then link requests
    FIFO. A request older than `rpc_timeout_s` has been abandoned by its session, which retries
    after backoff, but still costs capacity when it reaches the head of the queue: wasted work
    that keeps the overload going after its trigger ('millions of processes reconnecting
    quickly overloaded the remaining presence servers'). Returns the links made."""
    tq = int(k[TQ])
    dt = k[DT]
    lo = Ahist[max(t - tq + 1, 0)]  # requests that arrived before `lo` are stale
    x[ACUM] += sent_total
    Ahist[t + 1] = x[ACUM]
    x[FRESH] += sent_total
    background = linked * k[BG_OPS]
    s0 = x[SCUM]
    s1 = min(s0 + max(capacity - background, 0.0) * dt, x[ACUM])
    head = max(s0, lo)
    fresh = x[ACUM] - head
    live = min(x[FRESH] / fresh, 1.0) if fresh > 0 else 0.0  # crashed sessions: orphans
    links = max(s1 - head, 0.0) * live
    # the oldest fresh cohort (arrived tq-1 steps ago) times out at the end of this step;
    # `timeouts` (per level) retry counting their backoff from the end of the step
    nxt = Ahist[max(t - tq + 2, 0)] if tq > 1 else x[ACUM]
    timed_out = max(nxt - max(lo, s1), 0.0) * live
    row = sent_row[(t - tq + 1) % sent_row.shape[0]]
    cohort = 0.0
    for lvl in range(row.shape[0]):
        cohort += row[lvl]
    if cohort > 0 and timed_out > 0:
        share = min(timed_out / cohort, 1.0)
        for lvl in range(row.shape[0]):
            timeouts[lvl] += row[lvl] * share
    x[FRESH] = max(x[FRESH] - links - timed_out, 0.0)
    x[SCUM] = s1
    x[GOODPUT] = min(background, capacity) + links / dt
    x[OFFERED] = background + sent_total / dt
    x[DEMAND] = background
    return links


@njit(cache=True)
def update_nodes(Y, links, unlinked, send, x, k):
    """Per node: links made go to its unlinked sessions in proportion (mean field), and a
    stalled session that gets its link flushes its buffer to its client. Every ready session
    receives `event_rate` events/s; a linked (or fast-fail) one delivers them, a stalled one
    queues them 'in memory (an intended behavior of our sessions service)'. Buffer policy
    drop-oldest keeps at most `buffer_limit` events per stalled session.
    Returns the first node whose buffers overflow under the disconnect policy, or -1."""
    frac = min(links / unlinked, 1.0) if unlinked > 0 else 0.0
    per_session = k[EVENT_RATE] * send * k[DT]
    stalls = 1.0 - k[FAST_FAIL]
    overflow = -1
    for s in range(Y.shape[1]):
        x[DELIVERED] += Y[BUF, s] * frac
        Y[ST, s] *= 1.0 - frac
        Y[PE, s] *= 1.0 - frac
        Y[BUF, s] *= 1.0 - frac
        ready = Y[N, s] - Y[PE, s]
        stalled = Y[ST, s] * stalls
        x[PRODUCED] += ready * per_session
        x[DELIVERED] += (ready - stalled) * per_session
        Y[BUF, s] += stalled * per_session
        excess = Y[BUF, s] - Y[ST, s] * k[BUF_LIMIT]
        if excess > 0:
            if k[POLICY] == DROP_OLDEST:
                Y[BUF, s] -= excess
                x[DROPPED] += excess
            elif k[POLICY] == DISCONNECT and overflow < 0:
                overflow = s
    return overflow


@njit(cache=True)
def memory_kb(Y, s, k):
    """'Once the event queues on these session nodes reached a limit, they ran out of available
    memory and crashed': memory = sessions x session_base_kb + buffered events x event_kb."""
    return Y[N, s] * k[BASE_KB] + Y[BUF, s] * k[EVENT_KB]


@njit(cache=True)
def end_sessions(first, Y, s, sessions, R, width, C, Wc, cpmf, x, lost, failed_c):
    """`sessions` stalled-or-all sessions of node s end (crash, disconnect, reboot) at the start
    of step `first`. Their
    buffered events are lost (crash: 'they ran out of available memory and crashed') or dropped
    (policy, reboot); their clients reconnect after client backoff; their link retries leave
    the ring and their queued requests stay in the queue as orphans that still cost capacity."""
    everyone = sessions >= Y[N, s]
    gone_unlinked = Y[ST, s] + Y[PE, s] if everyone else Y[ST, s]
    unlinked = 0.0
    for i in range(Y.shape[1]):
        unlinked += Y[ST, i] + Y[PE, i]
    if unlinked > 0 and gone_unlinked > 0:
        keep = 1.0 - min(gone_unlinked / unlinked, 1.0)
        R[first : first + width] *= keep  # retries are never scheduled further ahead
        x[FRESH] *= keep
    if lost:
        x[LOST] += Y[BUF, s]
    else:
        x[DROPPED] += Y[BUF, s]
    Y[N, s] -= sessions
    Y[ST, s] = 0.0
    Y[BUF, s] = 0.0
    if everyone:
        Y[N, s] = 0.0
        Y[PE, s] = 0.0
    failed_c[:] = 0.0
    failed_c[0] = sessions
    schedule(C, first, failed_c, cpmf)  # backoff counts from when the session ended
    Wc[1] += sessions
    x[CLIENTS] = 1.0


@njit(cache=True)
def clear_presence_queue(x, failed):
    """Presence restarted: its queue is emptied; the live requests in it fail and retry."""
    failed[0] += x[FRESH]
    x[FRESH] = 0.0
    x[SCUM] = x[ACUM]
