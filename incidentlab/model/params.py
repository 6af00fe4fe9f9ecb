"""Every knob of the cluster model: name, unit, default, accepted range, and why that default.

`Params` is a frozen dataclass; `params.replace(**knobs)` returns a validated copy.
`ASSUMPTIONS` lists, once, every default the report does not give, with its reasoning
and source; docs/model.md renders it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from incidentlab.errors import ParamError

JITTERS = ("none", "full", "equal", "decorrelated")
BUFFER_POLICIES = ("unbounded", "drop-oldest", "disconnect")


def _knob(default: Any, lo: float | None = None, hi: float | None = None, *,
          choices: tuple[str, ...] | None = None, optional: bool = False, doc: str) -> Any:
    """A dataclass field carrying its accepted range and docstring as metadata."""
    meta = {"lo": lo, "hi": hi, "choices": choices, "optional": optional, "doc": doc}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Params:
    """The knobs of the model. Units are in the names; see `Params.describe()` for docs."""

    # population and capacity
    users: int = _knob(5_000_000, 1, 1e9, doc="concurrent users (each one websocket session)")
    session_nodes: int = _knob(50, 1, 1000, doc="session (websocket) nodes")
    session_load_spread: float = _knob(
        0.2, 0.0, 0.9,
        doc="load spread across session nodes: node loads run linearly from 1-spread to "
            "1+spread times the mean, so nodes cross the memory limit at different times")
    presence_nodes: int = _knob(3, 2, 100, doc="presence nodes; one of them is the faulty one")
    presence_capacity: float = _knob(70_000.0, 0.01, 1e9,
                                     doc="operations per second one presence node serves")
    presence_ops_per_session: float = _knob(
        0.02, 0.0, 100.0, doc="background presence operations/s from each linked session")
    node_memory_gb: float = _knob(64.0, 0.1, 10_000.0,
                                  doc="memory of one session node (1 GB = 10^6 KB)")
    session_base_kb: float = _knob(100.0, 0.0, 1e6, doc="memory of one idle session, KB")
    event_rate: float = _knob(2.0, 0.0, 1e4, doc="events per second sent to each connected session")
    event_kb: float = _knob(1.0, 0.001, 1e4, doc="size of one buffered event, KB")
    rpc_timeout_s: float = _knob(5.0, 0.001, 3600.0,
                                 doc="a presence link request not answered in this time is "
                                     "abandoned by its session (which retries after backoff)")
    link_cost_ops: float = _knob(4.0, 0.01, 1e4,
                                 doc="presence work of one link request, in background "
                                     "operations (a link carries the session's state)")
    presence_rtt_s: float = _knob(0.005, 0.0, 60.0,
                                  doc="network round trip of one presence request, s (its "
                                      "in-flight slot is held this long plus its queueing)")
    cancel_abandoned: bool = _knob(False, doc="a request its session gave up on leaves presence's "
                                              "queue (a cancelling client); 2017: it stayed and "
                                              "was still served")
    session_restart_s: float = _knob(60.0, 0.0, 86_400.0,
                                     doc="seconds a crashed session node takes to come back")
    # buffers
    buffer_limit: int | None = _knob(None, 1, 1e9, optional=True,
                                     doc="events buffered per stalled session; None = unbounded")
    buffer_policy: str = _knob("unbounded", choices=BUFFER_POLICIES,
                               doc="what a full buffer does: unbounded (2017), drop-oldest "
                                   "(drop beyond the limit), disconnect (drop the client)")
    # session -> presence reconnect backoff
    reconnect_base_s: float = _knob(1.0, 0.0, 3600.0, doc="session->presence backoff base, s")
    reconnect_cap_s: float = _knob(4.0, 0.0, 3600.0, doc="session->presence backoff cap, s")
    reconnect_jitter: str = _knob("none", choices=JITTERS, doc="session->presence backoff jitter")
    # client -> gateway reconnect after its session is gone
    client_reconnect_base_s: float = _knob(5.0, 0.0, 3600.0, doc="client reconnect backoff base, s")
    client_reconnect_cap_s: float = _knob(60.0, 0.0, 3600.0, doc="client reconnect backoff cap, s")
    client_reconnect_jitter: str = _knob("full", choices=JITTERS,
                                         doc="client reconnect backoff jitter")
    connect_rate_limit: float | None = _knob(None, 1.0, 1e9, optional=True,
                                             doc="gateway admissions per second; None = unlimited")
    # the fixes
    inflight_limit: int | None = _knob(None, 0, 1e9, optional=True,
                                       doc="in-flight presence link requests per session node; "
                                           "None = unlimited")
    fast_fail: bool = _knob(False, doc="a session without presence keeps delivering events")
    split_brain_fix: bool = _knob(False, doc="the locked presence node rejoins after its lockup")
    # the fault
    lockup_start_s: float = _knob(0.0, 0.0, 1e6, doc="when the first presence lockup starts, s")
    lockup_duration_s: float = _knob(25.0, 0.0, 86_400.0, doc="length of one lockup, s")
    lockup_interval_s: float = _knob(420.0, 1.0, 86_400.0,
                                     doc="start-to-start time between repeated lockups, s")
    lockup_count: int = _knob(1, 0, 10_000, doc="number of lockups (0 = no fault)")
    # operators
    sending_disabled_event_fraction: float = _knob(
        0.3, 0.0, 1.0, doc="share of the event rate that keeps flowing while sending is disabled")
    # time
    horizon_s: float = _knob(3600.0, 1.0, 7 * 86_400.0, doc="simulated time, s")
    dt_s: float = _knob(1.0, 0.01, 60.0, doc="step length, s")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _check(f, getattr(self, f.name)))
        if self.buffer_policy == "unbounded" and self.buffer_limit is not None:
            raise ParamError(f"buffer_limit={self.buffer_limit} needs buffer_policy 'drop-oldest' "
                             "or 'disconnect' (it is 'unbounded'); set both, or buffer_limit=None")
        if self.buffer_policy != "unbounded" and self.buffer_limit is None:
            raise ParamError(f"buffer_policy={self.buffer_policy!r} needs a buffer_limit "
                             "(an integer >= 1 events per session)")
        if self.reconnect_cap_s < self.reconnect_base_s:
            raise ParamError(f"reconnect_cap_s={self.reconnect_cap_s} is below reconnect_base_s="
                             f"{self.reconnect_base_s}; accepted: cap >= base")
        if self.client_reconnect_cap_s < self.client_reconnect_base_s:
            raise ParamError(f"client_reconnect_cap_s={self.client_reconnect_cap_s} is below "
                             f"client_reconnect_base_s={self.client_reconnect_base_s}; "
                             "accepted: cap >= base")
        if self.horizon_s / self.dt_s > 500_000:
            raise ParamError(f"horizon_s/dt_s={self.horizon_s / self.dt_s:.0f} steps; "
                             "accepted: at most 500,000 steps")
        if self.presence_rtt_s >= self.rpc_timeout_s:
            raise ParamError(f"presence_rtt_s={self.presence_rtt_s} is not below rpc_timeout_s="
                             f"{self.rpc_timeout_s}; accepted: a round trip shorter than the "
                             "timeout")
        if self.rpc_timeout_s < self.dt_s:
            raise ParamError(f"rpc_timeout_s={self.rpc_timeout_s} is shorter than dt_s="
                             f"{self.dt_s}; accepted: rpc_timeout_s >= dt_s")

    def replace(self, **knobs: Any) -> Params:
        """A validated copy with some knobs changed; unknown knob names raise ParamError."""
        for name in knobs:
            if name not in KNOBS:
                raise ParamError(f"unknown knob {name!r}; accepted: {', '.join(KNOBS)}")
        return dataclasses.replace(self, **knobs)

    def changed(self) -> dict[str, Any]:
        """The knobs that differ from the 2017 defaults."""
        base = Params()
        return {k: getattr(self, k) for k in KNOBS if getattr(self, k) != getattr(base, k)}

    @staticmethod
    def describe() -> list[dict[str, Any]]:
        """One row per knob: name, default, accepted range or choices, docstring."""
        rows = []
        for f in dataclasses.fields(Params):
            m = f.metadata
            rows.append({"knob": f.name, "default": f.default, "accepted": _accepted(f),
                         "doc": m["doc"]})
        return rows


KNOBS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Params))
_FIELDS = {f.name: f for f in dataclasses.fields(Params)}


def _kind(f: dataclasses.Field) -> type:
    d = f.default
    if isinstance(d, bool):
        return bool
    if f.metadata["choices"]:
        return str
    if isinstance(d, int) or f.type in ("int", "int | None"):
        return int
    return float


def _accepted(f: dataclasses.Field) -> str:
    m = f.metadata
    if m["choices"]:
        return " | ".join(m["choices"])
    kind = _kind(f)
    if kind is bool:
        return "true | false"
    text = f"{kind.__name__} in [{m['lo']:g}, {m['hi']:g}]"
    return text + (" or None" if m["optional"] else "")


_KINDS = {name: _kind(f) for name, f in _FIELDS.items()}  # a sweep validates thousands of Params


def _check(f: dataclasses.Field, value: Any) -> Any:
    """Validate one knob value; return it normalised (ints as int, floats as float)."""
    m, kind = f.metadata, _KINDS[f.name]
    if value is None:
        if m["optional"]:
            return None
    elif kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is str:
        if isinstance(value, str) and value in m["choices"]:
            return value
    elif (not isinstance(value, bool) and isinstance(value, int | float)
          and math.isfinite(value) and m["lo"] <= value <= m["hi"]):
        if kind is float:
            return float(value)
        if float(value) == int(value):
            return int(value)
    raise ParamError(f"{f.name}={value!r} is not accepted; accepted: {_accepted(f)}")


def parse_knob(text: str) -> tuple[str, Any]:
    """Parse 'knob=value' (CLI --set / --grid item) by the knob's type; ParamError if bad."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep:
        raise ParamError(f"{text!r} is not knob=value")
    return name, parse_value(name, raw.strip())


