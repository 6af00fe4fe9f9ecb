"""Self-contained offline HTML reports: charts with inlined Vega JavaScript, outcome, knobs.

One file that opens with no network (workshop handouts, slides, an e-mail to a
colleague). Also holds the outcome cards in plain words that the Lab shows, so
both say the same thing and the CLI never imports widgets.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from pathlib import Path
from typing import Any

from incidentlab import __version__, charts, fmt
from incidentlab.errors import IncidentlabError

BASELINE = "march-2017"
REPLAY = "march-2017-replay"

def vega_bundle() -> str:
    """Vega, Vega-Lite, vega-embed and the grid fit as one script (see incidentlab.livechart)."""
    from incidentlab.livechart import vega_bundle as bundle

    return bundle()


# ---------------------------------------------------------------- outcome cards


CARD_TITLES = {
    "first_oom": "First node out of memory",
    "crashes": "Node crashes",
    "lost": "Events lost",
    "recovered": "Recovered",
    "stalled": "Peak stalled sessions",
}


def outcome_cards(outcome: Any, horizon_s: float) -> dict[str, str]:
    """The cards above the charts: key -> the value a learner reads first."""
    o = outcome
    if o.recovered:
        when = o.time_to_recover_s
        recovered = "yes" if when is None else f"yes, after {fmt.minutes(when)}"
    else:
        recovered = f"no (in {fmt.minutes(horizon_s)})"
    lost = fmt.count(o.events_lost)
    if o.events_dropped:
        lost += f" (+{fmt.count(o.events_dropped)} dropped)"
    return {
        "first_oom": "never" if o.first_oom_s is None else f"after {fmt.minutes(o.first_oom_s)}",
        "crashes": f"{o.oom_crashes:,}",
        "lost": lost,
        "recovered": recovered,
        "stalled": f"{o.peak_stalled_fraction:.0%}",
    }


def _scores(outcome: Any) -> dict[str, tuple[float, ...]]:
    """Per card, a key where higher is better: how cards say better or worse than 2017."""
    o = outcome
    return {
        "first_oom": (math.inf if o.first_oom_s is None else o.first_oom_s,),
        "crashes": (-o.oom_crashes,),
        "lost": (-(o.events_lost + o.events_dropped), -o.events_lost),
        "recovered": (
            float(o.recovered),
            -(o.time_to_recover_s if o.time_to_recover_s is not None else math.inf),
        ),
        "stalled": (-round(o.peak_stalled_fraction, 2),),
    }


def compare_cards(outcome: Any, reference: Any) -> dict[str, str]:
    """Per card: "better", "worse" or "same" than `reference` (the 2017 run)."""
    now, then = _scores(outcome), _scores(reference)
    return {
        k: "better" if now[k] > then[k] else "worse" if now[k] < then[k] else "same"
        for k in now
    }


CARDS_CSS = """
.il-cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(165px, 1fr));
            gap: 6px; margin: 4px 0 6px 0; }
