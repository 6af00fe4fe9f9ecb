"""The Lab's kernel-side speed: import, a control move, a preset switch (medians).

Browser-side latency (input event to redrawn chart, in chromium) is measured by
tests/browser/test_lab_in_browser.py into artifacts/lab-latency.json.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time

from benchmarks.timing import median_time

#: The issue's targets, in seconds.
IMPORT_S, MOVE_S, SWITCH_S = 1.5, 0.100, 0.300


def import_time(repeat: int = 3) -> tuple[float, float]:
    """Median wall time of `from incidentlab import Lab` in a fresh interpreter, and its mean
    CPU time (user + system), which load from other processes on the machine does not inflate."""
    code = "from incidentlab import Lab; Lab"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = median_time(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeat)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / repeat
    return wall, cpu


def rows() -> list[tuple[str, str, bool | None]]:
    """(name, value, target met or None) for benchmarks/__main__.py."""
    from incidentlab import Lab

    t_import, cpu_import = import_time()
    start = time.perf_counter()
    lab = Lab()
    t_first = time.perf_counter() - start
    for thread in threading.enumerate():  # Lab() builds the replay's layout meanwhile, as a
        if thread.name == "incidentlab-layout":  # learner reads the first chart: let it finish
            thread.join()
    toggle = lab.controls["split_brain_fix"]
    t_move = median_time(lambda: setattr(toggle, "value", not toggle.value), 20)
    switches = ["march-2017-fixed", "march-2017"]
    lab.load_preset("march-2017-replay")  # the replay's layout, built once per process
    def switch() -> None:
        switches.append(switches.pop(0))
        lab.load_preset(switches[0])

    t_switch = median_time(switch, 8)
    t_replay = median_time(lambda: (lab.load_preset("march-2017-replay"),
                                    lab.load_preset("march-2017")), 4) / 2  # fmt: skip
    payload = len(str(lab.chart.data)) / 1024
    return [
        ("from incidentlab import Lab (fresh process)", f"{t_import:8.2f} s", t_import < IMPORT_S),
        ("  ... its CPU time (user + system)", f"{cpu_import:8.2f} s", None),
        ("Lab() first display (incl. model, layout)", f"{t_first:8.2f} s", None),
        ("Lab control move, kernel side", f"{t_move * 1e3:8.1f} ms", t_move < MOVE_S),
        ("Lab preset switch, kernel side", f"{t_switch * 1e3:8.1f} ms", t_switch < SWITCH_S),
        ("  ... replay <-> march-2017, per switch", f"{t_replay * 1e3:8.1f} ms", None),
        ("  update sent to the browser", f"{payload:8.1f} kB", None),
    ]
