"""The Lab wires controls to simulate and charts: driven here from Python, without a browser."""

from __future__ import annotations

import asyncio
import time

import ipywidgets as widgets
import pytest

import incidentlab as il
from incidentlab import lab as lab_module
from incidentlab.export import outcome_cards
from incidentlab.lab import CONTROLS, Lab, Latest, LiveChart
from incidentlab.model.params import Params


@pytest.fixture(scope="module")
def lab() -> Lab:
    return Lab()


def card(lab: Lab, key: str) -> str:
    html = lab.cards.value
    start = html.index(f'data-card="{key}"')
    value = html.index('class="il-value">', start) + len('class="il-value">')
    return html[value : html.index("</span>", value)]


def test_lab_starts_on_march_2017_and_shows_its_outcome(lab):
    preset = il.presets["march-2017"]
    assert lab.params == preset.params
    expected = il.simulate(preset).outcome
    assert lab.run.outcome == expected
    assert card(lab, "crashes") == f"{expected.oom_crashes:,}"
    assert card(lab, "first_oom") == f"after {expected.first_oom_s / 60:.1f} min"
    assert " ".join(expected.sentences()) in lab.cards.value
    assert lab.error.value == ""


def test_setting_params_moves_controls_and_runs_once():
    lab = Lab()
    runs, spec_revision = lab.runs, lab.chart.spec_revision
    new = lab.params.replace(
        buffer_limit=1000, buffer_policy="drop-oldest", fast_fail=True, reconnect_cap_s=37.0
    )
    lab.params = new
    assert lab.runs == runs + 1
    assert lab.params == new
    assert lab.controls["buffer_limit"].value == 1000
    assert lab.controls["buffer_policy"].value == "drop-oldest"
    assert lab.controls["fast_fail"].value is True
    assert lab.controls["reconnect_cap_s"].value == 37.0  # off the 1-2-5 grid: a stop is added
    assert lab.run.outcome == il.simulate(il.presets["march-2017"].replace(**new.changed())).outcome
    # same layout: only the current run's rows travel, into the drawn chart
    assert lab.chart.spec_revision == spec_revision
    assert set(lab.chart.data["datasets"]) == {"current", "sessions"}


def test_moving_a_control_reruns_with_that_knob(lab):
    lab.controls["split_brain_fix"].value = True
    try:
        assert lab.params.split_brain_fix is True
        assert lab.run.scenario.params.split_brain_fix is True
        assert card(lab, "crashes") == f"{lab.run.outcome.oom_crashes:,}"
    finally:
        lab.controls["split_brain_fix"].value = False


