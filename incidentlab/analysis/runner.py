"""The executor seam: run batches of scenario points on any concurrent.futures.Executor.

A task is one batch: the base scenario, the knob names and a few value tuples (or a slice of a
grid, decoded in the worker so the parent never holds the grid). Workers return plain outcome
dicts; nothing but `simulate_batch` is called on the model. Results come back in order, with at
most `window` batches in flight, so memory stays flat whatever the number of scenarios.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, NamedTuple

from incidentlab.errors import IncidentlabError
from incidentlab.gcpause import cycle_collector_paused

BATCH = 64  # scenarios per task at most; the engine runs up to 64 in one compiled loop
BATCH_BYTES = 64 * 2**20  # engine arrays per task, so a 24 h or 7 day horizon stays flat
BYTES_PER_STEP = 8 * 48  # record (20 columns) + retry histories + schedule, per scenario-step


class Batch(NamedTuple):
    """What a worker needs to run one batch of scenarios."""

    base: Any  # Scenario
    names: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...] | None  # explicit points, or
    grid: tuple[tuple[Any, ...], ...] | None  # the grid values, decoded for [start, stop)
    start: int
    stop: int
    fix_policy: bool  # buffer_limit grid on an unbounded base -> drop-oldest
    timelines: str | None  # directory for Parquet parts, or None
    every_s: float


def batch_size(steps: int, total: int | None = None) -> int:
    """Scenarios per task: the engine's arrays of one task stay under BATCH_BYTES, and `total`
    scenarios make at least eight tasks per core, so no core waits for the last one."""
    size = max(1, min(BATCH, BATCH_BYTES // max(1, steps * BYTES_PER_STEP)))
    if total is not None:
        size = min(size, max(4, -(-total // (8 * cores()))))
    return size


def decode(grid: Sequence[Sequence[Any]], index: int) -> tuple[Any, ...]:
    """The `index`-th combination of itertools.product(*grid), without building the others."""
    out = []
    for values in reversed(grid):
        index, i = divmod(index, len(values))
        out.append(values[i])
    return tuple(reversed(out))


def points_of(batch: Batch) -> list[tuple[Any, ...]]:
    """The value tuples of one batch."""
    if batch.points is not None:
        return list(batch.points)
    return [decode(batch.grid, i) for i in range(batch.start, batch.stop)]


def knobs_of(names: Sequence[str], point: Sequence[Any], fix_policy: bool) -> dict[str, Any]:
    """Knob values of one point; with `fix_policy` a finite buffer_limit gets drop-oldest."""
    knobs = dict(zip(names, point, strict=True))
    if fix_policy:
        knobs["buffer_policy"] = "unbounded" if knobs["buffer_limit"] is None else "drop-oldest"
    return knobs


def run_batch(batch: Batch) -> list[dict[str, Any]]:
    """Run one batch in this process -> one outcome dict per point (in order)."""
    from incidentlab.model.engine import simulate_batch

    with cycle_collector_paused():  # a few percent of a sweep
        scenarios = [batch.base.replace(**knobs_of(batch.names, p, batch.fix_policy))
                     for p in points_of(batch)]
        keep = batch.timelines is not None
        outcomes, records = simulate_batch(scenarios, keep_timeline=keep)
    if keep:
        _write_timelines(batch, scenarios, records)
    return [o.as_dict() for o in outcomes]


def _write_timelines(batch: Batch, scenarios: list, records: list) -> None:
    """One Parquet file per batch: scenario index, t_s and every record column, every `every_s`."""
    import numpy as np
    import polars as pl

    from incidentlab.model.columns import RECORD

    parts = []
    for n, (sc, rec) in enumerate(zip(scenarios, records, strict=True)):
        stride = max(1, round(batch.every_s / sc.params.dt_s))
        rows = rec[::stride]
        frame = {"scenario": np.full(len(rows), batch.start + n, dtype=np.int64),
                 "t_s": np.arange(0, rec.shape[0], stride) * sc.params.dt_s}
        frame.update({name: rows[name] for name in RECORD.names})
        parts.append(pl.DataFrame(frame))
    path = Path(batch.timelines) / f"part-{batch.start:09d}.parquet"
    pl.concat(parts).write_parquet(path)


class InlineExecutor(Executor):
    """Runs each task at once in the calling process: one core, no pickling (and the reference
    that every other executor must match)."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed to the caller through the future, as a pool does
            future.set_exception(err)
        return future


def cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_POOL: dict[int, ProcessPoolExecutor] = {}


def _warm_worker() -> None:
    """Load the sweeps' compiled loop once per worker process (from numba's cache)."""
    from incidentlab.model.engine import simulate_batch
    from incidentlab.model.params import Params

    simulate_batch([Params(horizon_s=10.0)])


def local_executor(workers: int | None = None) -> Executor:
    """All local cores: a process pool kept for the session (its workers load the compiled model
    once), or the calling process when there is one core or one worker."""
    workers = cores() if workers is None else workers
    if workers <= 1:
        return InlineExecutor()
    pool = _POOL.get(workers)
    if pool is None:
        # forkserver: workers start from a clean single-threaded process (polars' thread pool
        # and fork do not mix), yet fast, because the server preloads the model's modules
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["incidentlab.model.engine", "incidentlab.model.presets"])
        pool = _POOL[workers] = ProcessPoolExecutor(workers, mp_context=ctx,
                                                    initializer=_warm_worker)
    return pool


@atexit.register
def shutdown_local_pools() -> None:
    """Stop the kept worker processes (at exit, or to free their memory now)."""
    while _POOL:
        _POOL.popitem()[1].shutdown(wait=True, cancel_futures=True)


SMALL_WORK = 2_000_000  # scenario-steps (about 2 s on one core): less runs in this process
# unless the local pool is already up, since starting its workers takes longer than that


def run(batches: Iterable[Batch], executor: Executor | None = None, window: int | None = None,
        progress: Callable[[int], None] | None = None,
        work: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """Run `batches` on `executor` (default: all local cores, or this process for less than
    SMALL_WORK scenario-steps of `work`) and yield their results in order, keeping at most
    `window` batches in flight; `progress(n)` is told of each finished batch."""
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if executor is None:
        small = second is None or (work is not None and work < SMALL_WORK and not _POOL)
        executor = InlineExecutor() if small else local_executor()
    window = window or 4 * max(cores(), 2)
    pending: deque[Future] = deque()
    queue = [first] + ([] if second is None else [second])

    def refill() -> None:
        while len(pending) < window:
            batch = queue.pop() if queue else next(batches, None)
            if batch is None:
                return
            pending.append(executor.submit(run_batch, batch))

    queue.reverse()  # pop() takes `first` first
    refill()
    while pending:
        try:
            result = pending.popleft().result()
        except BrokenProcessPool:
            shutdown_local_pools()
            raise IncidentlabError(
                "the worker processes stopped (out of memory, or a script without `if __name__ "
                "== '__main__':` around its sweep, which each worker re-imports); accepted: a "
                "guarded script, or executor=InlineExecutor() for one core") from None
        if progress is not None:
            progress(len(result))
        refill()
        yield result
