"""Analysis at scale: sweep scaling (one core, all cores, Dask two workers), the 50x50 sweep,
peak memory of a 24 h 64-scenario sweep, the sensitivity run (cold and warm `simulate`:
benchmarks/coldstart.py).

Run by `python -m benchmarks` after the one-core benchmarks; prints one line per figure. Times
of the contenders are interleaved round by round so load from elsewhere hits all alike.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

ALL_CORES = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
GRID_20 = {"event_rate": [0.5 + 0.1 * i for i in range(20)],
           "node_memory_gb": [16.0 + 4 * i for i in range(20)]}
GRID_50 = {"event_rate": [0.5 + 0.04 * i for i in range(50)],
           "node_memory_gb": [16.0 + 1.6 * i for i in range(50)]}
DAY_64 = ("import incidentlab as il\n"
          "from incidentlab.analysis import InlineExecutor\n"
          "if __name__ == '__main__':\n"
          "    base = il.presets['march-2017'].replace(horizon_s=86400)\n"
          "    il.sweep(base, executor={executor}, event_rate=[1.0 + 0.25 * i for i in range(8)],\n"
          "             node_memory_gb=[32.0 + 8 * i for i in range(8)])\n")


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and every process it started: pool workers,
    Dask's nannies and workers. The machine's other load does not count in it."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # ended in the meantime
            total += sum(child.cpu_times()[:2])
    return total


def interleaved(fns: dict[str, Callable[[], object]],
                rounds: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each function, timed in turn within each round."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            cpu, start = cpu_seconds(), time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start, cpu_seconds() - cpu))
    return {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
            for name, t in times.items()}


def peak_memory(code: str) -> tuple[float, float, float]:
    """Run `code` in a fresh interpreter -> (seconds, peak RSS of its main process in MB, peak
    of the summed PSS of it and every process it started, MB), sampled every 20 ms. PSS shares
    the pages workers inherit from the fork server among them, so none is counted twice."""
    import psutil

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(code)
    start = time.perf_counter()
    proc = psutil.Popen([sys.executable, script.name])
    main_peak = total_peak = 0
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            main_rss = proc.memory_info().rss
            pss = [p.memory_full_info().pss for p in tree]
        except psutil.Error:
            continue
        main_peak, total_peak = max(main_peak, main_rss), max(total_peak, sum(pss))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    os.unlink(script.name)
    return elapsed, main_peak / 2**20, total_peak / 2**20


def main() -> int:
    if ALL_CORES is not None:
        os.sched_setaffinity(0, ALL_CORES)  # the one-core benchmarks pinned this process
    import incidentlab as il
    from incidentlab.analysis import InlineExecutor, local_executor
    from incidentlab.analysis.runner import cores

    march = il.presets["march-2017"]
    serial, pool = InlineExecutor(), local_executor()
    il.sweep(march, executor=pool, event_rate=[1.0, 2.0], node_memory_gb=[64.0])  # start workers
    fns = {"one core": lambda: il.sweep(march, executor=serial, **GRID_20),
           f"all cores ({cores()}, processes)": lambda: il.sweep(march, executor=pool, **GRID_20)}
    cluster = None
    try:
        import distributed

        cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                           host="127.0.0.1", dashboard_address=None,
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        dask = client.get_executor()
        il.sweep(march, executor=dask, event_rate=[1.0, 2.0], node_memory_gb=[64.0])
        fns["Dask LocalCluster, two workers"] = lambda: il.sweep(march, executor=dask, **GRID_20)
    except ImportError:
        pass
    load = os.getloadavg()[0]
    t = interleaved(fns, rounds=5)
    if cluster is not None:  # its idle workers would count in the CPU time of what follows
        client.close()
        cluster.close()
    one = t["one core"][0]
    t50 = interleaved({"50x50": lambda: il.sweep(march, executor=pool, **GRID_50)}, 3)["50x50"]
    cpu, start = cpu_seconds(), time.perf_counter()
    il.sensitivity(march, n=64, executor=pool)
    t_sens = time.perf_counter() - start, cpu_seconds() - cpu

    day_serial = peak_memory(DAY_64.format(executor="InlineExecutor()"))
    day_pool = peak_memory(DAY_64.format(executor="None"))

    rows = [(f"sweep 20x20, {name}", f"{secs:8.2f} s", f"{one / secs:5.2f}x, cpu {cpu:.2f} s")
            for name, (secs, cpu) in t.items()]
    rows += [
        ("sweep 50x50, all cores", f"{t50[0]:8.2f} s", f"aim < 5 s; cpu {t50[1]:.2f} s"),
        ("sweep 24 h x 64, one process", f"{day_serial[0]:8.1f} s",
         f"peak {day_serial[1]:.0f} MB"),
        ("sweep 24 h x 64, all cores", f"{day_pool[0]:8.1f} s",
         f"peak {day_pool[1]:.0f} MB main, {day_pool[2]:.0f} MB all processes"),
        ("sensitivity march-2017, n=64 (1,280 runs)", f"{t_sens[0]:8.2f} s",
         f"cpu {t_sens[1]:.2f} s"),
    ]
    print(f"incidentlab at scale (all cores; medians of interleaved rounds; cpu: all processes; "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)")
    for name, value, note in rows:
        print(f"  {name:<44} {value}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
