"""The timeline's columns, once: name, unit and meaning. Both engines fill a record of this
layout, `Run.timeline` shows the public ones after `t_s` and `time`, the docs list them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Column(NamedTuple):
    name: str
    unit: str
    doc: str


PUBLIC: tuple[Column, ...] = (
    Column("users_connected", "users", "users with a ready session (linked, or stalled)"),
    Column("users_stalled", "users", "connected users whose session lost presence and buffers "
                                     "their events instead of sending them"),
    Column("users_reconnecting", "users", "new sessions waiting for their first presence link, "
                                          "and clients refused by the gateway, backing off"),
    Column("users_offline", "users", "users whose session ended and whose client has not "
                                     "tried again yet"),
    Column("session_nodes_up", "nodes", "session nodes running (not crashed)"),
    Column("node_memory_max_gb", "GB", "memory of the fullest session node"),
    Column("node_memory_mean_gb", "GB", "mean memory of the session nodes that are up"),
    Column("presence_offered_ops", "ops/s", "requests arriving at presence: background "
                                            "operations and link requests"),
    Column("presence_capacity_ops", "ops/s", "what the presence nodes that answer can serve"),
    Column("presence_goodput_ops", "ops/s", "useful work served: background operations and "
                                            "link requests answered in time"),
    Column("presence_queue", "ops", "requests waiting in presence's queue"),
    Column("reconnect_attempts", "1/s", "link requests sessions try to send (before the "
                                        "in-flight limit)"),
    Column("events_produced", "events", "events produced for connected users so far"),
    Column("events_delivered", "events", "events delivered to clients so far"),
    Column("events_dropped", "events", "events dropped on purpose so far (buffer policy, "
                                       "reboot)"),
    Column("events_lost", "events", "events lost in crashes so far"),
    Column("events_buffered", "events", "events buffered in session memory now"),
    Column("requests_in_flight", "requests", "link requests sent and not yet answered or "
                                             "abandoned"),
    Column("sessions_retry_wait", "sessions", "unlinked sessions waiting out their backoff "
                                              "before the next link request"),
)
INTERNAL: tuple[Column, ...] = (
    Column("crashes", "nodes", "session nodes that ran out of memory in this step"),
    Column("users_unlinked", "sessions", "sessions without a presence link (stalled or "
                                         "pending)"),
    Column("presence_demand_ops", "ops/s", "background presence work of linked sessions"),
)

COLUMNS: tuple[str, ...] = tuple(c.name for c in PUBLIC)
RECORD = np.dtype([(c.name, np.float64) for c in PUBLIC + INTERNAL])


def columns_markdown() -> str:
    """The public columns as docs/architecture.md's table (a test keeps the two equal)."""
    lines = ["| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.unit} | {c.doc} |" for c in PUBLIC]
    return "\n".join(lines)
