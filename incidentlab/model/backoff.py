"""Backoff waits as tables the step loop can apply: for each attempt level, where on the step
grid the retries of a cohort that failed at one instant (or spread over one step) land.

Waits are exact continuous distributions, binned onto steps, never rounded up to a step:
none = min(cap, base*2^k); full = U(0, that); equal = that/2 + U(0, that/2); decorrelated =
min(cap, U(base, 3*previous)) from previous = base, its per-attempt marginal computed on a fine
grid and carried over as many levels as it takes to stop changing. Tables are stored as sparse
differences of the per-step masses, so a uniform wait costs a few entries however long it is.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from incidentlab.errors import ParamError

MAX_LEVELS = 200
_CONVERGED = 1e-4  # a level whose CDF moved less than this (sup norm) repeats from then on


class Backoff(NamedTuple):
    """One backoff policy on one step grid, as the loop reads it (build with `backoff`)."""

    delta: np.ndarray  # [K] the wait in steps where it is a fixed number (jitter none), else -1
    idx: np.ndarray  # [3, K, M] steps ahead of each nonzero difference of per-step masses
    val: np.ndarray  # [3, K, M] that difference; tables: ATOM, LATE, SPREAD
    nnz: np.ndarray  # [3, K] how many differences each level has
    reach: int  # the furthest step ahead a retry can land, plus margin


# Which table: a cohort failing at one instant (its retries may land in that very step); one
# failing at an instant after the step's arrivals were counted (from the next step on); one
# spread over a step (from the next step on).
ATOM, LATE, SPREAD = 0, 1, 2


def cap_of_level(base: float, cap: float, level: int) -> float:
    """The exponential ceiling of attempt `level`: min(cap, base * 2^level)."""
    return min(cap, base * 2.0 ** min(level, 1000))


def levels_needed(jitter: str, base: float, cap: float) -> int:
    """Attempt levels until the wait distribution stops changing (the last level repeats)."""
    if base <= 0 or cap <= base:
        return 2
    if jitter == "decorrelated":
        return len(_decorrelated_cdfs(base, cap)[1]) + 1
    return min(MAX_LEVELS, math.ceil(math.log2(cap) - math.log2(base)) + 2)


def wait_masses(jitter: str, base: float, cap: float, dt: float, levels: int | None = None,
                spread: bool = False) -> np.ndarray:
    """masses[k, j]: probability that a retry after failure k lands in step j after the failure
    (spread=False: the failure at one instant, a step start; spread=True: failures spread
    evenly over one step). Rows sum to 1."""
    levels = levels or levels_needed(jitter, base, cap)
    width = math.ceil(cap / dt) + 3
    edges = np.arange(width + 1) * dt
    out = np.zeros((levels, width))
    for k, (cdf_left, window_mean) in enumerate(_distributions(jitter, base, cap, levels)):
        # spread: w + U(0, dt), whose CDF is the mean of F over [x - dt, x]; at one instant:
        # F(x-), so a wait of exactly j steps lands in step j
        cdf = window_mean(edges, dt) if spread else cdf_left(edges)
        cdf = np.clip(cdf, 0.0, 1.0)
        cdf[-1] = 1.0
        out[k] = np.diff(cdf)
    return out


def backoff(jitter: str, base: float, cap: float, dt: float) -> Backoff:
    """The loop's tables for one policy on a grid of `dt` seconds."""
    levels = levels_needed(jitter, base, cap)
    delta = np.full(levels, -1.0)
    if jitter == "none":
        delta[:] = [cap_of_level(base, cap, k) / dt for k in range(levels)]
        return Backoff(delta, np.zeros((3, levels, 1), np.int64), np.zeros((3, levels, 1)),
                       np.zeros((3, levels), np.int64), math.ceil(cap / dt) + 4)
    atom = wait_masses(jitter, base, cap, dt, levels)
    late = _none_in_first_step(atom)
    spread = _none_in_first_step(wait_masses(jitter, base, cap, dt, levels, spread=True))
    tables = [_sparse_diffs(m) for m in (atom, late, spread)]
    width = max(t[0].shape[1] for t in tables)
    idx = np.zeros((3, levels, width), np.int64)
    val = np.zeros((3, levels, width))
    for i, (ti, tv, _) in enumerate(tables):
        idx[i, :, : ti.shape[1]] = ti
        val[i, :, : tv.shape[1]] = tv
    return Backoff(delta, idx, val, np.stack([t[2] for t in tables]), atom.shape[1] + 4)


def _none_in_first_step(masses: np.ndarray) -> np.ndarray:
    out = masses.copy()
    out[:, 1] += out[:, 0]
    out[:, 0] = 0.0
    return out


def check_cost(jitter: str, base: float, cap: float, dt: float, steps: int, what: str) -> None:
    """Refuse a policy whose tables would make a run slow (dense waits on a very fine grid)."""
    if jitter != "decorrelated":
        return
    width = math.ceil(cap / dt)
    if width * steps > 4e9:
        raise ParamError(
            f"{what} decorrelated jitter with cap {cap:g} s on dt_s={dt:g} needs {width:,} steps "
            f"of wait per attempt over {steps:,} steps: too slow to simulate; accepted: "
            f"cap/dt_s x steps <= 4e9 (raise dt_s to {cap * steps / 4e9:.3g} or lower the cap)")


# -- distributions -------------------------------------------------------------------------