.il-card { border: 1px solid #ccc; border-radius: 6px; padding: 3px 8px; min-width: 0;
           background: #fafafa; font-family: sans-serif; min-height: 52px; }
.il-card .il-title { font-size: 11px; color: #555; line-height: 1.3; }
.il-card .il-now { line-height: 1.3; }
.il-card .il-value { font-size: 14px; font-weight: bold; }
.il-card .il-was { font-size: 12px; color: #777; }
.il-card.il-better { border-color: #2e7d32; background: #f1f8f1; }
.il-card.il-better .il-value { color: #1b5e20; }
.il-card.il-worse { border-color: #c62828; background: #fdf1f1; }
.il-card.il-worse .il-value { color: #b71c1c; }
.il-words { font-family: sans-serif; font-size: 13px; line-height: 1.4; color: #333;
            max-width: 900px; }
.il-error { color: #b00020; font-family: sans-serif; white-space: pre-wrap; }
"""


def cards_html(outcome: Any, horizon_s: float, reference: Any = None) -> str:
    """The outcome cards and the model's own sentences, as an HTML fragment.

    With `reference` (the 2017 run's Outcome) a card whose value differs shows the
    2017 value first ("78 → 0") and is coloured better or worse.
    """
    cards = outcome_cards(outcome, horizon_s)
    was = outcome_cards(reference, horizon_s) if reference is not None else cards
    verdict = compare_cards(outcome, reference) if reference is not None else {}
    parts = ['<div class="il-cards">']
    for key, value in cards.items():
        state = verdict.get(key, "same") if was[key] != value else "same"
        before = (
            f'<span class="il-was" title="March 2017">{html.escape(was[key])} →</span> '
            if state != "same"
            else ""
        )
        parts.append(
            f'<div class="il-card il-{state}" data-card="{key}" data-vs-2017="{state}">'
            f'<div class="il-title">{CARD_TITLES[key]}</div><div class="il-now">{before}'
            f'<span class="il-value">{html.escape(value)}</span></div></div>'
        )
    parts.append('</div><div class="il-words">')
    parts.append(html.escape(" ".join(outcome.sentences())))
    parts.append("</div>")
    return "".join(parts)


# ---------------------------------------------------------------- the page


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _knob_rows(params: Any, preset_params: Any) -> str:
    rows = []
    for row in params.describe():
        knob = row["knob"]
        value, preset_value = getattr(params, knob), getattr(preset_params, knob)
        mark = ' class="il-changed"' if value != preset_value else ""
        rows.append(
            f"<tr{mark}><td><code>{knob}</code></td><td>{html.escape(repr(value))}</td>"
            f"<td>{html.escape(repr(preset_value))}</td><td>{html.escape(row['doc'])}</td></tr>"
        )
    return "\n".join(rows)


def report_html(scenario: Any, *, preset: str = BASELINE) -> str:
    """One offline HTML page for `scenario`: outcome cards, run charts, the knobs used.

    `preset` names the preset the scenario was derived from: its knobs are the
    reference column, and its unchanged run is the grey ghost in the charts.
    """
    from incidentlab.model.engine import simulate
    from incidentlab.model.presets import presets

    if preset not in presets:
        raise IncidentlabError(f"preset {preset!r} is unknown; accepted: {', '.join(presets)}")
    run = simulate(scenario)
    params = scenario.params
    clock = preset == REPLAY
    reference = presets[REPLAY if clock else BASELINE]
    ghost_run = None if reference == scenario else simulate(reference)
    ghost = ghost_run.timeline if ghost_run is not None else None
    events = None
    if clock:
        from incidentlab.reports import load_report

        events = load_report()
    specs = {
        "run": charts.dashboard(
            run.timeline,
            baseline=ghost,
            events=events,
            oom_gb=params.node_memory_gb,
            clock=clock,
            sessions=charts.session_states(
                run.timeline,
                rpc_timeout_s=params.rpc_timeout_s,
                reconnect_cap_s=params.reconnect_cap_s,
            ),
        ).to_dict()
    }
    if events is not None:
        specs["report"] = charts.timeline_chart(events).to_dict()
    before = presets[preset].params
    changed = {
        row["knob"]: getattr(params, row["knob"])
        for row in params.describe()
        if getattr(params, row["knob"]) != getattr(before, row["knob"])
    }
    changes = ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "none"
    title = f"incidentlab: {preset}" + (" with changed knobs" if changed else "")
    ghost_note = (
        f"Grey dashed lines: the unchanged <code>{reference.name}</code> run."
        if ghost is not None
        else ""
    )
    chart_divs = "\n".join(f'<div id="chart-{name}" class="il-chart"></div>' for name in specs)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
.il-prose {{ max-width: 1000px; }}
h1 {{ font-size: 22px; margin-bottom: 4px; }}
.il-sub {{ color: #555; margin-top: 0; }}
table {{ border-collapse: collapse; font-size: 12px; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
tr.il-changed td {{ background: #fff4d6; font-weight: bold; }}
.il-chart {{ margin: 12px 0; }}
{CARDS_CSS}
</style>
<script type="text/javascript">
{vega_bundle()}
</script>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="il-sub">{html.escape(scenario.description or "")}</p>
<p>Changed knobs: <code>{html.escape(changes)}</code></p>
{cards_html(run.outcome, params.horizon_s, ghost_run.outcome if ghost_run else None)}
<p class="il-sub">{ghost_note} Hover a panel: every panel shows its values at that time,
and the dots show the users' sessions then.</p>
{charts.marks_legend_html() if events is not None else ""}
{uncertainty_html(scenario)}
{chart_divs}
<details open><summary>All knobs (highlighted: changed from <code>{preset}</code>)</summary>
<table><tr><th>knob</th><th>value</th><th>{preset}</th><th>meaning</th></tr>
{_knob_rows(params, presets[preset].params)}
</table></details>
<p class="il-sub">Written by incidentlab {__version__} on {stamp}. Everything on this page is in
this file: it opens with no network.</p>
<script type="text/javascript">
const specs = {_script_json(specs)};
// The panels take the page's width: two columns where there is room (see fitSpec).
const draw = () => {{
  for (const [name, spec] of Object.entries(specs)) {{
    const box = document.getElementById("chart-" + name);
    vegaEmbed(box, fitSpec(spec, box.getBoundingClientRect().width),
              {{ renderer: "svg", actions: false }}).catch((error) => {{
      box.textContent = "Chart error: " + error.message;
    }});
  }}
}};
draw();
let drawnWidth = window.innerWidth, timer = null;
window.addEventListener("resize", () => {{
  clearTimeout(timer);
  timer = setTimeout(() => {{
    if (Math.abs(window.innerWidth - drawnWidth) > 16) {{ drawnWidth = window.innerWidth; draw(); }}
  }}, 200);
}});
</script>
</body>
</html>
"""


def uncertainty_html(scenario: Any) -> str:
    """A short paragraph: the headline with its range over the assumptions' plausible ranges."""
    from incidentlab.analysis import InlineExecutor
    from incidentlab.analysis.uncertainty import headline, uncertainty

    band = uncertainty(scenario, executor=InlineExecutor())
    text = headline(band)
    return (f'<p class="il-uncertainty"><b>Over the assumptions:</b> '
            f"{html.escape(text[0].upper() + text[1:])} The ranges are in docs/model.md "
            "(“Which assumptions matter”).</p>")


def write_report(scenario: Any, path: str | Path, *, preset: str = BASELINE) -> Path:
    """Write `report_html(scenario)` to `path` (UTF-8) and return the path."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise IncidentlabError(f"--out {str(path)!r}: the report is HTML; give a .html file name")
    page = report_html(scenario, preset=preset)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as err:
        raise IncidentlabError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    return path
