"""Self-contained offline HTML reports: charts with inlined Vega JavaScript, outcome, knobs.

One file that opens with no network (workshop handouts, slides, an e-mail to a
colleague). Also holds the outcome cards in plain words that the Lab shows, so
both say the same thing and the CLI never imports widgets.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

from incidentlab import __version__, charts, fmt
from incidentlab.errors import IncidentlabError

BASELINE = "march-2017"
REPLAY = "march-2017-replay"

_BUNDLE: str | None = None


def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script that defines window.vegaEmbed (no CDN)."""
    global _BUNDLE
    if _BUNDLE is None:
        import vl_convert as vlc
        from altair.utils._importers import vl_version_for_vl_convert

        _BUNDLE = vlc.javascript_bundle(vl_version=vl_version_for_vl_convert())
    return _BUNDLE


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


CARDS_CSS = """
.il-cards { display: flex; gap: 8px; flex-wrap: nowrap; margin: 4px 0 6px 0; }
.il-card { border: 1px solid #ccc; border-radius: 6px; padding: 4px 8px; flex: 1 1 0;
           min-width: 0; background: #fafafa; font-family: sans-serif; }
.il-card .il-title { font-size: 11px; color: #555; line-height: 1.3; }
.il-card .il-value { font-size: 15px; font-weight: bold; line-height: 1.3; }
.il-words { font-family: sans-serif; font-size: 13px; line-height: 1.4; color: #333;
            max-width: 760px; }
.il-error { color: #b00020; font-family: sans-serif; white-space: pre-wrap; }
"""


def cards_html(outcome: Any, horizon_s: float) -> str:
    """The outcome cards and the model's own sentences, as an HTML fragment."""
    parts = ['<div class="il-cards">']
    for key, value in outcome_cards(outcome, horizon_s).items():
        parts.append(
            f'<div class="il-card" data-card="{key}"><div class="il-title">'
            f'{CARD_TITLES[key]}</div><div class="il-value">{html.escape(value)}</div></div>'
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
    ghost = None if reference == scenario else simulate(reference).timeline
    events = None
    if clock:
        from incidentlab.reports import load_report

        events = load_report()
    specs = {
        "run": charts.dashboard(
            run.timeline, baseline=ghost, events=events, oom_gb=params.node_memory_gb, clock=clock
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
body {{ font-family: sans-serif; margin: 24px; max-width: 1000px; color: #222; }}
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
{cards_html(run.outcome, params.horizon_s)}
{uncertainty_html(scenario)}
<p class="il-sub">{ghost_note}</p>
{chart_divs}
<details open><summary>All knobs (highlighted: changed from <code>{preset}</code>)</summary>
<table><tr><th>knob</th><th>value</th><th>{preset}</th><th>meaning</th></tr>
{_knob_rows(params, presets[preset].params)}
</table></details>
<p class="il-sub">Written by incidentlab {__version__} on {stamp}. Everything on this page is in
this file: it opens with no network.</p>
<script type="text/javascript">
const specs = {_script_json(specs)};
for (const [name, spec] of Object.entries(specs)) {{
  vegaEmbed("#chart-" + name, spec, {{ renderer: "svg", actions: false }}).catch((error) => {{
    document.getElementById("chart-" + name).textContent = "Chart error: " + error.message;
  }});
}}
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