def parse_value(name: str, raw: str) -> Any:
    """Turn the text `raw` into a value of knob `name`'s type (none/None, true/false, numbers)."""
    f = _FIELDS.get(name)
    if f is None:
        raise ParamError(f"unknown knob {name!r}; accepted: {', '.join(KNOBS)}")
    kind, low = _kind(f), raw.lower()
    if low in ("none", "null", "unlimited") and f.metadata["optional"]:
        return None
    if kind is bool:
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
    elif kind is str:
        return raw
    else:
        try:
            number = float(raw.replace("_", ""))
        except ValueError:
            pass
        else:
            return _check(f, int(number) if kind is int and number.is_integer() else number)
    raise ParamError(f"{name}={raw!r} is not accepted; accepted: {_accepted(f)}")


# Every default the report does not give, once, with reasoning and source.
ASSUMPTIONS: tuple[dict[str, str], ...] = (
    {"knob": "users", "value": "5,000,000",
     "reasoning": "the report says only 'millions of concurrent Discord users'; 5 million is a "
                  "round figure inside 'millions' for a March-2017 weekday afternoon",
     "source": "report: 'reconnect millions of concurrent Discord users'"},
    {"knob": "presence_nodes", "value": "3",
     "reasoning": "losing one presence node stalls the sessions linked to it; with 3 nodes that "
                  "is the report's '1/3rd of all connected sessions'",
     "source": "report: 'this caused 1/3rd of all connected sessions on Discord to effectively "
               "stall'"},
    {"knob": "session_nodes", "value": "50 (100,000 sessions each)",
     "reasoning": "Erlang nodes comfortably hold ~10^5 websocket processes; 'members of the "
                  "sessions cluster' implies tens of nodes",
     "source": "assumption"},
    {"knob": "session_load_spread", "value": "0.2",
     "reasoning": "nodes are not equally loaded, so they cross the memory limit at different "
                  "times and the crash spreads over minutes ('began to OOM')",
     "source": "report: 'members of the sessions cluster began to OOM'"},
    {"knob": "presence_capacity, presence_ops_per_session", "value": "70,000 ops/s, 0.02 ops/s",
     "reasoning": "background presence load 5M x 0.02 = 100k ops/s: utilisation rho = 0.48 on 3 "
                  "nodes and 0.71 on the 2 that survive the lost node, so once every session has "
                  "re-linked the cluster has headroom (rho < 0.75); what keeps it down is the "
                  "herd's own retries, not lost capacity",
     "source": "assumption; report: 'millions of processes reconnecting quickly overloaded the "
               "remaining presence servers'"},
    {"knob": "link_cost_ops", "value": "4",
     "reasoning": "a link request registers a session with presence (its guilds, friends and "
                  "subscriptions), several times the work of a background update; at 4, the "
                  "first 5 s after the loss re-link about a tenth of the stranded sessions, so "
                  "about a third stay stalled, as the report says",
     "source": "assumption; report: 'this caused 1/3rd of all connected sessions on Discord to "
               "effectively stall'"},
    {"knob": "presence_rtt_s", "value": "0.005 s",
     "reasoning": "a round trip inside one data centre is well under a millisecond; 5 ms allows "
                  "for Erlang distribution and scheduling; it bounds how fast an in-flight slot "
                  "turns over (limit x nodes / round trip requests per second)",
     "source": "assumption"},
    {"knob": "node_memory_gb, session_base_kb", "value": "64 GB, 100 KB",
     "reasoning": "a 64 GB VM; an idle Erlang session process with its state ~100 KB, so a node "
                  "idles at ~10 GB; together with the event rate this puts the first OOM ~12 min "
                  "after the fault",
     "source": "report: 11:38 trigger, 'By 11:50 ... began to OOM'"},
    {"knob": "event_rate, event_kb", "value": "2 events/s, 1 KB",
     "reasoning": "a user in several large servers receives messages, typing, presence and "
                  "member updates every second; a JSON event is ~1 KB",
     "source": "assumption; report: 'participating in many large servers'"},
    {"knob": "rpc_timeout_s", "value": "5 s",
     "reasoning": "the default 5 s timeout of an Erlang gen_server:call",
     "source": "Erlang/OTP gen_server documentation (default timeout 5000 ms)"},
    {"knob": "reconnect_base_s, reconnect_cap_s, reconnect_jitter", "value": "1 s, 4 s, none",
     "reasoning": "the 2017 session processes retried presence quickly and in lockstep (the "
                  "herd); a short cap without jitter keeps them synchronised",
     "source": "report: 'attempted a reconnection, triggering a massive \"thundering herd\"'"},
    {"knob": "client_reconnect_base_s, client_reconnect_cap_s, client_reconnect_jitter",
     "value": "5 s, 60 s, full",
     "reasoning": "desktop/web clients reconnect with randomised exponential backoff: a first "
                  "wait of a few seconds (U(0, 5 s)), doubling up to a minute",
     "source": "assumption (common client practice)"},
    {"knob": "connect_rate_limit", "value": "None in 2017; 6,000/s after the 13:35 patches",
     "reasoning": "no admission limit before the patches; 6,000/s admits 5 million users in "
                  "~14 minutes, inside the report's 'under 16 minutes'",
     "source": "report: 'patches introduce limitations on connections'; 'under 16 minutes'"},
    {"knob": "session_restart_s", "value": "60 s",
     "reasoning": "a crashed Erlang node is restarted by its supervisor within a minute",
     "source": "assumption"},
    {"knob": "lockup_duration_s, lockup_interval_s", "value": "25 s, 420 s",
     "reasoning": "'around 40 20-30 second lockups' over the ~4.5 h from 11:38 to 16:10 is about "
                  "one every 7 minutes",
     "source": "report: 'this incident caused around 40 20-30 second lockups'"},
    {"knob": "sending_disabled_event_fraction", "value": "0.3",
     "reasoning": "with message sending disabled, presence, typing-free member and voice "
                  "updates still flow; messages are the larger part of the events",
     "source": "assumption; report: 'globally disable message sending in an attempt to shed "
               "load'"},
    {"knob": "inflight_limit (fixed preset)", "value": "1,000 per session node",
     "reasoning": "by Little's law the requests in flight wait (limit x nodes x link_cost) / "
                  "spare capacity: 50 x 1,000 x 4 = 200k ops of work against 73k ops/s spare "
                  "while the herd drains is under 3 s, inside the 5 s timeout, so none is wasted",
     "source": "report: 'added a hard limit to the number of in-flight connections'"},
    {"knob": "ignore_presence (replay)", "value": "14:58, 4 min after the 14:54 decision",
     "reasoning": "the report gives no time for 'ignore the presence cluster ... and work on "
                  "correcting the state of sessions'; it takes effect, the model assumes, a few "
                  "minutes after the decision, before the sessions run out of memory",
     "source": "report: 'The decision is made to ignore the presence cluster for the time being'"},
)

