"""Points drawn from the assumptions' plausible ranges, and their runs, as output arrays.

Shared by `sensitivity` and `uncertainty`: both draw knob values uniformly in `RANGES` (or the
caller's ranges) with a fixed seed, run them batched on an executor, and read a few outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from incidentlab.analysis.runner import Batch, batch_size, run
from incidentlab.errors import ParamError
from incidentlab.model.params import KNOBS, RANGES, Params
from incidentlab.model.scenario import Scenario

OUTPUTS: dict[str, str] = {
    "first_oom_min": "minutes from the fault to the first OOM (the horizon when none)",
    "oom_crashes": "session-node crashes",
    "events_lost": "events lost with crashed nodes",
    "user_minutes_lost": "user-minutes without service",
    "recovered": "1 if the cluster is healthy at the end, else 0",
}
_INTS = {"users", "session_nodes", "presence_nodes", "buffer_limit", "inflight_limit",
         "lockup_count"}
_PAIRS = (("reconnect_base_s", "reconnect_cap_s"),
          ("client_reconnect_base_s", "client_reconnect_cap_s"))


def check_ranges(ranges: Mapping[str, Sequence[Any]] | None) -> dict[str, tuple[float, float]]:
    """(low, high) per knob from `ranges` (default RANGES); ParamError names a bad entry."""
    source = RANGES if ranges is None else ranges
    if not source:
        raise ParamError("ranges is empty; accepted: knob -> (low, high), e.g. "
                         "{'event_rate': (1, 4)}")
    out = {}
    for knob, spec in source.items():
        if knob not in KNOBS:
            raise ParamError(f"unknown knob {knob!r} in ranges; accepted: {', '.join(RANGES)}")
        try:
            low, high = float(spec[0]), float(spec[1])
        except (TypeError, ValueError, IndexError):
            raise ParamError(f"ranges[{knob!r}]={spec!r}; accepted: (low, high)") from None
        if not low < high:
            raise ParamError(f"ranges[{knob!r}]=({low:g}, {high:g}); accepted: low < high")
        Params().replace(**{knob: _value(knob, low)})
        Params().replace(**{knob: _value(knob, high)})
        out[knob] = (low, high)
    return out


def scale(unit: np.ndarray, ranges: dict[str, tuple[float, float]]) -> list[tuple[Any, ...]]:
    """Rows of the unit cube [0, 1)^k as knob values in `ranges` (integers rounded)."""
    names = list(ranges)
    low = np.array([ranges[k][0] for k in names])
    high = np.array([ranges[k][1] for k in names])
    values = low + unit * (high - low)
    return [tuple(_value(k, v) for k, v in zip(names, row, strict=True)) for row in values]


def evaluate(base: Scenario, names: Sequence[str], points: Sequence[tuple[Any, ...]],
             executor: Executor | None = None,
             progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Run `base` with each point's knob values -> one array per output of OUTPUTS."""
    points = [_consistent(base.params, names, p) for p in points]
    p = base.params
    steps = round(max(p.horizon_s, *(_col(names, points, "horizon_s") or [0]))
                  / min(p.dt_s, *(_col(names, points, "dt_s") or [p.dt_s])))
    size = batch_size(steps, len(points))
    batches = (Batch(base, tuple(names), tuple(points[i:i + size]), None, i,
                     min(i + size, len(points)), False, None, 60.0)
               for i in range(0, len(points), size))
    rows = [row for result in run(batches, executor, progress=progress,
                                              work=len(points) * steps) for row in result]
    horizon = np.array([_get(base, names, pt, "horizon_s") for pt in points]) - (
        base.fault_s or 0.0)
    first = np.array([np.nan if r["first_oom_s"] is None else r["first_oom_s"] for r in rows])
    return {
        "first_oom_min": np.where(np.isnan(first), horizon, first) / 60.0,
        "oom_crashes": np.array([r["oom_crashes"] for r in rows], dtype=float),
        "events_lost": np.array([r["events_lost"] for r in rows]),
        "user_minutes_lost": np.array([r["user_minutes_lost"] for r in rows]),
        "recovered": np.array([float(r["recovered"]) for r in rows]),
        "_oom": ~np.isnan(first),
    }


def _value(knob: str, x: float) -> Any:
    return round(x) if knob in _INTS else float(x)


def _consistent(p: Params, names: Sequence[str], point: tuple[Any, ...]) -> tuple[Any, ...]:
    """A backoff cap drawn below its base is raised to the base (the model requires cap >= base)."""
    knobs = dict(zip(names, point, strict=True))
    for base, cap in _PAIRS:
        if cap in knobs and knobs[cap] < knobs.get(base, getattr(p, base)):
            knobs[cap] = knobs.get(base, getattr(p, base))
    return tuple(knobs[n] for n in names)


def _col(names: Sequence[str], points: Sequence[tuple[Any, ...]], knob: str) -> list[float]:
    return [pt[names.index(knob)] for pt in points] if knob in names else []


def _get(base: Scenario, names: Sequence[str], point: tuple[Any, ...], knob: str) -> float:
    return point[names.index(knob)] if knob in names else getattr(base.params, knob)
