"""The model's named state: the records and tuples one run's loop reads and writes (rules.py
says what each mechanism does with them).

Kept apart from rules.py, with no numba, so a run whose loop was compiled ahead of time
(model/aot.py) builds its state without loading the compiler.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

f8, i8 = np.float64, np.int64

KNOBS = np.dtype([
    ("users", f8), ("capacity", f8), ("bg_ops", f8), ("event_rate", f8), ("base_kb", f8),
    ("event_kb", f8), ("mem_kb", f8), ("fast_fail", f8), ("inflight", f8), ("buf_limit", f8),
    ("policy", i8), ("restart_s", f8), ("dt", f8), ("window", f8), ("rtt", f8),
    ("cancel", f8), ("tq", i8), ("link_cost", f8),
])
CLUSTER = np.dtype([
    ("in_flight", f8), ("positions", f8), ("consumed", f8), ("head_step", i8),
    ("head_part", i8), ("head_off", f8), ("produced", f8), ("delivered", f8), ("dropped", f8),
    ("lost", f8), ("nodes_up", f8), ("next_restart", f8), ("crashes", f8), ("attempts", f8),
    ("goodput", f8), ("offered", f8), ("demand", f8), ("ignoring", f8),
])
NODE = np.dtype([
    ("sessions", f8), ("stalled", f8), ("pending", f8), ("buffered", f8), ("up", f8),
    ("restart_at", f8), ("weight", f8), ("up_weight", f8),
])
SEGMENT = np.dtype([("atom", f8), ("link", f8), ("bg", f8)])  # work units

UNBOUNDED, DROP_OLDEST, DISCONNECT = 0, 1, 2  # Knobs.policy
NO_EVENT, FULL_REBOOT, RESTART_PRESENCE, IGNORE_PRESENCE = 0, 1, 2, 3  # operator events


LANE = np.dtype([("level", f8), ("waiting", f8), ("fail_atoms", f8), ("fail_spread", f8)])


class Rings(NamedTuple):
    """Future arrivals of one kind of retry (sessions -> presence, or clients -> gateway)."""

    atoms: np.ndarray  # [reach, K] arrivals at the instant a step starts (circular by step)
    spread: np.ndarray  # [reach, K] differences of arrivals spread over a step (circular)
    lanes: np.ndarray  # [K] LANE: this step's spread arrivals (running sum of `spread`), how
    #                    many wait for each level, and scratch for failures to schedule
    delta: np.ndarray  # the backoff's tables (backoff.Backoff)
    idx: np.ndarray
    val: np.ndarray
    nnz: np.ndarray


class Queue(NamedTuple):
    """Presence's FIFO queue: what arrived in each step, and the recent link requests' fate."""

    segments: np.ndarray  # [T + 1] SEGMENT, in work units (a link request costs link_cost)
    live: np.ndarray  # [WQ, 2] link requests of a recent step still awaited (atom, spread)
    doomed: np.ndarray  # [WQ, 2] of those, the ones served late: they will time out
    sent: np.ndarray  # [WQ, 2, K] what each recent step sent, by attempt level


class World(NamedTuple):
    """Everything one run's loop reads and writes."""

    knobs: np.ndarray  # [1] KNOBS
    cluster: np.ndarray  # [1] CLUSTER
    nodes: np.ndarray  # [S] NODE
    queue: Queue
    retries: Rings  # sessions waiting to ask presence for a link again
    clients: Rings  # clients waiting to reconnect through the gateway
    capacity: np.ndarray  # [T] ops/s of the presence nodes that answer (the schedule)
    loss: np.ndarray  # [T] share of presence links lost at the start of the step
    send: np.ndarray  # [T] share of the event rate flowing (operators may disable sending)
    limit: np.ndarray  # [T] gateway admissions per step
    event: np.ndarray  # [T] operator event at the start of the step
    record: np.ndarray  # [T] the timeline (columns.RECORD)


#: What a run's outcome needs, gathered step by step (loop.tally, outcome.outcome_from_tally).
TALLY = np.dtype([
    ("users", np.float64), ("tol", np.float64), ("goodput_share", np.float64),
    ("first_crash", np.int64), ("crashes", np.float64), ("peak_stalled", np.float64),
    ("last_unhealthy", np.int64), ("healthy", np.bool_),
])
