"""Grids of scenarios: every combination of some knobs, run batched, one outcome row each."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from typing import Any

import polars as pl

from incidentlab.errors import ParamError, ScenarioError
from incidentlab.model.engine import simulate_batch
from incidentlab.model.outcome import Outcome
from incidentlab.model.params import KNOBS, Params
from incidentlab.model.scenario import Scenario

MAX_SCENARIOS = 10_000

_OUTCOME_SCHEMA = {
    "first_oom_s": pl.Float64, "oom_crashes": pl.Int64, "peak_stalled_fraction": pl.Float64,
    "events_produced": pl.Float64, "events_delivered": pl.Float64, "events_lost": pl.Float64,
    "events_dropped": pl.Float64, "recovered": pl.Boolean, "time_to_recover_s": pl.Float64,
    "peak_presence_load_ratio": pl.Float64, "user_minutes_lost": pl.Float64,
}
assert list(_OUTCOME_SCHEMA) == [f.name for f in dataclasses.fields(Outcome)]


def sweep(base: Scenario | Params | str, **grids: Iterable[Any]) -> pl.DataFrame:
    """Run every combination of the knob values in `grids` on top of `base` (a Scenario, Params
    or preset name). Returns one row per scenario: the grid knobs, then the Outcome fields.

    Scenarios are run batched (one compiled loop per array shape); timelines are not kept.
    """
    scenario = _base(base)
    if not grids:
        raise ParamError("sweep needs at least one grid, e.g. sweep(base, inflight_limit=[None, "
                         "100, 1000])")
    names, values = [], []
    for name, grid in grids.items():
        if name not in KNOBS:
            raise ParamError(f"unknown knob {name!r} in sweep grid; accepted: {', '.join(KNOBS)}")
        if isinstance(grid, str) or not isinstance(grid, Iterable):
            raise ParamError(f"grid {name}={grid!r} must be a list of values")
        vals = list(grid)
        if not vals:
            raise ParamError(f"grid {name}=[] is empty; accepted: one or more values")
        names.append(name)
        values.append(vals)
    combos = list(itertools.product(*values))
    if len(combos) > MAX_SCENARIOS:
        raise ParamError(f"sweep of {len(combos)} scenarios; accepted: at most {MAX_SCENARIOS}")
    scenarios = [scenario.replace(**dict(zip(names, combo, strict=True))) for combo in combos]
    outcomes, _ = simulate_batch(scenarios)
    columns: dict[str, list] = {name: [] for name in names}
    for combo in combos:
        for name, v in zip(names, combo, strict=True):
            columns[name].append(v)
    frame = pl.DataFrame({n: pl.Series(n, columns[n], strict=False) for n in names})
    rows = [o.as_dict() for o in outcomes]
    outcome_frame = pl.DataFrame(rows, schema=_OUTCOME_SCHEMA)
    return pl.concat([frame, outcome_frame], how="horizontal")


def _base(base: Scenario | Params | str) -> Scenario:
    if isinstance(base, Scenario):
        return base
    if isinstance(base, Params):
        return Scenario(params=base)
    if isinstance(base, str):
        from incidentlab.model.presets import presets

        return presets[base]
    raise ScenarioError(f"sweep base must be a Scenario, Params or preset name, not "
                        f"{type(base).__name__}")