# Plausible (low, high) of each guessed knob, with why: the ranges the sensitivity analysis and the
# headline's uncertainty sample. Knobs the report pins (presence_nodes: its '1/3rd') are absent.
RANGES: dict[str, tuple[float, float, str]] = {
    "users": (2e6, 10e6, "'millions of concurrent users': from 2 to 10 million"),
    "session_nodes": (25, 100, "50,000 to 200,000 sessions per Erlang node"),
    "session_load_spread": (0.05, 0.4, "from nearly even load to nodes 40% above the mean"),
    "presence_capacity": (55_000, 100_000, "from rho = 0.91 to 0.5 on the two surviving nodes "
                          "once everyone has re-linked"),
    "link_cost_ops": (2, 8, "a link request from twice to eight times a background update"),
    "presence_rtt_s": (0.001, 0.02, "from a quiet data-centre round trip to a busy one"),
    "presence_ops_per_session": (0.01, 0.04, "half to twice the assumed background rate"),
    "node_memory_gb": (32, 128, "common VM sizes around 64 GB"),
    "session_base_kb": (50, 200, "half to twice an assumed idle session"),
    "event_rate": (1, 4, "half to twice the events a busy user receives"),
    "event_kb": (0.5, 2, "half to twice the size of an assumed JSON event"),
    "rpc_timeout_s": (2, 10, "around gen_server's 5 s default, tuned either way"),
    "reconnect_base_s": (0.5, 2, "a quick first retry, half to twice the assumed 1 s"),
    "reconnect_cap_s": (2, 8, "a short cap, half to twice the assumed 4 s"),
    "client_reconnect_base_s": (2, 10, "a first client wait of a few seconds"),
    "client_reconnect_cap_s": (30, 120, "client backoff caps from half a minute to two"),
    "session_restart_s": (30, 180, "a supervisor restart within half a minute to three"),
    "lockup_duration_s": (20, 30, "the report's '20-30 second lockups'"),
    "lockup_interval_s": (300, 600, "about 40 lockups over ~4.5 h: every 5 to 10 minutes"),
    "sending_disabled_event_fraction": (0.1, 0.5, "a tenth to half of the events are not "
                                        "messages"),
}


Params.__doc__ = (Params.__doc__ or "") + "\n\nKnobs (default; accepted):\n" + "\n".join(
    f"    {r['knob']} ({r['default']!r}; {r['accepted']}): {r['doc']}" for r in Params.describe())


def assumptions_markdown() -> str:
    """The ASSUMPTIONS as the markdown table of docs/model.md (a test keeps the two equal)."""
    lines = ["| knob | default | reasoning | source |", "|---|---|---|---|"]
    for row in ASSUMPTIONS:
        cells = [row[k].replace("|", "\\|") for k in ("knob", "value", "reasoning", "source")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
