"""Small synthetic timelines and events frames with the contract columns (docs/architecture.md)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

START = dt.datetime(2017, 3, 20, 11, 38)
TZ = "America/Los_Angeles"


def timeline(
    steps: int = 600, *, peak_gb: float = 15.0, lost: int = 1000, users: int = 1000
) -> pl.DataFrame:
    """A run shaped like the contract: memory ramps to `peak_gb`, `lost` events lost by the end."""
    t = np.arange(steps, dtype=np.float64)
    ramp = np.minimum(t / (steps / 2), 1.0)
    stalled = np.round(users * 0.33 * ramp)
    offline = np.round(users * 0.1 * ramp)
    reconnecting = np.zeros(steps)
    connected = users - offline - reconnecting
    produced = np.cumsum(np.full(steps, 10.0))
    lost_c = np.round(lost * ramp)
    dropped = np.zeros(steps)
    buffered = np.round(produced * 0.1)
    delivered = produced - lost_c - dropped - buffered
    times = pl.datetime_range(
        START, START + dt.timedelta(seconds=steps - 1), "1s", eager=True
    ).dt.replace_time_zone(TZ)
    return pl.DataFrame(
        {
            "t_s": t,
            "time": times,
            "users_connected": connected,
            "users_stalled": stalled,
            "users_reconnecting": reconnecting,
            "users_offline": offline,
            "session_nodes_up": np.full(steps, 10.0),
            "node_memory_max_gb": 4.0 + (peak_gb - 4.0) * ramp,
            "node_memory_mean_gb": 4.0 + (peak_gb - 4.0) * ramp / 2,
            "presence_offered_ops": 1000.0 + 2000.0 * ramp,
            "presence_capacity_ops": np.full(steps, 1500.0),
            "presence_goodput_ops": np.full(steps, 1400.0),
            "presence_queue": 100.0 * ramp,
            "reconnect_attempts": 50.0 * ramp,
            "events_produced": produced,
            "events_delivered": delivered,
            "events_dropped": dropped,
            "events_lost": lost_c,
            "events_buffered": buffered,
        }
    )


def events() -> pl.DataFrame:
    """Three report events in PDT (fixed UTC-7), one with a range."""
    tz = "Etc/GMT+7"
    t = [START, START + dt.timedelta(minutes=12), START + dt.timedelta(minutes=130)]
    return pl.DataFrame(
        {
            "time": pl.Series(t).dt.replace_time_zone(tz),
            "end": pl.Series(
                [None, START + dt.timedelta(minutes=30), None], dtype=pl.Datetime("us")
            ).dt.replace_time_zone(tz),
            "source": ["narrative", "narrative", "status_update"],
            "kind": ["trigger", "impact", "communication"],
            "services": [["presence"], ["sessions"], ["status_page"]],
            "approximate": [False, True, False],
            "status": [None, None, "investigating"],
            "text": ["presence node disconnected", "sessions began to OOM", "We are investigating"],
            "line": [10, 14, 40],
        }
    )
