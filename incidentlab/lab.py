"""The Lab: widgets wired to `simulate` and to the chart builders, nothing else.

`Lab()` shows controls for the knobs of the March 2017 incident, outcome cards
in plain words and the run panels with a grey ghost of what happened. Moving a
control re-runs the model and swaps the new numbers into the drawn chart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from incidentlab import charts
from incidentlab.errors import IncidentlabError, ParamError
from incidentlab.export import CARDS_CSS, cards_html

BASELINE = "march-2017"
REPLAY = "march-2017-replay"
PRESET_BUTTONS = {
    "March 2017": "march-2017",
    "With the fixes": "march-2017-fixed",
    "Replay the day": REPLAY,
}
#: Seconds the Lab waits after a control moves before it runs: drags coalesce, the last wins.
THROTTLE_S = 0.03
NONE = "<none>"  # a slider's value standing for its knob's None ("unbounded", "unlimited", ...)

# ---------------------------------------------------------------- the live chart view

_JS = r"""
async function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "incidentlab-chart";
  el.appendChild(box);
  let view = null;
  let queue = Promise.resolve();
  const done = (revision) => { box.dataset.revision = String(revision); };
  const embed = async () => {
    if (view) { view.finalize(); view = null; }
    const spec = structuredClone(model.get("spec"));
    if (!spec || !Object.keys(spec).length) { box.replaceChildren(); return; }
    try {
      const result = await vegaEmbed(box, spec, { renderer: "svg", actions: false });
      view = result.view;
      done(model.get("spec_revision"));
    } catch (error) {
      box.textContent = "Chart error: " + error.message;
    }
  };
  const update = async () => {
    const message = model.get("data");
    if (!view || !message || !message.datasets) { return; }
    for (const [name, values] of Object.entries(message.datasets)) {
      view.data(name, values);
    }
    await view.runAsync();
    done(message.revision);
  };
  // One chain: an update never races the embed it depends on.
  const later = (step) => { queue = queue.then(step, step); return queue; };
  model.on("change:spec", () => later(embed));
  model.on("change:data", () => later(update));
  await later(embed);
  return () => { if (view) { view.finalize(); } };
}
export default { render };
"""

_BUNDLE: str | None = None


def _bundle() -> str:
    """The chart view's JavaScript with Vega, Vega-Lite and vega-embed inlined: no CDN."""
    global _BUNDLE
    if _BUNDLE is None:
        import vl_convert as vlc
        from altair.utils._importers import vl_version_for_vl_convert

        _BUNDLE = vlc.javascript_bundle(_JS, vl_version=vl_version_for_vl_convert())
    return _BUNDLE


class LiveChart(anywidget.AnyWidget):
    """A Vega-Lite view that is drawn once and then fed new rows for its named datasets.

    `show(chart)` (re)draws when the layout changes; `update(datasets)` sends only
    the datasets that changed, and the browser swaps them into the existing view.
    """

    _esm = ""
    spec = traitlets.Dict().tag(sync=True)
    spec_revision = traitlets.Int(0).tag(sync=True)
    data = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        if not type(self)._esm:
            type(self)._esm = _bundle()
        super().__init__(**kwargs)
        self.revision = 0
        self._layout: dict[str, Any] | None = None
        self._sent: dict[str, list[dict[str, Any]]] = {}

    def show(self, chart: Any) -> None:
        """Draw `chart`, or only update its data when its layout is the one already drawn."""
        spec = chart.to_dict(validate=False)
        datasets = spec.pop("datasets", {})
        if spec == self._layout:
            self.update(datasets)
            return
        self._layout = spec
        self._sent = dict(datasets)
        self.revision += 1
        with self.hold_sync():
            self.spec_revision = self.revision
            self.spec = {**spec, "datasets": datasets}

    def update(self, datasets: dict[str, list[dict[str, Any]]]) -> None:
        """Send the datasets that differ from what the browser holds."""
        changed = {k: v for k, v in datasets.items() if self._sent.get(k) != v}
        if not changed:
            return
        self._sent.update(changed)
        self.revision += 1
        self.data = {"revision": self.revision, "datasets": changed}


# ---------------------------------------------------------------- throttling


