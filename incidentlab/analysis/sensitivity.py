"""Which assumptions matter: Sobol indices of the model's outputs over the assumptions' ranges.

Saltelli's design (two random matrices A, B and, per knob, A with that knob's column from B:
n x (k + 2) runs), Saltelli's (2010) first-order and Jansen's total-order estimators, and
bootstrap confidence intervals. First order S1: the share of an output's variance that knob
explains alone; total ST: its share with every interaction. ST near 0: the guess does not matter.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import polars as pl

from incidentlab.analysis.grid import as_scenario
from incidentlab.analysis.sampling import OUTPUTS, check_ranges, evaluate, scale
from incidentlab.errors import ParamError
from incidentlab.model.params import Params
from incidentlab.model.scenario import Scenario

RESAMPLES = 300  # bootstrap resamples for the confidence intervals
COLUMNS = ("output", "knob", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high")


def sensitivity(scenario: Scenario | Params | str,
                ranges: Mapping[str, Sequence[Any]] | None = None,
                outputs: Sequence[str] = tuple(OUTPUTS), n: int = 128,
                executor: Executor | None = None, seed: int = 0, confidence: float = 0.95,
                progress: Callable[[int], None] | None = None) -> pl.DataFrame:
    """Sobol indices of `outputs` for each knob of `ranges` (default: the assumptions' RANGES)
    around `scenario`; n * (knobs + 2) runs on `executor` (default all local cores).

    One row per (output, knob), most influential (total index) first: S1 and ST with their
    `confidence` bootstrap intervals. An output that never varies has null indices.
    """
    base = as_scenario(scenario)
    bounds = check_ranges(ranges)
    for name in outputs:
        if name not in OUTPUTS:
            raise ParamError(f"unknown output {name!r}; accepted: {', '.join(OUTPUTS)}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ParamError(f"n={n!r}; accepted: an integer >= 2 (base samples; runs = n x (knobs+2))")
    names, k = list(bounds), len(bounds)
    rng = np.random.default_rng(seed)
    a, b = rng.random((n, k)), rng.random((n, k))
    blocks = [a, b]
    for i in range(k):
        ab = a.copy()
        ab[:, i] = b[:, i]
        blocks.append(ab)
    values = evaluate(base, names, scale(np.concatenate(blocks), bounds), executor, progress)
    rows = []
    for output in outputs:
        f = values[output].reshape(k + 2, n)
        s1, st = indices(f[0], f[1], f[2:].T)
        (s1_lo, s1_hi), (st_lo, st_hi) = _bootstrap(f, rng, confidence)
        for i, knob in enumerate(names):
            rows.append((output, knob, s1[i], s1_lo[i], s1_hi[i], st[i], st_lo[i], st_hi[i]))
    frame = pl.DataFrame(rows, schema=list(COLUMNS), orient="row").fill_nan(None)
    order = {o: i for i, o in enumerate(outputs)}
    return frame.sort(pl.col("output").replace_strict(order), pl.col("ST"),
                      descending=[False, True], nulls_last=True)


def indices(fa: np.ndarray, fb: np.ndarray, fab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-order and total Sobol indices from f(A) (n,), f(B) (n,), f(AB_i) (n, k)."""
    var = np.var(np.concatenate([fa, fb]))
    if not var > 0:
        nan = np.full(fab.shape[1], np.nan)
        return nan, nan
    s1 = np.mean(fb[:, None] * (fab - fa[:, None]), axis=0) / var
    st = 0.5 * np.mean((fa[:, None] - fab) ** 2, axis=0) / var
    return s1, st


def _bootstrap(f: np.ndarray, rng: np.random.Generator, confidence: float):
    """Percentile intervals of S1 and ST over resamples of the n base rows."""
    n = f.shape[1]
    draws = rng.integers(0, n, (RESAMPLES, n))
    s1s, sts = zip(*(indices(f[0, d], f[1, d], f[2:, d].T) for d in draws), strict=True)
    q = [(1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100]
    with warnings.catch_warnings():  # a resample may hold one value only: no variance, NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(np.nanpercentile(np.array(x), q, axis=0) for x in (s1s, sts))


def sensitivity_markdown(frame: pl.DataFrame) -> str:
    """A markdown table: one row per knob, one column per output, each cell 'ST ± half-width
    (S1)'; knobs ordered by their largest total index."""
    outputs = list(dict.fromkeys(frame["output"]))
    knobs = (frame.group_by("knob").agg(pl.col("ST").max().alias("top"))
             .sort("top", descending=True, nulls_last=True)["knob"].to_list())
    cells = {(r["output"], r["knob"]): r for r in frame.iter_rows(named=True)}
    lines = ["| knob | " + " | ".join(outputs) + " |", "|---|" + "---:|" * len(outputs)]
    for knob in knobs:
        row = [_cell(cells[(o, knob)]) for o in outputs]
        lines.append(f"| {knob} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _cell(r: dict[str, Any]) -> str:
    if r["ST"] is None:
        return "–"
    if r["ST_low"] is None:
        return f"{r['ST']:.2f} ({r['S1']:.2f})"
    half = (r["ST_high"] - r["ST_low"]) / 2
    return f"{r['ST']:.2f} ± {half:.2f} ({r['S1']:.2f})"
