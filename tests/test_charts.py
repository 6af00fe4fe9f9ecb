"""Chart builders: frames in, altair charts out, rendered offline by vl-convert."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import _synthetic as synth
import altair as alt
import polars as pl
import pytest
import vl_convert as vlc

import incidentlab as il
from incidentlab import IncidentlabError, charts

VL = "6.4"


def svg_of(chart: alt.TopLevelMixin) -> str:
    return vlc.vegalite_to_svg(chart.to_dict(), vl_version=VL)


def headlines(svg: str) -> list[str]:
    return re.findall(r">((?:peak |lost \d)[^<]*)</text>", svg)


def test_downsample_keeps_peaks_and_final_counters():
    tl = synth.timeline(3600, peak_gb=15.3, lost=1234)
    rows = charts.downsample(tl)
    assert rows.height <= charts.MAX_POINTS
    assert rows["mem_max"].max() == pytest.approx(tl["node_memory_max_gb"].max())
    assert rows["stalled"].max() == tl["users_stalled"].max()
    assert rows["lost"][-1] == tl["events_lost"][-1]
    assert rows["delivered"][-1] == tl["events_delivered"][-1]
    assert rows["x"][0] == 0.0 and rows["x"][-1] < 60.0


def test_downsample_clock_is_wall_clock_of_the_timeline_zone():
    rows = charts.downsample(synth.timeline(120), clock=True)
    # 11:38 in Los Angeles, read as UTC milliseconds: the browser shows 11:38 whatever its zone.
    assert rows["x"][0] == 1490009880000


def test_short_timeline_is_not_padded():
    rows = charts.downsample(synth.timeline(50))
    assert rows.height == 50


def test_dashboard_headlines_are_the_runs_numbers():
    tl = synth.timeline(3600, peak_gb=15.3, lost=4321, users=2000)
    svg = svg_of(charts.dashboard(tl, baseline=synth.timeline(3600), oom_gb=16))
    minute = tl.select(pl.col("presence_offered_ops", "presence_capacity_ops").rolling_mean(60))
    peak_load = (minute["presence_offered_ops"] / minute["presence_capacity_ops"]).max()
    stalled = (tl["users_stalled"] / tl["users_connected"]).max()
    assert headlines(svg) == [
        f"peak {tl['node_memory_max_gb'].max():.1f} GB",
        f"peak load {peak_load:.2f}× capacity",
        f"peak stalled {stalled:.1%}",
        "lost 4.32 thousand · dropped 0",
    ]
    assert "minutes since start" in svg


def test_headlines_change_with_the_data_not_the_spec():
    a = charts.dashboard(synth.timeline(600, peak_gb=12), oom_gb=16).to_dict()
    b = charts.dashboard(synth.timeline(600, peak_gb=20), oom_gb=16).to_dict()
    assert a.pop("datasets") != b.pop("datasets")
    assert a == b  # the Lab relies on this to update data in place


def test_ghost_baseline_is_drawn_grey_and_dashed():
    svg = svg_of(charts.memory_chart(synth.timeline(600), baseline=synth.timeline(600, peak_gb=20)))
    ghost = re.findall(rf'<path[^>]*stroke="{charts.GHOST}"[^>]*stroke-dasharray', svg)
    assert len(ghost) == 2  # busiest and average node


def test_oom_line_from_limits():
    svg = svg_of(charts.memory_chart(synth.timeline(600), oom_gb=16))
    assert "out of memory at (GB): 16" in svg


def test_replay_has_clock_axis_and_report_marks_with_text():
    svg = svg_of(charts.dashboard(synth.timeline(3600), events=synth.events(), clock=True))
    assert "time (PDT)" in svg
    assert ">12:00</text>" in svg
    assert "sessions began to OOM" in svg  # the report's text rides on the rule's tooltip
    # one rule per event in the run's span, in every panel
    assert svg.count('aria-roledescription="rule mark"') == 4 * 2  # the 13:48 one is past the end


def test_spec_stays_small():
    d = charts.dashboard(
        synth.timeline(3600 * 6),
        baseline=synth.timeline(3600),
        clock=True,
        events=synth.events(),
        oom_gb=16,
    ).to_dict()
    size = len(json.dumps(d))
    assert size < 250_000, size
    assert len(d["datasets"]["current"]) <= charts.MAX_POINTS


def test_phase_chart_cells_and_unbounded_label():
    frame = pl.DataFrame(
        {
            "buffer_limit": [None, 100, 1000] * 2,
            "reconnect_cap_s": [1.0] * 3 + [60.0] * 3,
            "oom_crashes": [5, 0, 2, 0, 0, 0],
        }
    )
    svg = svg_of(charts.phase_chart(frame, "buffer_limit", "reconnect_cap_s"))
    assert svg.count('aria-roledescription="rect mark"') == 6
    assert ">unbounded</text>" in svg and ">60</text>" in svg


def test_phase_chart_rejects_same_knob_and_missing_outcome():
    frame = pl.DataFrame({"a": [1], "b": [2], "oom_crashes": [0]})
    with pytest.raises(IncidentlabError, match="choose two different knobs"):
        charts.phase_chart(frame, "a", "a")
    with pytest.raises(IncidentlabError, match=r"missing column.*recovered"):
        charts.phase_chart(frame, "a", "b", outcome="recovered")


def test_timeline_chart_of_events():
    svg = svg_of(charts.timeline_chart(synth.events()))
    assert svg.count('aria-roledescription="point"') == 3
    assert "We are investigating" in svg
    assert ">12:00</text>" in svg


def test_bad_frames_raise_the_family_error():
    with pytest.raises(IncidentlabError, match=r"missing column.*node_memory_max_gb"):
        charts.dashboard(synth.timeline(10).drop("node_memory_max_gb"))
    with pytest.raises(IncidentlabError, match="no rows"):
        charts.dashboard(synth.timeline(10).clear())
    with pytest.raises(IncidentlabError, match="expected a polars DataFrame"):
        charts.dashboard({"t_s": [0]})  # type: ignore[arg-type]
    with pytest.raises(IncidentlabError, match="unknown"):
        charts.dashboard(synth.timeline(10), panels=["cpu"])


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_save_works_offline(tmp_path, suffix):
    path = tmp_path / f"memory.{suffix}"
    charts.memory_chart(synth.timeline(300), oom_gb=16).save(path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in data[:200]


def test_headlines_match_the_models_outcome():
    import incidentlab as il

    run = il.simulate(il.presets["march-2017"])
    o = run.outcome
    svg = svg_of(charts.dashboard(run.timeline, oom_gb=run.scenario.params.node_memory_gb))
    assert headlines(svg) == [
        f"peak {run.timeline['node_memory_max_gb'].max():.1f} GB",
        f"peak load {o.peak_presence_load_ratio:.2f}× capacity",
        f"peak stalled {o.peak_stalled_fraction:.1%}",
        f"lost {o.events_lost / 1e9:.2f} billion · dropped 0",
    ]


def test_phase_chart_of_a_real_sweep_shows_the_cliff():
    import incidentlab as il

    base = il.presets["march-2017"].replace(buffer_policy="drop-oldest", buffer_limit=1000)
    grid = il.sweep(base, buffer_limit=[100, 10_000, 1_000_000], reconnect_cap_s=[4.0, 120.0])
    svg = svg_of(charts.phase_chart(grid, "buffer_limit", "reconnect_cap_s", outcome="events_lost"))
    assert svg.count('aria-roledescription="rect mark"') == 6
    assert ">1,000,000</text>" in svg
    labels = re.findall(r'aria-roledescription="text mark"[^>]*>([^<]*)</text>', svg)
    lost = {round(v / 1e9, 2) for v in grid["events_lost"].to_list() if v > 1e9}
    assert any(label.endswith("B") for label in labels) == bool(lost)


def test_report_marks_outside_the_run_are_left_out():
    tl = synth.timeline(3600)  # 11:38 to 12:37
    data = charts.chart_data(tl, events=synth.events(), clock=True)
    assert [m["text"] for m in data["report"]] == [
        "presence node disconnected",
        "sessions began to OOM",
    ]  # the 13:48 update is after the run's end


def test_charts_draw_offline_in_a_kernel(monkeypatch):
    class Kernel:
        kernel = object()

    monkeypatch.setattr("IPython.get_ipython", lambda: Kernel())
    active = alt.renderers.active
    try:
        alt.renderers.enable("default")
        assert charts.offline_in_kernel() is True
        assert alt.renderers.active == "jupyter" and alt.renderers.options["offline"] is True
        alt.renderers.enable("svg")
        assert charts.offline_in_kernel() is False  # the user's choice stays
        assert alt.renderers.active == "svg"
    finally:
        alt.renderers.enable(active)
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    assert charts.offline_in_kernel() is False  # plain Python: nothing to do


def test_charted_offered_load_is_the_load_the_headline_quotes():
    # Without jitter, 2017 retries arrive as spikes a few steps apart; a bucket's raw maximum
    # would chart the spike (about 16x capacity) beside a "peak load 2.5x" headline.
    import incidentlab as il

    run = il.simulate(il.presets["march-2017"].replace(buffer_policy="drop-oldest",
                                                        buffer_limit=1000))
    rows = charts.downsample(run.timeline)
    charted = (rows["offered"] / rows["capacity"]).max()
    assert charted == pytest.approx(run.outcome.peak_presence_load_ratio, rel=0.05)


def test_timeline_axis_names_the_next_day_at_midnight():
    # The postmortem and the 1 AM follow-up fall on 2017-03-21: a bare "00:00" would hide it.
    import incidentlab as il

    svg = svg_of(charts.timeline_chart(il.load_report("discord-2017-03-20")))
    assert ">Mar 21</text>" in svg
    assert ">12:00</text>" in svg


# -- the mechanism view and the shared cursor


def test_session_states_partition_the_users_at_every_step():
    run = il.simulate(il.presets["march-2017"])
    p = run.scenario.params
    states = charts.session_states(
        run.timeline, rpc_timeout_s=p.rpc_timeout_s, reconnect_cap_s=p.reconnect_cap_s
    )
    assert set(states["state"].unique()) == set(charts.SESSION_STATES)
    totals = states.group_by("t_s").agg(pl.col("count").sum()).sort("t_s")
    expected = run.timeline.select(
        pl.col("users_connected") + pl.col("users_reconnecting") + pl.col("users_offline").clip(0)
    ).to_series()
    assert totals["count"].to_list() == pytest.approx(expected.to_list(), rel=1e-9, abs=1e-3)
    assert (states["count"] >= 0).all()
    # the lockup stalls sessions before anyone retries: buffering, not yet waiting or in flight
    first = states.filter(pl.col("t_s") == 60.0)
    by = dict(zip(first["state"], first["count"], strict=True))
    assert by["stalled, buffering"] > 0.2 * p.users


def test_dots_give_each_state_its_share_of_100_at_every_time():
    frame = pl.DataFrame(
        {
            "t_s": [0.0, 0.0, 60.0, 60.0, 60.0],
            "state": ["linked", "crashed", "linked", "reconnecting", "crashed"],
            "count": [3.0, 1.0, 1.0, 1.0, 2.0],
        }
    )
    at = pl.DataFrame({"t_s": [0.0, 60.0], "x": [0.0, 1.0]})
    rows = charts.dots(frame, at)
    assert rows.rows() == [
        (0.0, "linked", 0, 75), (0.0, "crashed", 75, 100),
        (1.0, "linked", 0, 25), (1.0, "reconnecting", 25, 50), (1.0, "crashed", 50, 100),
    ]  # fmt: skip
    # one row per sampled session (an agent engine) counts the same way
    sessions = pl.DataFrame(
        {"t_s": [0.0] * 4, "state": ["linked"] * 3 + ["crashed"], "session": [1, 2, 3, 4]}
    )
    assert charts.dots(sessions, at).rows() == rows.rows()[:2]
    with pytest.raises(charts.ChartError, match="unknown state"):
        charts.dots(frame.with_columns(pl.lit("asleep").alias("state")), at)


def test_dashboard_shares_one_cursor_and_fits_two_columns_in_the_browser():
    run = il.simulate(il.presets["march-2017"])
    p = run.scenario.params
    states = charts.session_states(
        run.timeline, rpc_timeout_s=p.rpc_timeout_s, reconnect_cap_s=p.reconnect_cap_s
    )
    chart = charts.dashboard(run.timeline, baseline=run.timeline, oom_gb=64, sessions=states)
    spec = chart.to_dict()
    cursor = [q for q in spec["params"] if q["name"] == charts.CURSOR]
    assert len(cursor) == 1 and len(cursor[0]["views"]) >= 4  # every time panel moves it
    assert len(spec["concat"]) == 5 and spec["usermeta"]["fitColumns"] == 2
    assert {r["state"] for r in spec["datasets"]["sessions"]} <= set(charts.SESSION_STATES)
    svg = svg_of(chart)
    assert "Sessions (each dot 1% of users)" in svg and charts.GHOST_LABEL in svg


def test_report_marks_legend_names_every_kind():
    legend = charts.marks_legend_html()
    for kind, color in charts._KIND_COLORS.items():
        assert kind in legend and color in legend


def test_replay_lists_the_report_events_near_the_cursor():
    spec = charts.dashboard(synth.timeline(3600), events=synth.events(), clock=True).to_dict()
    text = json.dumps(spec["concat"][0])  # the memory panel
    assert text.count(f"datum.dist <= {charts.NEAR_MS}") == charts.NEAR_SHOWN
    assert "cursor_store" in text
    plain = json.dumps(charts.dashboard(synth.timeline(3600)).to_dict())
    assert "datum.dist" not in plain  # no report, no list


def test_hover_snaps_to_the_ghosts_times_only_when_they_are_the_runs():
    run = il.simulate(il.presets["march-2017"])

    def hover_data(spec):
        layers = spec["concat"][0]["layer"]
        return [lay["data"]["name"] for lay in layers if lay.get("mark", {}).get("opacity") == 0]

    same = charts.dashboard(run.timeline, baseline=run.timeline).to_dict()
    assert hover_data(same) == ["baseline"]  # unchanged by control moves
    shorter = charts.dashboard(run.timeline, baseline=run.timeline.head(600)).to_dict()
    assert hover_data(shorter) == ["current"]


@pytest.mark.parametrize(
    ("preset", "changes"),
    [
        ("march-2017", {}),
        ("march-2017", {"buffer_limit": 5000, "buffer_policy": "drop-oldest"}),
        ("march-2017-fixed", {}),
        ("march-2017-replay", {"split_brain_fix": True}),
    ],
)
def test_record_path_gives_the_same_datasets(preset, changes):
    """The Lab's numpy path from the record equals the polars path exactly (rows, dots, x)."""
    scenario = il.presets[preset].replace(**changes)
    run = il.simulate(scenario)
    clock = preset.endswith("replay")
    p = scenario.params
    st = run.timeline.gather_every(charts.bucket_step(run.timeline.height, 150))
    sessions = charts.session_states(st, rpc_timeout_s=p.rpc_timeout_s,
                                     reconnect_cap_s=p.reconnect_cap_s)
    slow = charts.chart_data(run.timeline, oom_gb=p.node_memory_gb, clock=clock,
                             sessions=sessions, max_points=150)
    fast = charts.record_chart_data(run, clock=clock, backdrop=slow, oom_gb=p.node_memory_gb,
                                    max_points=150)
    assert fast == slow
    peak = max(r["mem_max"] for r in fast["current"])
    assert peak == pytest.approx(run.timeline["node_memory_max_gb"].max(), rel=1e-5)


def test_altair_imported_after_charts_draws_offline_in_a_kernel():
    """Importing charts (as `from incidentlab import Lab` does) no longer imports altair; in a
    kernel, altair switches to the offline renderer whenever it is imported later."""
    code = (
        "import sys, IPython\n"
        "class Kernel:\n    kernel = object()\n"
        "IPython.get_ipython = lambda: Kernel()\n"
        "from incidentlab import Lab, charts\n"
        "assert 'altair' not in sys.modules\n"
        "import altair as alt\n"
        "print(alt.renderers.active, alt.renderers.options.get('offline'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["jupyter", "True"]
