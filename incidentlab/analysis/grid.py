"""Grids of scenarios: every combination of some knobs, one outcome row each, streamed in batches.

The grid is counted before any combination is built, so an oversized grid is refused at once;
combinations are decoded batch by batch (in the workers), so memory stays flat in the grid size
and the horizon. Batches run on any concurrent.futures.Executor (default: all local cores).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import polars as pl

from incidentlab.analysis.runner import Batch, batch_size, run
from incidentlab.errors import ParamError, ScenarioError
from incidentlab.model.outcome import Outcome
from incidentlab.model.params import KNOBS, Params
from incidentlab.model.scenario import Scenario

MAX_SCENARIOS = 1_000_000

OUTCOME_SCHEMA = {
    "first_oom_s": pl.Float64, "oom_crashes": pl.Int64, "peak_stalled_fraction": pl.Float64,
    "events_produced": pl.Float64, "events_delivered": pl.Float64, "events_lost": pl.Float64,
    "events_dropped": pl.Float64, "recovered": pl.Boolean, "time_to_recover_s": pl.Float64,
    "peak_presence_load_ratio": pl.Float64, "user_minutes_lost": pl.Float64,
}
assert list(OUTCOME_SCHEMA) == [f.name for f in dataclasses.fields(Outcome)]


def sweep(base: Scenario | Params | str, *, executor: Executor | None = None,
          max_scenarios: int = MAX_SCENARIOS, timelines: str | Path | None = None,
          every_s: float = 60.0, **grids: Iterable[Any]) -> pl.DataFrame:
    """Run every combination of the knob values in `grids` on top of `base` (a Scenario, Params
    or preset name). Returns one row per scenario: the grid knobs, then the Outcome fields.

    `executor`: any concurrent.futures.Executor (a Dask `Client.get_executor()` too); default
    all local cores. `timelines`: a directory that receives one Parquet file per batch (columns
    scenario, t_s and the engine's record, one row every `every_s` seconds); the frame then
    starts with a `scenario` column that those files refer to.
    """
    scenario = as_scenario(base)
    names, values = _grids(grids)
    total = math.prod(len(v) for v in values)
    if total > max_scenarios:
        sizes = " x ".join(str(len(v)) for v in values)
        raise ParamError(f"sweep of {sizes} = {total:,} scenarios; accepted: at most "
                         f"{max_scenarios:,} (fewer values per grid, or max_scenarios=)")
    fix = _fix_buffer_policy(scenario, names)
    _check_values(scenario, names, values, fix)
    target = None
    if timelines is not None:
        target = Path(timelines)
        target.mkdir(parents=True, exist_ok=True)
    steps = round(max(_all(scenario, names, values, "horizon_s"))
                  / min(_all(scenario, names, values, "dt_s")))
    size = batch_size(steps, total)
    batches = (Batch(scenario, tuple(names), None, tuple(values), start, min(start + size, total),
                     fix, None if target is None else str(target), every_s)
               for start in range(0, total, size))
    frames = [pl.DataFrame(rows, schema=OUTCOME_SCHEMA, orient="row")
              for rows in run(batches, executor, work=total * steps)]
    outcomes = pl.concat(frames) if frames else pl.DataFrame(schema=OUTCOME_SCHEMA)
    knobs = pl.DataFrame({n: pl.Series(n, _column(values, i), strict=False)
                          for i, n in enumerate(names)})
    if target is not None:
        knobs = knobs.select(pl.int_range(total, dtype=pl.Int64).alias("scenario"), pl.all())
    return pl.concat([knobs, outcomes], how="horizontal")


def count(**grids: Iterable[Any]) -> int:
    """How many scenarios a sweep of `grids` runs (nothing is built)."""
    return math.prod(len(v) for v in _grids(grids)[1])


def as_scenario(base: Scenario | Params | str) -> Scenario:
    """A Scenario from a Scenario, Params or preset name."""
    if isinstance(base, Scenario):
        return base
    if isinstance(base, Params):
        return Scenario(params=base)
    if isinstance(base, str):
        from incidentlab.model.presets import presets

        return presets[base]
    raise ScenarioError(f"sweep base must be a Scenario, Params or preset name, not "
                        f"{type(base).__name__}")


def _grids(grids: dict[str, Iterable[Any]]) -> tuple[list[str], list[Sequence[Any]]]:
    if not grids:
        raise ParamError("sweep needs at least one grid, e.g. sweep(base, inflight_limit=[None, "
                         "100, 1000])")
    names, values = [], []
    for name, grid in grids.items():
        if name not in KNOBS:
            raise ParamError(f"unknown knob {name!r} in sweep grid; accepted: {', '.join(KNOBS)}")
        if isinstance(grid, str) or not isinstance(grid, Iterable):
            raise ParamError(f"grid {name}={grid!r} must be a list of values")
        vals = grid if isinstance(grid, Sequence) else list(grid)
        if not len(vals):
            raise ParamError(f"grid {name}=[] is empty; accepted: one or more values")
        names.append(name)
        values.append(vals)
    return names, values


def _fix_buffer_policy(scenario: Scenario, names: list[str]) -> bool:
    """A buffer_limit grid on an unbounded base means drop-oldest; say so once."""
    if ("buffer_limit" not in names or "buffer_policy" in names
            or scenario.params.buffer_policy != "unbounded"):
        return False
    warnings.warn("the base buffers without limit, so the buffer_limit grid runs with "
                  "buffer_policy='drop-oldest' (pass buffer_policy=['disconnect'] for the other "
                  "policy)", UserWarning, stacklevel=3)
    return True


def _check_values(scenario: Scenario, names: list[str], values: list[Sequence[Any]],
                  fix: bool) -> None:
    """Every value of every grid on its own (cheap: one validation per value, not per
    combination), so a bad value fails before any run."""
    for name, vals in zip(names, values, strict=True):
        for v in vals:
            knobs = {name: v}
            if name == "buffer_limit" and fix:
                knobs["buffer_policy"] = "unbounded" if v is None else "drop-oldest"
            try:
                scenario.replace(**knobs)
            except ParamError as err:
                if "is not accepted" in str(err):
                    raise
    scenario.replace(**_first(names, values, fix))


def _first(names: list[str], values: list[Sequence[Any]], fix: bool) -> dict[str, Any]:
    from incidentlab.analysis.runner import knobs_of

    return knobs_of(names, [v[0] for v in values], fix)


def _all(scenario: Scenario, names: list[str], values: list[Sequence[Any]],
         knob: str) -> Sequence[float]:
    return values[names.index(knob)] if knob in names else [getattr(scenario.params, knob)]


def _column(values: list[Sequence[Any]], i: int) -> list[Any]:
    """The i-th knob's value in every row, in itertools.product order, without the product."""
    inner = math.prod(len(v) for v in values[i + 1:])
    outer = math.prod(len(v) for v in values[:i])
    return [v for v in values[i] for _ in range(inner)] * outer
