"""Speed of the agent-level engine: march-2017 at 1/1000 scale (5,000 users, 60 minutes), which
spends most of its hour collapsed with every stalled session retrying; target under 10 s."""

from __future__ import annotations

import statistics
import time

import incidentlab as il
from incidentlab.model import agents


def rows() -> list[tuple[str, str, bool | None]]:
    """(name, value, target met or None) rows for benchmarks/__main__.py."""
    march = il.presets["march-2017"].scaled(0.001)
    fixed = il.presets["march-2017-fixed"].scaled(0.001)
    start = time.perf_counter()
    agents.simulate(march.replace(horizon_s=60.0))
    first = time.perf_counter() - start
    times = {}
    for name, sc in (("march-2017", march), ("march-2017-fixed", fixed)):
        runs = []
        for seed in range(3):
            start = time.perf_counter()
            agents.simulate(sc, seed=seed)
            runs.append(time.perf_counter() - start)
        times[name] = statistics.median(runs)
    return [
        ("agents: first call (compile or cache)", f"{first:8.3f} s", None),
        ("agents: march-2017 x0.001, 60 min", f"{times['march-2017']:8.2f} s",
         times["march-2017"] < 10),
        ("agents: march-2017-fixed x0.001", f"{times['march-2017-fixed']:8.2f} s", None),
    ]
