"""The headline with its range: a scenario's outcome, and where it lands over the assumptions'
plausible ranges ("first OOM 12.0 min, 9.1–16.3 min over the assumptions")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import polars as pl

from incidentlab import fmt
from incidentlab.analysis.grid import as_scenario
from incidentlab.analysis.sampling import OUTPUTS, check_ranges, evaluate, scale
from incidentlab.errors import ParamError
from incidentlab.model.params import Params
from incidentlab.model.scenario import Scenario

COLUMNS = ("output", "value", "low", "high", "runs", "without_oom")


def uncertainty(scenario: Scenario | Params | str,
                ranges: Mapping[str, Sequence[Any]] | None = None, n: int = 64,
                executor: Executor | None = None, seed: int = 0,
                quantiles: tuple[float, float] = (0.05, 0.95)) -> pl.DataFrame:
    """The scenario's own outputs beside their `quantiles` over n draws from `ranges` (default
    the assumptions' RANGES). One row per output; first_oom_min's range is over the draws that
    crash, and `without_oom` counts those that do not."""
    base = as_scenario(scenario)
    bounds = check_ranges(ranges)
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ParamError(f"n={n!r}; accepted: an integer >= 2 (runs over the ranges)")
    names = list(bounds)
    unit = np.random.default_rng(seed).random((n, len(names)))
    points = [tuple(getattr(base.params, k) for k in names), *scale(unit, bounds)]
    values = evaluate(base, names, points, executor)
    oom = values.pop("_oom")
    rows = []
    for output in OUTPUTS:
        v = values[output]
        drawn = v[1:][oom[1:]] if output == "first_oom_min" else v[1:]
        low, high = (np.quantile(drawn, quantiles) if len(drawn) else (np.nan, np.nan))
        central = None if output == "first_oom_min" and not oom[0] else float(v[0])
        rows.append((output, central, float(low), float(high), n, int(n - oom[1:].sum())))
    return pl.DataFrame(rows, schema=list(COLUMNS), orient="row").fill_nan(None)


def headline(frame: pl.DataFrame) -> str:
    """The first OOM and the user-minutes lost with their ranges, in one sentence."""
    r = {row["output"]: row for row in frame.iter_rows(named=True)}
    oom, lost = r["first_oom_min"], r["user_minutes_lost"]
    n = oom["runs"]

    def minutes(x: float | None) -> str:
        return fmt.minutes(None if x is None else x * 60)

    if oom["low"] is None:
        first = f"first OOM {minutes(oom['value'])} (no OOM in any of {n} runs)"
    else:
        first = (f"first OOM {minutes(oom['value'])}, {minutes(oom['low'])} to "
                 f"{minutes(oom['high'])} over the assumptions")
        if oom["without_oom"]:
            first += f" (no OOM in {oom['without_oom']} of {n} runs)"
    return (f"{first}; user-minutes lost {fmt.count(lost['value'])}, "
            f"{fmt.count(lost['low'])} to {fmt.count(lost['high'])} "
            f"(5th to 95th percentile of {n} runs over the plausible ranges).")
