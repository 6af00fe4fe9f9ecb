"""The rules of one step of the cluster model — the one file to read to know what the model does.

State is counts (a fluid, mean-field model), never individual sessions, so a step costs the same
for 50 thousand or 50 million users. Every array has a leading batch axis (one row per scenario).
Per session node `s` the state holds sessions `N`, stalled sessions `St` (connected, ready, lost
their presence link), pending sessions `Pe` (new, waiting for their first link before they are
ready) and buffered events `Buf`, stacked as `Y[:, (N, St, Pe, Buf), s]`. Unlinked sessions wait
in a retry ring `R[:, step, attempt]`; clients without a session wait in `C[:, step, attempt]`.
Each function below is one mechanism, citing the report sentence it comes from.
"""

from __future__ import annotations

import math

import numpy as np

N, ST, PE, BUF = 0, 1, 2, 3


# -- backoff: when does attempt k+1 come after attempt k failed? ------------------------------

def backoff_pmf(jitter: str, base: float, cap: float, levels: int, dt: float,
                width: int) -> np.ndarray:
    """pmf[k, j]: probability that the wait after failure k is j steps (j = 1..width-1).

    none = min(cap, base*2^k); full = U(0, that); equal = half fixed + half U; decorrelated =
    min(cap, U(base, 3*previous)), its marginal per attempt computed on a fine grid.
    A wait is rounded to the nearest step and is at least one step.
    """
    edges = (np.arange(width + 1) - 0.5) * dt  # step j holds waits in [edges[j], edges[j+1])
    out = np.zeros((levels, width))
    if jitter == "decorrelated":
        cdfs = _decorrelated_cdfs(base, cap, levels, edges)
    for k in range(levels):
        c = min(cap, base * 2.0 ** min(k, 60))
        if jitter == "none":
            cdf = (edges[None, :] >= c).astype(float)[0]
        elif jitter == "full":
            cdf = _uniform_cdf(edges, 0.0, c)
        elif jitter == "equal":
            cdf = _uniform_cdf(edges, c / 2, c)
        else:
            cdf = cdfs[k]
        p = np.diff(cdf)
        p[1] += p[0]  # nothing retries in the same step it failed
        p[0] = 0.0
        out[k] = p / p.sum()
    return out


def _uniform_cdf(x: np.ndarray, a: float, b: float) -> np.ndarray:
    if b <= a:
        return (x >= a).astype(float)
    return np.clip((x - a) / (b - a), 0.0, 1.0)


def _decorrelated_cdfs(base: float, cap: float, levels: int, edges: np.ndarray) -> list:
    """CDFs (at `edges`) of W_k = min(cap, U(base, 3 W_{k-1})), W_-1 = base, on a fine grid."""
    top = max(cap, base, 1e-9)
    g = 4000
    x = np.linspace(0.0, top, g + 1)  # grid points; mass at x[i]
    h = x[1] - x[0]
    mass = np.zeros(g + 1)
    mass[min(g, round(base / h))] = 1.0
    lo = min(g, round(base / h))
    cdfs = []
    for _ in range(levels):
        new = np.zeros(g + 2)
        hi = np.minimum(np.round(3 * x / h).astype(int), 10 * g)  # U(base, 3v) upper end
        span = hi - lo + 1
        ok = mass > 0
        dens = np.where(ok & (span > 0), mass / np.maximum(span, 1), 0.0)
        # uniform over grid points lo..hi, capped: the part above `cap` piles up at cap (g)
        inside = np.minimum(hi, g)
        np.add.at(new, np.full(ok.sum(), lo), dens[ok])
        np.add.at(new, inside[ok] + 1, -dens[ok])
        capped = np.where(ok, dens * np.maximum(hi - g, 0), 0.0)
        mass = np.cumsum(new)[: g + 1]
        mass[g] += capped.sum()
        mass = np.maximum(mass, 0.0)
        mass /= mass.sum()
        cdfs.append(np.interp(edges, x, np.cumsum(mass), left=0.0, right=1.0))
    return cdfs


