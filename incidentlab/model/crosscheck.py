"""The cross-check of the two engines: the fluid model against the agent-level reference on a
table of cases at 1/1000 scale, and the markdown table of docs/model.md ("Two engines").

Regenerate the table with `python -m incidentlab.model.crosscheck` (prints markdown).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from incidentlab.model import agents
from incidentlab.model.engine import simulate
from incidentlab.model.presets import presets
from incidentlab.model.scenario import Scenario

SCALE = 0.001
SEEDS = 3
TOLERANCE = 0.30  # agents median within 30 % of the fluid figure
METRICS = ("time_to_recover_s", "first_oom_s", "peak_stalled_fraction")
ROOMY = {"node_memory_gb": 10_000.0}  # memory out of the way
HEALED = {"split_brain_fix": True, **ROOMY}  # the trigger ends after its lockup


@dataclass(frozen=True)
class Case:
    """One scenario both engines run: a name, how to build it (already scaled), and whether
    it is heavy (run in `make bench` / `pytest -m slow`)."""

    name: str
    build: Callable[[], Scenario]
    slow: bool = False


def _preset(name: str, **knobs) -> Callable[[], Scenario]:
    def build() -> Scenario:
        sc = presets[name]
        return (sc.replace(**knobs) if knobs else sc).scaled(SCALE)
    return build


def _inflight(limit: int) -> Callable[[], Scenario]:
    # the limit is per session node of the scaled run (100 sessions a node)
    return lambda: presets["march-2017"].replace(**HEALED).scaled(SCALE).replace(
        inflight_limit=limit)


CASES: tuple[Case, ...] = (
    Case("preset march-2017", _preset("march-2017")),
    Case("preset march-2017-fixed", _preset("march-2017-fixed")),
    Case("preset march-2017-replay", _preset("march-2017-replay"), slow=True),
    Case("no backoff", _preset("march-2017", reconnect_base_s=0.0, reconnect_cap_s=0.0,
                               horizon_s=1200.0, **HEALED)),
    Case("2017 policy (1 s, cap 4 s, no jitter)", _preset("march-2017", **HEALED)),
    *(Case(f"{jitter} jitter, cap {cap} s",
           _preset("march-2017", reconnect_jitter=jitter, reconnect_cap_s=float(cap), **HEALED))
      for jitter in ("full", "equal", "decorrelated") for cap in (120, 600)),
    *(Case(f"in-flight limit {n}", _inflight(n)) for n in (1, 10, 100)),
    Case("buffer limit 1000, drop-oldest",
         _preset("march-2017", buffer_limit=1000, buffer_policy="drop-oldest",
                 horizon_s=1200.0)),
    Case("small herd (10x capacity)",
         _preset("march-2017", presence_capacity=500_000.0, horizon_s=120.0, dt_s=0.1)),
)


def compare(case: Case, seeds: int = SEEDS) -> pl.DataFrame:
    """One row per metric (and the verdict): fluid figure, agents median and 10-90 % band over
    `seeds` seeds, ratio agents/fluid, and whether they agree."""
    sc = case.build()
    fluid = simulate(sc).outcome
    runs = [agents.simulate(sc, seed=s).outcome for s in range(seeds)]
    rows = []
    stuck = [not o.recovered for o in runs]
    agent_stuck = sum(stuck) * 2 > len(stuck)
    rows.append({"case": case.name, "metric": "verdict",
                 "fluid": "stuck" if not fluid.recovered else "recovered",
                 "agents": f"stuck in {sum(stuck)}/{len(stuck)} seeds",
                 "band": "", "ratio": None,
                 "agree": agent_stuck == (not fluid.recovered)})
    for metric in METRICS:
        f = getattr(fluid, metric)
        vals = [getattr(o, metric) for o in runs]
        have = [v for v in vals if v is not None]
        if f is None and not have:
            continue
        if f is None or len(have) * 2 <= len(vals):
            shown = f"{_show(float(np.median(have)))} in {len(have)}/{len(vals)} seeds" \
                if have else "none"
            band = f"{_show(min(have))} - {_show(max(have))}" if have else ""
            rows.append({"case": case.name, "metric": metric, "fluid": _show(f),
                         "agents": shown, "band": band,
                         "ratio": None, "agree": f is None and len(have) * 2 <= len(vals)})
            continue
        med = float(np.median(have))
        lo, hi = np.quantile(have, [0.1, 0.9])
        ratio = med / f if f else (1.0 if med == 0 else float("inf"))
        rows.append({"case": case.name, "metric": metric, "fluid": _show(f),
                     "agents": _show(med), "band": f"{_show(lo)} - {_show(hi)}",
                     "ratio": round(ratio, 2), "agree": abs(ratio - 1) <= TOLERANCE})
    return pl.DataFrame(rows, schema={"case": pl.String, "metric": pl.String,
                                      "fluid": pl.String, "agents": pl.String,
                                      "band": pl.String, "ratio": pl.Float64,
                                      "agree": pl.Boolean})


def _show(v: float | None) -> str:
    if v is None:
        return "none"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.0f}"


def table(cases: Sequence[Case] = CASES, seeds: int = SEEDS) -> pl.DataFrame:
    """compare() for every case, stacked."""
    return pl.concat([compare(c, seeds) for c in cases])


def markdown(frame: pl.DataFrame) -> str:
    """The cross-check table of docs/model.md."""
    lines = ["| case | figure | fluid | agents median | agents 10-90 % | ratio | verdict |",
             "|---|---|---|---|---|---|---|"]
    for r in frame.iter_rows(named=True):
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        verdict = "agree" if r["agree"] else "**disagree**"
        lines.append(f"| {r['case']} | {r['metric']} | {r['fluid']} | {r['agents']} | "
                     f"{r['band']} | {ratio} | {verdict} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(table()))
