"""Benchmarks of the cluster model on one core: medians, ratios and the issue's targets.

Run `python -m benchmarks` (or `make bench`). Prints one line per measurement and exits 1 if a
target is missed.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc

import incidentlab as il
from benchmarks import scale
from benchmarks.lab import rows as lab_rows
from benchmarks.timing import interleaved_medians, median_time


def scaled(scenario: il.Scenario, factor: float) -> il.Scenario:
    """The scenario with `factor` times the users, node memory and presence capacity."""
    p = scenario.params
    return scenario.replace(users=round(p.users * factor),
                            node_memory_gb=p.node_memory_gb * factor,
                            presence_capacity=p.presence_capacity * factor)


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    start = time.perf_counter()
    il.simulate(il.presets["march-2017"].replace(horizon_s=60))
    first_call = time.perf_counter() - start

    march = il.presets["march-2017"]
    replay = il.presets["march-2017-replay"]
    t_march = median_time(lambda: il.simulate(march).outcome, 20)
    t_march_frame = median_time(lambda: il.simulate(march).timeline, 20)
    t_replay = median_time(lambda: il.simulate(replay).outcome, 10)
    # the worst accepted knob set: 1/100 s steps, a one-hour cap, full jitter
    fine = il.Params(dt_s=0.01, reconnect_cap_s=3600, reconnect_jitter="full", horizon_s=400)
    t_fine = median_time(lambda: il.simulate(fine).outcome, 3)
    # the same story at two scales: memory and presence capacity scale with the users, so
    # only the counts differ (with 50M users on 64 GB nodes the story itself would change)
    small, big = scaled(march, 0.01), scaled(march, 10.0)
    assert il.simulate(small).outcome.first_oom_s == il.simulate(big).outcome.first_oom_s
    t_small, t_big = interleaved_medians(lambda: il.simulate(small), lambda: il.simulate(big), 60)

    grid = {"event_rate": [0.5 + 0.1 * i for i in range(20)],
            "node_memory_gb": [16.0 + 4 * i for i in range(20)]}
    il.sweep(march, event_rate=[1.0], node_memory_gb=[64.0])  # warm up
    tracemalloc.start()
    start = time.perf_counter()
    frame = il.sweep(march, **grid)
    t_sweep = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ratio = t_big / t_small
    rows = [
        ("first call (compile or load cache)", f"{first_call:8.3f} s", None),
        ("march-2017, 5M users, 3600 steps", f"{t_march * 1e3:8.1f} ms", t_march < 0.010),
        ("  ... with the timeline frame", f"{t_march_frame * 1e3:8.1f} ms", None),
        ("march-2017-replay, 19800 steps", f"{t_replay * 1e3:8.1f} ms", t_replay < 0.100),
        ("dt 0.01 s, cap 3600 s, full jitter, 400 s", f"{t_fine:8.2f} s", t_fine < 5),
        (f"sweep 20x20 ({frame.height} scenarios)", f"{t_sweep:8.2f} s", t_sweep < 10),
        ("  sweep peak traced memory", f"{peak / 2**20:8.1f} MB", peak < 500 * 2**20),
        ("  process peak RSS (incl. numba)", f"{rss:8.1f} MB", rss < 500),
        ("march-2017 at 50 thousand users", f"{t_small * 1e3:8.1f} ms", None),
        ("march-2017 at 50 million users", f"{t_big * 1e3:8.1f} ms", None),
        ("  ratio 50M / 50k", f"{ratio:8.2f}", 1 / 1.2 <= ratio <= 1.2),
        ("  march-2017 per step", f"{t_march / 3600 * 1e6:8.2f} us", None),
        *lab_rows(),
    ]
    from benchmarks import agents

    rows += agents.rows()
    print("incidentlab benchmarks (one core, medians)")
    for name, value, ok in rows:
        mark = "" if ok is None else ("  ok" if ok else "  MISSED")
        print(f"  {name:<38} {value}{mark}")
    return 0 if all(ok is not False for _, _, ok in rows) else 1


if __name__ == "__main__":
    from benchmarks import coldstart, parser  # parser: corpus scores and one long line

    sys.exit(main() | scale.main() | parser.main() | coldstart.main())