def levels_needed(base: float, cap: float, jitter: str) -> int:
    """Attempt levels until the wait stops growing (the last level repeats)."""
    if jitter == "decorrelated":
        return 12
    grow = 0 if base <= 0 or cap <= base else math.ceil(math.log2(cap / base))
    return max(2, min(16, grow + 2))


def schedule(ring: np.ndarray, t: int, failed: np.ndarray, pmf: np.ndarray) -> None:
    """Failures at level k come back at level k+1 (the last level repeats), spread by pmf[k]."""
    width = pmf.shape[2]
    add = failed[:, None, :] * pmf.transpose(0, 2, 1)  # (B, width, K)
    ring[:, t : t + width, 1:] += add[:, :, :-1]
    ring[:, t : t + width, -1] += add[:, :, -1]


# -- the mechanisms, in the order a step applies them ----------------------------------------

def lose_links(s, frac: np.ndarray) -> None:
    """'the nodes of another service (sessions) ... attempted a reconnection': a presence node
    leaves, its share `frac` of linked sessions stalls and retries after backoff level 0."""
    Y = s.Y
    moved = (Y[:, N] - Y[:, ST] - Y[:, PE]) * frac[:, None]
    Y[:, ST] += moved
    failed = np.zeros((s.B, s.K))
    failed[:, 0] = moved.sum(1)
    schedule(s.R, s.t + 1, failed, s.pmf)


def admit_clients(s, limit: np.ndarray) -> np.ndarray:
    """Clients whose backoff ended ask the gateway; at most `connect_rate_limit`·dt are admitted
    ('patches introduce limitations on connections'), the rest back off again. Admitted clients
    become new sessions spread over the nodes that are up; each needs a presence link."""
    due = s.C[:, s.t]
    asked = due.sum(1)
    admitted = np.minimum(asked, limit * (s.up_weight.sum(1) > 0))
    ok = np.divide(admitted, asked, out=np.zeros(s.B), where=asked > 0)
    s.Wc -= due
    refused = due * (1.0 - ok)[:, None]
    schedule(s.C, s.t + 1, refused, s.cpmf)
    s.Wc[:, 1:] += refused[:, :-1]
    s.Wc[:, -1] += refused[:, -1]
    new = admitted[:, None] * s.up_weight
    s.Y[:, N] += new
    # fast-fail: a new session is ready at once, without presence data ('fast-fail mechanism')
    s.Y[:, ST] += new * s.fast_fail
    s.Y[:, PE] += new * (1.0 - s.fast_fail)
    return admitted


def send_link_requests(s, new_sessions: np.ndarray) -> np.ndarray:
    """Unlinked sessions whose backoff ended, and new sessions, ask presence for a link. With an
    in-flight limit ('a hard limit to the number of in-flight connections') requests beyond
    the semaphore fail locally at once and back off. Returns the requests sent, per level."""
    asking = s.R[:, s.t].copy()
    asking[:, 0] += new_sessions
    total = asking.sum(1)
    room = np.maximum(s.inflight_cap * s.nodes_up - s.fresh_live, 0.0)
    ok = np.minimum(np.divide(room, total, out=np.ones(s.B), where=total > 0), 1.0)
    sent = asking * ok[:, None]
    s.failed += asking - sent
    s.attempts = total
    return sent


