"""The Lab's kernel-side speed: import, a control move, a preset switch (medians).

Browser-side latency (click event to redrawn chart, in chromium) is measured by
tests/browser/test_lab_in_browser.py into artifacts/lab-latency.json; `browser_rows` runs it
(about two minutes; INCIDENTLAB_BENCH_BROWSER=0 skips it) and prints its medians, with the
median of each stage of a click (to the kernel, kernel, transport, queue, decode, Vega).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.timing import median_time

#: The issue's targets, in seconds.
IMPORT_S, MOVE_S, SWITCH_S = 1.5, 0.100, 0.300


def import_time(code: str = "from incidentlab import Lab; Lab",
                repeat: int = 3) -> tuple[float, float]:
    """Median wall time of `code` (by default `from incidentlab import Lab`) in a fresh
    interpreter, and its mean CPU time (user + system), which load from other processes on the
    machine does not inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = median_time(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeat)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / repeat
    return wall, cpu


def rows() -> list[tuple[str, str, bool | None]]:
    """(name, value, target met or None) for benchmarks/__main__.py."""
    from incidentlab import Lab

    t_import, cpu_import = import_time()
    t_fresh, _ = import_time("from incidentlab import Lab; Lab()")
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
    from ipywidgets.widgets.widget import _remove_buffers

    # what travels: the JSON message and its binary buffers
    state, _, buffers = _remove_buffers({"data": lab.chart.data})
    payload = (len(json.dumps(state)) + sum(len(b) for b in buffers)) / 1024
    return [
        ("from incidentlab import Lab (fresh process)", f"{t_import:8.2f} s", t_import < IMPORT_S),
        ("  ... its CPU time (user + system)", f"{cpu_import:8.2f} s", None),
        ("import + Lab() (fresh process, after `incidentlab warm`)", f"{t_fresh:8.2f} s", None),
        ("Lab() first display (incl. model, layout)", f"{t_first:8.2f} s", None),
        ("Lab control move, kernel side", f"{t_move * 1e3:8.1f} ms", t_move < MOVE_S),
        ("Lab preset switch, kernel side", f"{t_switch * 1e3:8.1f} ms", t_switch < SWITCH_S),
        ("  ... replay <-> march-2017, per switch", f"{t_replay * 1e3:8.1f} ms", None),
        ("  update sent to the browser", f"{payload:8.1f} kB", None),
        *browser_rows(),
    ]


def browser_rows() -> list[tuple[str, str, bool | None]]:
    """The browser test's medians: click to redrawn chart, and a preset switch, in chromium."""
    root = Path(__file__).parents[1]
    if os.environ.get("INCIDENTLAB_BENCH_BROWSER") == "0" or not Path("/usr/bin/chromium").exists():
        return [("Lab in chromium", "skipped", None)]
    cores = set(range(os.cpu_count() or 1))  # the benchmarks pin themselves to one core
    test = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/browser"],
        cwd=root, capture_output=True, text=True, check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, cores) if hasattr(os, "sched_setaffinity")
        else None,
    )  # fmt: skip
    if test.returncode != 0:
        return [("Lab in chromium (browser test failed)", test.stdout[-60:].strip(), False)]
    got = json.loads((root / "artifacts" / "lab-latency.json").read_text())
    move, switch = got["from_click_median_ms"], got["preset_switch_from_click_median_ms"]
    return [
        (f"Lab in chromium: click to chart (n={len(got['from_click_ms'])})", f"{move:8.0f} ms",
         move < MOVE_S * 1e3),
        ("  ... from Playwright's click call", f"{got['median_ms']:8.0f} ms", None),
        ("  ... of which Vega's redraw", f"{statistics.median(got['vega_run_ms']):8.0f} ms", None),
        (f"Lab in chromium: preset switch (n={len(got['preset_switch_from_click_ms'])})",
         f"{switch:8.0f} ms", switch < SWITCH_S * 1e3),
        ("  ... from Playwright's click call", f"{got['preset_switch_median_ms']:8.0f} ms", None),
        ("  load average during the test", f"{got['load_average']:8.1f}", None),
        *[(f"  ... click to chart, stage '{name}'", f"{ms:8.0f} ms", None)
          for name, ms in got.get("from_click_stages_median_ms", {}).items()],
    ]
