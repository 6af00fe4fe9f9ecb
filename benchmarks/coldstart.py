"""Cold and warm start of `incidentlab simulate`, each in a fresh interpreter: with an empty
cache (numba compiles), with numba's cache only, and with the ahead-of-time build that
`incidentlab warm` makes (no numba loaded); and the time `incidentlab warm` takes.

Run by `python -m benchmarks`. Wall times are medians of 5 (the machine may be shared: CPU time
is what a quiet machine's wall time would be, near enough, as each command uses one core).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile


def command_time(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of `incidentlab ARGS` in a fresh interpreter."""
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "incidentlab.cli", *args], check=True,
                   stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(args: list[str], env: dict[str, str], repeat: int = 5) -> tuple[float, float]:
    """Median wall and CPU seconds over `repeat` runs."""
    runs = [command_time(args, env) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def rows() -> list[tuple[str, str, str]]:
    """(what, seconds, note) of each start, in one empty cache folder filled step by step."""
    simulate = ["simulate", "--preset", "march-2017"]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = command_time(simulate, env)
        jit = medians(simulate, env)
        warm_build = command_time(["warm"], env)
        warm_again = command_time(["warm"], env)
        built = medians(simulate, env)
    return [  # the last row's note says MISSED when the aim is
        ("simulate, cold (empty cache: numba compiles)", f"{cold[0]:8.2f} s",
         f"cpu {cold[1]:.2f} s"),
        ("simulate, numba's cache only", f"{jit[0]:8.2f} s", f"cpu {jit[1]:.2f} s"),
        ("incidentlab warm (ahead-of-time build)", f"{warm_build[0]:8.2f} s",
         f"cpu {warm_build[1]:.2f} s; again when current: {warm_again[0]:.2f} s"),
        ("simulate, warm (ahead-of-time build)", f"{built[0]:8.2f} s",
         f"cpu {built[1]:.2f} s; aim < 1 s" + ("" if built[0] < 1 else "  MISSED")),
    ]


def main() -> int:
    print(f"incidentlab start-up (fresh interpreters; medians of 5; {os.getloadavg()[0]:.1f} "
          "load when it began)")
    table = rows()
    for name, value, note in table:
        print(f"  {name:<44} {value}  {note}")
    return 1 if "MISSED" in table[-1][2] else 0


if __name__ == "__main__":
    sys.exit(main())