def serve_presence(s, sent: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Presence serves background traffic of linked sessions first, then link requests FIFO.
    A request older than `rpc_timeout_s` was abandoned by its session, which retries after
    backoff, 'but the presence node still spends capacity on it' at the head of the queue:
    wasted work that keeps the overload going after its trigger. Returns links made."""
    t, B = s.t, s.B
    total = sent.sum(1)
    s.sent_row[:, t % s.window] = sent
    lo = s.Ahist[:, max(t - s.tq + 1, 0)]  # arrivals before `lo` are stale (older than timeout)
    s.Acum += total
    s.Ahist[:, t + 1] = s.Acum
    s.fresh_live += total
    linked_now = s.tot[:, N] - s.tot[:, ST] - s.tot[:, PE]
    background = linked_now * s.bg_ops
    budget = np.maximum(capacity - background, 0.0) * s.dt
    s0 = s.Scum
    s1 = np.minimum(s0 + budget, s.Acum)
    fresh_before = s.Acum - np.maximum(s0, lo)
    served_fresh = np.maximum(s1 - np.maximum(s0, lo), 0.0)
    live_share = np.divide(s.fresh_live, fresh_before, out=np.zeros(B), where=fresh_before > 0)
    links = served_fresh * live_share
    # the oldest fresh cohort times out at the end of this step; its live part retries
    nxt = s.Ahist[:, max(t - s.tq + 2, 0)] if s.tq > 1 else s.Acum
    timed_out = np.maximum(nxt - np.maximum(lo, s1), 0.0) * live_share
    row = s.sent_row[:, (t - s.tq + 1) % s.window]
    row_total = row.sum(1)
    share = np.divide(timed_out, row_total, out=np.zeros(B), where=row_total > 0)
    s.failed += row * np.minimum(share, 1.0)[:, None]
    s.fresh_live = np.maximum(s.fresh_live - links - timed_out, 0.0)
    s.Scum = s1
    s.goodput = (np.minimum(background, capacity) + links / s.dt)
    s.offered = background + total / s.dt
    return links


def link_sessions(s, links: np.ndarray) -> None:
    """Links made go to the unlinked sessions of every node in proportion (mean field); a stalled
    session that gets its link flushes its buffer to its client."""
    unlinked = s.tot[:, ST] + s.tot[:, PE]
    frac = np.minimum(np.divide(links, unlinked, out=np.zeros(s.B), where=unlinked > 0), 1.0)
    s.delivered += s.tot[:, BUF] * frac
    s.Y[:, ST:] *= (1.0 - frac)[:, None, None]


def produce_events(s, send: np.ndarray) -> None:
    """Every ready session receives `event_rate` events/s. A linked (or fast-fail) session
    delivers them; a stalled one 'queu[es] events in memory'."""
    per_session = s.event_rate * send * s.dt
    ready = s.tot[:, N] - s.tot[:, PE]
    stalled = s.tot[:, ST] * s.stalls
    s.produced += ready * per_session
    s.delivered += (ready - stalled) * per_session
    s.Y[:, BUF] += s.Y[:, ST] * (per_session * s.stalls)[:, None]


def limit_buffers(s) -> np.ndarray:
    """drop-oldest: a session keeps at most `buffer_limit` events, older ones are dropped.
    Returns per node the excess that the disconnect policy acts on."""
    Y = s.Y
    excess = np.maximum(Y[:, BUF] - Y[:, ST] * s.buffer_limit, 0.0)
    dropped = excess * s.drop_oldest
    Y[:, BUF] -= dropped
    s.dropped += dropped.sum(1)
    return excess * s.disconnect


def node_memory(s) -> np.ndarray:
    """'Once the event queues on these session nodes reached a limit, they ran out of available
    memory and crashed': memory = sessions x session_base_kb + buffered events x event_kb."""
    return np.matmul(s.mem_coef, s.Y)[:, 0]  # (B, S) in KB


def drop_sessions(s, b: int, nodes: np.ndarray, lost: bool) -> None:
    """Sessions on `nodes` of scenario `b` end (crash, disconnect, reboot): their buffered events
    are lost (crash) or dropped (policy, reboot), their clients go offline and reconnect after
    client backoff, and their pending link retries leave the ring."""
    Y = s.Y[b]
    users = Y[N, nodes].sum()
    events = Y[BUF, nodes].sum()
    unlinked_gone = (Y[ST, nodes] + Y[PE, nodes]).sum()
    unlinked_all = Y[ST].sum() + Y[PE].sum()
    if unlinked_all > 0:
        keep = 1.0 - min(unlinked_gone / unlinked_all, 1.0)
        s.R[b, s.t + 1 :] *= keep
        s.fresh_live[b] *= keep  # their queued requests stay, orphaned: still cost capacity
    if lost:
        s.lost[b] += events
    else:
        s.dropped[b] += events
    Y[:, nodes] = 0.0
    failed = np.zeros((s.B, s.Kc))
    failed[b, 0] = users
    schedule(s.C, s.t + 1, failed, s.cpmf)
    s.Wc[b, 1] += users