def _uniform(a: float, b: float):
    """U(a, b) (a point mass when a == b): F(x-), and the mean of F over [x - dt, x]."""
    def cdf_left(x: np.ndarray) -> np.ndarray:
        if b - a <= 1e-12:
            return (x > a).astype(float)
        return np.clip((x - a) / (b - a), 0.0, 1.0)

    def window_mean(x: np.ndarray, dt: float) -> np.ndarray:
        lo, hi = x - dt, x
        if b - a <= 1e-12:
            return (np.clip(hi, a, None) - np.clip(lo, a, None)) / dt
        p, q = np.clip(lo, a, b), np.clip(hi, a, b)
        ramp = (q - p) * (q + p - 2 * a) / (2 * (b - a))  # product form: no cancellation
        return (ramp + np.maximum(hi - np.maximum(lo, b), 0.0)) / dt
    return cdf_left, window_mean


def _distributions(jitter: str, base: float, cap: float, levels: int) -> list:
    """Per level, (F(x-), mean of F over a window) of the wait."""
    if jitter == "decorrelated" and (base <= 0 or cap <= base):
        return [_uniform(min(cap, base), min(cap, base))] * levels
    if jitter == "decorrelated":
        grid, cdfs = _decorrelated_cdfs(base, cap)
        cdfs = cdfs + [cdfs[-1]] * max(0, levels - len(cdfs))
        return [_on_grid(grid, c) for c in cdfs[:levels]]
    out = []
    for k in range(levels):
        c = cap_of_level(base, cap, k)
        out.append(_uniform({"none": c, "full": 0.0, "equal": c / 2}[jitter], c))
    return out


def _on_grid(grid: np.ndarray, cdf: np.ndarray):
    """F and its window mean for a CDF known on a grid (linear between points, then 1)."""
    steps = np.diff(grid) * (cdf[1:] + cdf[:-1]) / 2
    cum = np.concatenate([[0.0], np.cumsum(steps)])
    top = grid[-1]

    def integral(x: np.ndarray) -> np.ndarray:
        inside = np.interp(np.clip(x, grid[0], top), grid, cum)
        return inside + np.maximum(x - top, 0.0)

    def cdf_left(x: np.ndarray) -> np.ndarray:
        return np.interp(x, grid, cdf, left=0.0, right=1.0)

    def window_mean(x: np.ndarray, dt: float) -> np.ndarray:
        return (integral(x) - integral(x - dt)) / dt
    return cdf_left, window_mean


def _decorrelated_cdfs(base: float, cap: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """CDFs of W_k = min(cap, U(base, 3 W_{k-1})), W_{-1} = base, on a grid, per level, until
    a level changes the CDF by less than _CONVERGED (cached: a Lab redraw asks again)."""
    key = (float(base), float(cap))
    if key not in _DECORRELATED:
        _DECORRELATED[key] = _decorrelated_grid(*key)
    return _DECORRELATED[key]


_DECORRELATED: dict[tuple[float, float], tuple[np.ndarray, list[np.ndarray]]] = {}


def _decorrelated_grid(base: float, cap: float) -> tuple[np.ndarray, list[np.ndarray]]:
    g = int(min(200_000.0, max(4_000.0, cap * 40 / base)))  # 40 points per base, within limits
    h = cap / g
    x = np.arange(g + 1) * h
    lo = min(g, round(base / h))
    mass = np.zeros(g + 1)
    mass[lo] = 1.0
    cdfs: list[np.ndarray] = []
    for _ in range(MAX_LEVELS):
        hi = np.round(3 * x / h).astype(np.int64)  # U(base, 3v) covers grid points lo..hi
        ok = (mass > 0) & (hi >= lo)
        dens = np.where(ok, mass / np.maximum(hi - lo + 1, 1), 0.0)
        diff = np.zeros(g + 2)
        diff[lo] += dens.sum()
        np.add.at(diff, np.minimum(hi, g)[ok] + 1, -dens[ok])
        new = np.cumsum(diff)[: g + 1]
        new[g] += (dens * np.maximum(hi - g, 0)).sum()  # waits above cap wait cap
        mass = np.maximum(new, 0.0) / max(new.sum(), 1e-300)
        cdf = np.cumsum(mass)
        if cdfs and np.abs(cdf - cdfs[-1][1:]).max() < _CONVERGED:
            break
        # grid point i stands for the cell [x_i, x_i + h): the CDF rises linearly across it
        cdfs.append(np.concatenate([[0.0], cdf]))
    return np.concatenate([[0.0], x + h]), cdfs  # cell i spans [x_i, x_i + h)


def _sparse_diffs(masses: np.ndarray):
    """Per level, the nonzero differences of the per-step masses: (idx, val, n)."""
    levels = masses.shape[0]
    d = np.diff(np.concatenate([np.zeros((levels, 1)), masses, np.zeros((levels, 1))], axis=1),
                axis=1)
    d[np.abs(d) < 1e-13] = 0.0  # float noise of the binning, not a change of density
    n = np.count_nonzero(d, axis=1)
    m = max(1, int(n.max()))
    idx = np.zeros((levels, m), np.int64)
    val = np.zeros((levels, m))
    for k in range(levels):
        nz = np.flatnonzero(d[k])
        idx[k, : len(nz)] = nz
        val[k, : len(nz)] = d[k, nz]
    return idx, val, n.astype(np.int64)