def test_buffer_limit_and_policy_stay_consistent():
    lab = Lab()
    stops = [v for _, v in lab.controls["buffer_limit"].options[:-1]]
    lab.controls["buffer_limit"].value = stops[len(stops) // 2]
    assert lab.controls["buffer_policy"].value == "drop-oldest"
    assert lab.params.buffer_limit == stops[len(stops) // 2]
    lab.controls["buffer_policy"].value = "unbounded"
    assert lab.controls["buffer_limit"].value == lab_module.NONE
    assert lab.params.buffer_limit is None
    lab.controls["buffer_policy"].value = "disconnect"
    # the largest limit below the OOM boundary: the policy then saves the nodes
    boundary = lab_module.oom_boundary_events(lab.params)
    assert lab.params.buffer_limit == max(v for v in stops if v <= boundary)
    assert lab.params.buffer_policy == "disconnect"
    assert lab.error.value == ""


def test_preset_buttons_and_reset():
    lab = Lab()
    lab.buttons["With the fixes"].click()
    fixed = il.presets["march-2017-fixed"]
    assert lab.params == fixed.params
    assert lab.run.outcome == il.simulate(fixed).outcome
    assert card(lab, "first_oom") == "never"

    spec_revision = lab.chart.spec_revision
    lab.buttons["Replay the day"].click()
    assert lab.preset == "march-2017-replay"
    assert lab.chart.spec_revision > spec_revision  # a new layout: wall clock, report marks
    assert len(lab.chart.spec["datasets"]["report"]) > 10
    assert "utcFormat" in str(lab.chart.spec)

    lab.buttons["Reset"].click()
    assert lab.preset == "march-2017"
    assert lab.params == il.presets["march-2017"].params
    assert lab.error.value == ""


def test_lab_from_params_and_preset():
    params = Params(users=100_000, session_nodes=10)
    lab = Lab(params)
    assert lab.params == params
    assert lab.controls["users"].value == 100_000
    replay = Lab(preset="march-2017-replay")
    assert replay.params == il.presets["march-2017-replay"].params
    with pytest.raises(il.ParamError, match="unknown; accepted: march-2017"):
        Lab(preset="march-2018")
    with pytest.raises(il.ParamError, match=r"expected incidentlab\.Params"):
        Lab({"users": 10})
    with pytest.raises(il.ParamError, match=r"expected incidentlab\.Params"):
        replay.params = {"users": 10}


def test_base_and_cap_are_tied_so_no_invalid_pair_can_be_chosen():
    lab = Lab()
    base, cap = lab.controls["reconnect_base_s"], lab.controls["reconnect_cap_s"]
    for value in [v for _, v in base.options]:
        base.value = value
        assert cap.value >= base.value
        assert lab.error.value == "" and not lab.stale
    assert lab.params.reconnect_cap_s >= lab.params.reconnect_base_s
    top = base.value
    cap.value = min(v for _, v in cap.options)  # below the base: the base follows down
    assert base.value <= cap.value < top
    assert lab.params.reconnect_base_s == base.value and lab.error.value == ""
    client_base = lab.controls["client_reconnect_base_s"]
    client_base.value = max(v for _, v in client_base.options)
    assert lab.controls["client_reconnect_cap_s"].value >= client_base.value
    assert lab.error.value == ""


def test_an_error_greys_out_charts_and_cards_as_stale(monkeypatch):
    lab = Lab()
    good = lab.run

    def broken(scenario):
        raise il.ParamError("the model refused")

    monkeypatch.setattr("incidentlab.model.engine.simulate", broken)
    lab.controls["fast_fail"].value = True
    assert lab.stale and lab.run is good
    assert "il-stale" in lab.chart._dom_classes and "il-stale" in lab.cards._dom_classes
    assert "the model refused" in lab.error.value and "Stale" in lab.status.value
    monkeypatch.undo()
    lab.controls["fast_fail"].value = False
    assert not lab.stale and lab.error.value == ""
    assert "il-stale" not in lab.chart._dom_classes


def test_buffer_limit_stops_span_the_oom_boundary_from_the_model():
    from incidentlab.lab import buffer_steps, oom_boundary_events

    params = il.presets["march-2017"].params
    stops = buffer_steps(params)
    boundary = oom_boundary_events(params)
    # the last 1-2-5 stop below the boundary; the next would be above it
    assert stops[0] <= 5 and stops[-1] <= boundary < 2.5 * stops[-1]

    def run(limit):
        scenario = il.presets["march-2017"].replace(buffer_limit=limit, buffer_policy="drop-oldest")
        return il.simulate(scenario).outcome

    unbounded = il.simulate(il.presets["march-2017"]).outcome
    assert run(int(stops[-1])).oom_crashes == 0 and unbounded.oom_crashes > 0  # the cliff
    # a limit above the boundary never binds: it is the unbounded run, so no stop is there
    above = run(int(2 * boundary))
    assert (above.oom_crashes, above.events_lost) == (unbounded.oom_crashes, unbounded.events_lost)
    lab = Lab()
    assert [v for _, v in lab.controls["buffer_limit"].options[:-1]] == list(stops)
    lab.params = params.replace(users=params.users * 4)
    assert [v for _, v in lab.controls["buffer_limit"].options[:-1]] == list(
        buffer_steps(lab.params)
    )


def test_unexpected_error_in_a_run_is_shown_with_its_traceback(monkeypatch):
    lab = Lab()

    def broken(scenario):
        raise RuntimeError("engine fell over")

    monkeypatch.setattr("incidentlab.model.engine.simulate", broken)
    lab.controls["fast_fail"].value = True
    assert "RuntimeError: engine fell over" in lab.error.value
    assert "<details>" in lab.error.value and "Traceback" in lab.error.value


def test_every_control_shows_unit_and_tooltip(lab):
    fields = {f["knob"]: f["doc"] for f in Params.describe()}
    in_2017 = il.presets["march-2017"].params
    for control in CONTROLS:
        widget = lab.controls[control.knob]
        assert widget.description.startswith(control.label)
        if control.unit:
            assert widget.description.endswith(f"({control.unit})")
        assert widget.tooltip.startswith(f"{control.label}: {fields[control.knob]}. On 2017-03-20")
        assert control.incident in widget.tooltip
        assert "\n" not in widget.tooltip and len(control.incident) > 20
        if isinstance(widget, widgets.SelectionSlider):
            assert widget.continuous_update is True
            assert all(len(label) <= 9 for label, _ in widget.options)  # readouts fit
    assert "it was unbounded" in lab.controls["buffer_limit"].tooltip
    assert f"it was {in_2017.reconnect_jitter}" in lab.controls["reconnect_jitter"].tooltip
    assert lab.controls["buffer_limit"].options[-1] == ("unbounded", lab_module.NONE)
    assert lab.controls["inflight_limit"].options[-1] == ("none", lab_module.NONE)
    assert lab.controls["connect_rate_limit"].options[-1] == ("unlimited", lab_module.NONE)


def test_cards_set_2017_beside_the_current_run_and_say_better_or_worse():
    lab = Lab()
    assert 'data-vs-2017="same"' in lab.cards.value and 'class="il-was"' not in lab.cards.value
    lab.buttons["With the fixes"].click()
    fixed = il.simulate(il.presets["march-2017-fixed"]).outcome
    march = il.simulate(il.presets["march-2017"]).outcome
    html = lab.cards.value
    start = html.index('data-card="crashes"')
    assert 'data-vs-2017="better"' in html[start - 60 : start + 60]
    assert f"{march.oom_crashes:,} →</span>" in html[start:]
    assert card(lab, "crashes") == f"{fixed.oom_crashes:,}"
    assert "il-preset-active" in lab.buttons["With the fixes"]._dom_classes
    assert "il-preset-active" not in lab.buttons["March 2017"]._dom_classes
    assert lab.status.value.count("simulated 60.0 min in") == 1


def test_play_moves_the_mechanism_view_through_the_run():
    lab = Lab()
    times = [row["x"] for row in lab.chart._sent["current"]]
    assert lab.moment.max == len(times) - 1
    assert lab.chart.signals["pin"] == times[lab.moment.value]
    lab.moment.value = 5
    assert lab.chart.signals["pin"] == times[5]
    states = {row["state"] for row in lab.chart._sent["sessions"]}
    assert "linked" in states and states <= set(lab_module.charts.SESSION_STATES)


def test_advanced_controls_fold_away(lab):
    folds = [w for w in _walk(lab.widget) if isinstance(w, widgets.Accordion)]
    assert len(folds) == 1 and folds[0].selected_index is None
    inside = set(_walk(folds[0]))
    for control in CONTROLS:
        assert (lab.controls[control.knob] in inside) is control.advanced


def test_log_slider_stops_are_1_2_5():
    assert lab_module._steps(10, 1000) == (10, 20, 50, 100, 200, 500, 1000)
    assert lab_module._steps(0.05, 1) == (0.05, 0.1, 0.2, 0.5, 1)


def test_outcome_cards_in_plain_words():
    fixed = il.simulate(il.presets["march-2017-fixed"]).outcome
    cards = outcome_cards(fixed, 3600)
    assert cards["first_oom"] == "never" and cards["crashes"] == "0" and cards["lost"] == "0"
    assert cards["recovered"] == f"yes, after {fixed.time_to_recover_s / 60:.1f} min"


def test_lab_displays_as_one_widget(lab):
    bundle = lab._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


# -- the chart view


def test_live_chart_sends_only_changed_datasets():
    import _synthetic as synth

    from incidentlab import charts

    chart = LiveChart()
    assert "vegaEmbed" not in chart._esm[:0]  # bundled once, no import lines left
    assert "https://esm.sh" not in chart._esm and "cdn.jsdelivr" not in chart._esm
    base = synth.timeline(600)
    chart.show(charts.dashboard(synth.timeline(600, peak_gb=12), baseline=base, oom_gb=16))
    assert chart.spec_revision == 1 and set(chart.spec["datasets"]) >= {"current", "baseline"}
    chart.show(charts.dashboard(synth.timeline(600, peak_gb=20), baseline=base, oom_gb=16))
    assert chart.spec_revision == 1
    assert set(chart.data["datasets"]) == {"current"} and chart.data["revision"] == 2
    chart.update(charts.chart_data(synth.timeline(600, peak_gb=20), baseline=base, oom_gb=16))
    assert chart.data["revision"] == 2  # nothing changed, nothing sent
    chart.show(charts.dashboard(synth.timeline(600), oom_gb=16, clock=True))
    assert chart.spec_revision == 3


# -- throttling: the kernel never queues a backlog and the last position wins


class FakeLoop:
    def __init__(self) -> None:
        self.calls: list = []

    def call_later(self, delay, fn):
        self.calls.append(fn)
        return object()

    def run_pending(self) -> None:
        calls, self.calls = self.calls, []
        for fn in calls:
            fn()


def test_latest_coalesces_submits_and_runs_the_last():
    seen: list[int] = []
    loop = FakeLoop()
    latest = Latest(seen.append, loop=loop)
    for value in range(40):
        latest.submit(value)
    assert len(loop.calls) == 1 and seen == []
    loop.run_pending()
    assert seen == [39]
    loop.run_pending()
    assert seen == [39]


def test_latest_runs_again_for_values_that_arrive_during_a_run():
    seen: list[int] = []
    loop = FakeLoop()

    def slow(value: int) -> None:
        seen.append(value)
        if value == 0:  # a drag goes on while the model runs
            for v in range(1, 20):
                latest.submit(v)

    latest = Latest(slow, loop=loop)
    latest.submit(0)
    loop.run_pending()
    loop.run_pending()
    assert seen == [0, 19]


def test_latest_on_a_real_event_loop_never_builds_a_backlog():
    seen: list[int] = []

    def slow(value: int) -> None:
        time.sleep(0.05)  # a model run that is slower than the slider
        seen.append(value)

    async def drag() -> None:
        # A 150 ms drag over 30 stops. Like the kernel's message queue, every position that
        # arrived while a run blocked the loop is delivered in one burst after it.
        latest = Latest(slow, wait_s=0.01)
        start, sent = time.perf_counter(), 0
        while sent < 30:
            due = min(30, int((time.perf_counter() - start) / 0.005) + 1)
            for value in range(sent, due):
                latest.submit(value)
            sent = due
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.3)

    asyncio.run(drag())
    assert seen[-1] == 29
    assert len(seen) <= 5, seen  # 150 ms of dragging, 60 ms per run: no backlog of 30


def test_latest_without_a_loop_runs_at_once():
    seen: list[int] = []
    latest = Latest(seen.append)
    latest.submit(1)
    latest.submit(2)
    assert seen == [1, 2]


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


# -- guided steps


def test_steps_tick_when_settings_and_outcome_match():
    from incidentlab import Step

    def saved(params, outcome):
        return params.reconnect_jitter == "full" and params.reconnect_cap_s >= 120

    def no_crash(params, outcome):
        return outcome.oom_crashes == 0

    steps = [
        Step("Predict: will full jitter alone save the sessions?"),
        Step("Now set jitter to full, cap 120 s.", when=saved),
        Step("Find settings with no crash.", when=no_crash),
    ]
    lab = Lab(steps=steps)
    baseline = lab.run.outcome
    assert lab.ticks == (None, False, baseline.oom_crashes == 0)
    assert lab.guide.value.count('data-state="prompt"') == 1
    assert "Predict: will full jitter alone save the sessions?" in lab.guide.value

    lab.controls["reconnect_jitter"].value = "full"
    assert lab.ticks[1] is False  # the cap is still the preset's
    lab.controls["reconnect_cap_s"].value = 200.0
    assert lab.params.reconnect_cap_s == 200.0
    assert lab.ticks[1] is True
    assert lab.ticks[2] is (lab.run.outcome.oom_crashes == 0)
    assert 'data-step="2" data-state="done"' in lab.guide.value

    lab.buttons["With the fixes"].click()
    fixed = il.simulate(il.presets["march-2017-fixed"]).outcome
    assert lab.ticks[1] is saved(lab.params, fixed)
    assert lab.ticks[2] is (fixed.oom_crashes == 0)


def test_a_step_that_raises_is_not_ticked_and_bad_steps_are_refused():
    from incidentlab.lab import Step

    lab = Lab(steps=[Step("broken", when=lambda p, o: 1 / 0)])
    assert lab.ticks == (False,)
    assert lab.error.value == ""
    with pytest.raises(il.ParamError, match=r"expected incidentlab\.Step items, got str"):
        Lab(steps=["set jitter to full"])
    assert Lab().guide.layout.display == "none"  # no steps, no list


# -- every stop matters


def _sweep_outcome(lab: Lab, knob: str, stop: object) -> il.Outcome:
    """The march-2017 outcome with the slider of `knob` at `stop`, its pair kept valid as the
    Lab keeps it (moving a backoff base above its cap moves the cap, and the reverse)."""
    lab._quiet = True  # only move the controls: this test simulates them itself
    try:
        control = lab_module._CONTROL[knob]
        lab._move_controls(il.presets["march-2017"].params)
        lab_module._set_widget(lab.controls[knob], control, stop)
        lab._tie(lab.controls[knob], lab.controls[knob].value)
        params = lab.params
    finally:
        lab._quiet = False
    return il.simulate(il.presets["march-2017"].replace(**params.changed())).outcome


def test_neighbouring_stops_of_every_slider_give_different_outcomes():
    lab = Lab()
    sliders = {k: w for k, w in lab.controls.items() if isinstance(w, widgets.SelectionSlider)}
    assert len(sliders) == 10
    same = []
    for knob, slider in sliders.items():
        stops = [None if v == lab_module.NONE else v for _, v in slider.options]
        outcomes = [_sweep_outcome(lab, knob, stop) for stop in stops]
        same += [(knob, a, b) for a, b, x, y in zip(stops, stops[1:], outcomes, outcomes[1:],
                                                     strict=False) if x == y]
    assert same == []