class Latest:
    """Calls `fn` with the most recent submitted value, never with a backlog of old ones.

    A submit schedules one call `wait_s` later on the running event loop (the
    kernel's); submits before it fires, or while `fn` runs, only replace the
    value, so a drag of forty slider steps costs one or two runs and the final
    position always runs last. Without a running loop it calls `fn` at once.
    """

    def __init__(
        self,
        fn: Callable[[Any], None],
        wait_s: float = THROTTLE_S,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.fn = fn
        self.wait_s = wait_s
        self._loop = loop
        self._handle: Any = None
        self._value: Any = None
        self._pending = False

    def submit(self, value: Any) -> None:
        self._value, self._pending = value, True
        if self._handle is not None:
            return
        loop = self._loop or _running_loop()
        if loop is None:
            self._fire()
        else:
            self._handle = loop.call_later(self.wait_s, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if not self._pending:
            return
        value, self._pending = self._value, False
        self.fn(value)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# ---------------------------------------------------------------- controls


def _steps(lo: float, hi: float) -> tuple[float, ...]:
    """1-2-5 values from lo to hi: a log-scale slider whose every stop reads as a round number."""
    out, decade = [], 10.0 ** math.floor(math.log10(lo))
    while decade <= hi:
        out += [m * decade for m in (1, 2, 5) if lo <= m * decade <= hi]
        decade *= 10
    return tuple(out)


@dataclass(frozen=True)
class Control:
    """How the Lab shows one knob: label, unit, and its stops (for sliders) or choices."""

    knob: str
    label: str
    unit: str = ""  # empty for choices and switches, which have none
    steps: tuple[float, ...] = ()
    none_label: str | None = None  # the slider's end that stands for None
    advanced: bool = False
    incident: str = ""  # what the knob meant on 2017-03-20, for the tooltip


# Units are in the knob names; these say them in words. A tooltip is Params' own doc of the
# knob plus what the knob meant in the incident.
CONTROLS: tuple[Control, ...] = (
    Control("buffer_limit", "Buffer limit", "events/session", _steps(10, 1e7), "unbounded",
            incident="2017 had none: stalled sessions buffered until their node ran out of memory"),
    Control("buffer_policy", "Buffer policy",
            incident="drop-oldest trades crashes for lost events; disconnect sends clients away"),
    Control("reconnect_base_s", "Backoff base", "s", _steps(0.05, 60),
            incident="sessions retried presence fast and together: the thundering herd"),
    Control("reconnect_cap_s", "Backoff cap", "s", _steps(0.5, 600),
            incident="a short cap keeps the herd hammering the remaining presence nodes"),
    Control("reconnect_jitter", "Backoff jitter",
            incident="without jitter the retries arrive in synchronised waves"),
    Control("inflight_limit", "In-flight limit", "requests/node", _steps(1, 1e5), "none",
            incident="an action item of the report: a hard limit on in-flight presence calls"),
    Control("fast_fail", "Fast-fail",
            incident="an action item of the report: keep delivering events without presence"),
    Control("split_brain_fix", "Split-brain fix",
            incident="deployed that day: the locked presence node rejoins its cluster cleanly"),
    Control("client_reconnect_base_s", "Client backoff base", "s", _steps(0.1, 60),
            advanced=True, incident="clients of a crashed session node reconnect elsewhere"),
    Control("client_reconnect_cap_s", "Client backoff cap", "s", _steps(1, 600),
            advanced=True, incident="the longest a client waits between reconnects"),
    Control("client_reconnect_jitter", "Client jitter",
            advanced=True, incident="spreads millions of client reconnects over time"),
    Control("connect_rate_limit", "Admission limit", "connections/s", _steps(100, 1e6),
            "unlimited", advanced=True,
            incident="the 13:35 API patches limited connections for the full reboot"),
    Control("presence_capacity", "Presence capacity", "ops/s/node", _steps(1e3, 1e6),
            advanced=True, incident="the herd asked the remaining nodes for many times this"),
    Control("users", "Users", "users", _steps(1e4, 5e7), advanced=True,
            incident="the report says 'millions of concurrent Discord users'"),
    Control("event_rate", "Event rate", "events/s/session", _steps(0.1, 100), advanced=True,
            incident="how fast the buffers of stalled sessions fill"),
)  # fmt: skip

_CONTROL = {c.knob: c for c in CONTROLS}


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:g}"


def _field(knob: str) -> dataclasses.Field:
    from incidentlab.model.params import Params

    return {f.name: f for f in dataclasses.fields(Params)}[knob]


def _make_widget(control: Control) -> widgets.Widget:
    field = _field(control.knob)
    meta = field.metadata
    tooltip = f"{control.knob}: {meta.get('doc', '')}. In the incident: {control.incident}."
    description = f"{control.label} ({control.unit})" if control.unit else control.label
    style = {"description_width": "195px"}
    layout = widgets.Layout(width="395px")
    if isinstance(field.default, bool):
        return widgets.Checkbox(
            value=field.default,
            description=description,
            tooltip=tooltip,
            indent=False,
            layout=layout,
        )
    if meta.get("choices"):
        return widgets.Dropdown(
            options=list(meta["choices"]),
            value=field.default,
            description=description,
            tooltip=tooltip,
            style=style,
            layout=layout,
        )
    options = [(_label(v), v) for v in control.steps]
    if control.none_label:
        options.append((control.none_label, NONE))
    slider = widgets.SelectionSlider(
        options=options,
        value=options[0][1],
        description=description,
        tooltip=tooltip,
        continuous_update=True,
        style=style,
        layout=layout,
    )
    _set_widget(slider, control, field.default)
    return slider


def _set_widget(widget: widgets.Widget, control: Control, value: Any) -> None:
    """Move a control to `value`; a slider gains a stop when the value is off its grid."""
    if not isinstance(widget, widgets.SelectionSlider):
        widget.value = value
        return
    target = NONE if value is None else value
    values = [v for _, v in widget.options]
    if target not in values:
        numbers = sorted({*(v for v in values if v != NONE), target})
        options = [(_label(v), v) for v in numbers]
        if control.none_label:
            options.append((control.none_label, NONE))
        with widget.hold_trait_notifications():
            widget.options = options
    widget.value = target


def _read_widget(widget: widgets.Widget) -> Any:
    value = widget.value
    return None if isinstance(widget, widgets.SelectionSlider) and value == NONE else value


# ---------------------------------------------------------------- guided steps


@dataclass(frozen=True)
class Step:
    """One task beside the controls: `text`, ticked while `when(params, outcome)` holds.

    A Step without `when` is a prompt ("Predict: ...") and is never ticked. `when` is
    called after every run with the Lab's `Params` and the run's `Outcome`.
    """

    text: str
    when: Callable[[Any, Any], bool] | None = None

    def holds(self, params: Any, outcome: Any) -> bool | None:
        """True/False for a task (False too if `when` raises), None for a prompt."""
        if self.when is None:
            return None
        try:
            return bool(self.when(params, outcome))
        except Exception:  # a learner's lambda must not break the Lab
            return False


def steps_html(steps: Sequence[Step], ticks: Sequence[bool | None]) -> str:
    """The steps as a short list: a tick for a task that holds, a box for one that does not."""
    items = []
    for number, (step, tick) in enumerate(zip(steps, ticks, strict=True), 1):
        state = "prompt" if tick is None else ("done" if tick else "todo")
        mark = {"prompt": "?", "done": "\u2713", "todo": "\u2610"}[state]
        items.append(
            f'<li class="il-step il-step-{state}" data-step="{number}" data-state="{state}">'
            f'<span class="il-step-mark">{mark}</span> {html.escape(step.text)}</li>'
        )
    return f'<ol class="il-steps">{"".join(items)}</ol>'


# ---------------------------------------------------------------- outcome cards

LAB_CSS = """
.il-steps { list-style: none; margin: 0 0 6px 0; padding: 0; font-family: sans-serif;
            font-size: 13px; line-height: 1.35; }
.il-step { margin: 2px 0; color: #333; }
.il-step-mark { display: inline-block; width: 1.3em; font-weight: bold; color: #777; }
.il-step-done { color: #1b5e20; }
.il-step-done .il-step-mark { color: #2e7d32; }
"""
_CSS = f"<style>{CARDS_CSS}{LAB_CSS}</style>"


def _error_html(exc: BaseException) -> str:
    if isinstance(exc, IncidentlabError):
        body = html.escape(str(exc))
        return f'<div class="il-error"><b>Could not run the model:</b> {body}</div>'
    trace = html.escape("".join(traceback.format_exception(exc)))
    return (
        f'<div class="il-error"><b>Error in the Lab:</b> {html.escape(type(exc).__name__)}: '
        f"{html.escape(str(exc))}<details><summary>traceback</summary><pre>{trace}</pre>"
        "</details></div>"
    )


# ---------------------------------------------------------------- the Lab


class Lab:
    """The dashboard: `Lab()`, `Lab(preset="march-2017-replay")` or `Lab(params)`.

    `lab.params` reads the knobs; assigning it moves the controls and runs once.
    `lab.run` is the latest `Run`; `lab.widget` is the ipywidgets box shown.
    """

    def __init__(
        self, params: Any = None, *, preset: str | None = None, steps: Sequence[Step] = ()
    ) -> None:
        from incidentlab.model.params import Params
        from incidentlab.model.presets import presets

        self._presets = presets
        if preset is not None and preset not in presets:
            raise ParamError(f"preset {preset!r} is unknown; accepted: {', '.join(presets)}")
        if params is not None and not isinstance(params, Params):
            raise ParamError(
                f"Lab(params): expected incidentlab.Params, got {type(params).__name__}"
            )
        self.steps = tuple(steps)
        bad = [type(s).__name__ for s in self.steps if not isinstance(s, Step)]
        if bad:
            raise ParamError(
                f"Lab(steps=...): expected incidentlab.Step items, got {', '.join(bad)}"
            )
        self.ticks: tuple[bool | None, ...] = (None,) * len(self.steps)
        self._preset = preset or BASELINE
        scenario_params = _scenario_params(presets[self._preset])
        self._base = params if params is not None else scenario_params
        self._initial = (self._preset, self._base)
        self._baselines: dict[str, Any] = {}
        self._events: Any = None
        self._quiet = False
        self.run: Any = None
        self.runs = 0  # how many times the model ran, for the curious and for tests
        self._layout_key: tuple[bool, ...] | None = None
        self._backdrop: dict[tuple[Any, ...], dict[str, Any]] = {}

        self.controls = {c.knob: _make_widget(c) for c in CONTROLS}
        for control in CONTROLS:
            self.controls[control.knob].observe(self._on_control, names="value")
        self.buttons = {label: widgets.Button(description=label) for label in PRESET_BUTTONS}
        self.buttons["Reset"] = widgets.Button(description="Reset", button_style="warning")
        for label, button in self.buttons.items():
            button.on_click(lambda _b, label=label: self._on_button(label))
        self.cards = widgets.HTML(layout=widgets.Layout(min_height="90px"))
        self.error = widgets.HTML()
        self.status = widgets.HTML()
        self.guide = widgets.HTML(layout=widgets.Layout(display="" if self.steps else "none"))
        self.guide.add_class("il-guide")
        self.chart = LiveChart()
        self._latest = Latest(self._run_guarded)

        main = [self.controls[c.knob] for c in CONTROLS if not c.advanced]
        advanced = widgets.VBox([self.controls[c.knob] for c in CONTROLS if c.advanced])
        fold = widgets.Accordion(children=[advanced], titles=("Advanced",), selected_index=None)
        panel = widgets.VBox(
            [self.guide, *main, fold], layout=widgets.Layout(width="400px", flex="none")
        )
        self.widget = widgets.VBox(
            [
                widgets.HBox(list(self.buttons.values())),
                widgets.HBox([panel, widgets.VBox([self.cards, self.error, self.chart])]),
                self.status,
            ]
        )
        self.widget.add_class("incidentlab-lab")
        self._move_controls(self._base)
        self._run_guarded(self.params)

    # -- public

    @property
    def params(self) -> Any:
        """The knobs as the controls show them (knobs without a control keep their value)."""
        knobs = {c.knob: _read_widget(self.controls[c.knob]) for c in CONTROLS}
        if knobs["buffer_limit"] is None:
            knobs["buffer_policy"] = "unbounded"
        elif knobs["buffer_policy"] == "unbounded":
            knobs["buffer_policy"] = "drop-oldest"
        return self._base.replace(**knobs)

    @params.setter
    def params(self, value: Any) -> None:
        from incidentlab.model.params import Params

        if not isinstance(value, Params):
            raise ParamError(f"lab.params: expected incidentlab.Params, got {type(value).__name__}")
        self._base = value
        self._move_controls(value)
        self._run_guarded(self.params)

    @property
    def preset(self) -> str:
        """The scenario the knobs run in: its schedule (faults, operator actions) and time axis."""
        return self._preset

    def load_preset(self, name: str) -> None:
        """Switch to a preset's scenario and knobs, as its button does."""
        if name not in self._presets:
            raise ParamError(f"preset {name!r} is unknown; accepted: {', '.join(self._presets)}")
        self._preset = name
        self.params = _scenario_params(self._presets[name])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- wiring

    def _move_controls(self, params: Any) -> None:
        self._quiet = True
        try:
            for control in CONTROLS:
                _set_widget(self.controls[control.knob], control, getattr(params, control.knob))
        finally:
            self._quiet = False

    def _on_control(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        owner = change["owner"]
        self._quiet = True
        try:  # keep the buffer limit and its policy consistent, as Params requires
            limit, policy = self.controls["buffer_limit"], self.controls["buffer_policy"]
            if owner is limit and change["new"] == NONE:
                policy.value = "unbounded"
            elif owner is limit and policy.value == "unbounded":
                policy.value = "drop-oldest"
            elif owner is policy and change["new"] == "unbounded":
                limit.value = NONE
            elif owner is policy and limit.value == NONE:
                _set_widget(limit, _CONTROL["buffer_limit"], 10_000)
        finally:
            self._quiet = False
        try:
            params = self.params
        except Exception as exc:
            self.error.value = _error_html(exc)
            return
        self._latest.submit(params)

    def _on_button(self, label: str) -> None:
        try:
            if label == "Reset":
                self._preset = self._initial[0]
                self.params = self._initial[1]
            else:
                self.load_preset(PRESET_BUTTONS[label])
        except Exception as exc:
            self.error.value = _error_html(exc)

    def _run_guarded(self, params: Any) -> None:
        try:
            self._run(params)
        except Exception as exc:
            self.error.value = _error_html(exc)
        else:
            self.error.value = ""

    def _run(self, params: Any) -> None:
        from incidentlab.model.engine import simulate

        replay = self._preset == REPLAY
        started = time.perf_counter()
        run = simulate(_with_params(self._presets[self._preset], params))
        model_ms = (time.perf_counter() - started) * 1000
        self.runs += 1
        ghost = self._baseline()
        events = self._report_events() if replay else None
        layout = (replay,)
        common = {
            "baseline": ghost.timeline,
            "events": events,
            "oom_gb": params.node_memory_gb,
            "clock": replay,
        }
        if self._layout_key != layout:
            self.chart.show(charts.dashboard(run.timeline, **common))
            self._layout_key = layout
        else:
            # The ghost and the report marks change only with the preset and the run's span.
            span = (replay, params.horizon_s, params.dt_s)
            backdrop = self._backdrop.get(span)
            data = charts.chart_data(run.timeline, **common, backdrop=backdrop)
            if backdrop is None:
                self._backdrop = {span: {k: data[k] for k in ("baseline", "report")}}
            self.chart.update(data)
        self.cards.value = _CSS + cards_html(run.outcome, params.horizon_s)
        self.run = run
        self._tick(params, run.outcome)
        total_ms = (time.perf_counter() - started) * 1000
        self.status.value = (
            f'<span class="il-status" data-runs="{self.runs}" style="color:#777;font-size:11px">'
            f"{self._preset} · model run {model_ms:.0f} ms, with charts {total_ms:.0f} ms · "
            f"{self.runs} runs</span>"
        )

    def _tick(self, params: Any, outcome: Any) -> None:
        """Tick the steps whose condition holds for these knobs and this outcome."""
        if not self.steps:
            return
        self.ticks = tuple(step.holds(params, outcome) for step in self.steps)
        self.guide.value = _CSS + steps_html(self.steps, self.ticks)

    def _baseline(self) -> Any:
        """The ghost: the unchanged preset of the 2017 day, the replay's own for the replay."""
        from incidentlab.model.engine import simulate

        name = REPLAY if self._preset == REPLAY else BASELINE
        if name not in self._baselines:
            self._baselines[name] = simulate(self._presets[name])
        return self._baselines[name]

    def _report_events(self) -> Any:
        if self._events is None:
            from incidentlab.reports import load_report

            self._events = load_report()
        return self._events


def _scenario_params(scenario: Any) -> Any:
    return scenario.params


def _with_params(scenario: Any, params: Any) -> Any:
    return dataclasses.replace(scenario, params=params)
