"""The Lab: widgets wired to `simulate` and to the chart builders, nothing else.

`Lab()` shows controls for the knobs of the March 2017 incident, outcome cards
that set the current run beside 2017's, the run panels with a grey ghost of what
happened, a shared time cursor, the sessions themselves as dots, and optional
guided steps (`Lab(steps=[Step(...)])`). Moving a control re-runs the model and
swaps the new numbers into the drawn chart (incidentlab.livechart).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import json
import math
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from incidentlab import charts, fmt, speccache
from incidentlab.errors import IncidentlabError, ParamError
from incidentlab.export import CARDS_CSS, cards_html
from incidentlab.livechart import LiveChart

__all__ = ["CONTROLS", "Lab", "Latest", "LiveChart", "Step"]

BASELINE = "march-2017"
REPLAY = "march-2017-replay"
PRESET_BUTTONS = {
    "March 2017": "march-2017",
    "With the fixes": "march-2017-fixed",
    "Replay the day": REPLAY,
}
#: Seconds the Lab waits after a control moves before it runs: drags coalesce, the last wins.
THROTTLE_S = 0.03
#: Rows per run the Lab draws: a point every 3-6 px of a 300-600 px panel (each bucket keeps
#: its peak). Vega's update time grows with the rows: in chromium, on this layout, 10 rows
#: take 10-12 ms, 100 take 18 ms and 150 take 21-28 ms (300 took 1.7 times 150).
LAB_POINTS = 100
NONE = "<none>"  # a slider's value standing for its knob's None ("unbounded", "unlimited", ...)
PANELS = ("memory", "presence", "users", "events")
CONTROL_WIDTH = "340px"
LABEL_WIDTH = "140px"
#: Base/cap pairs the controls keep valid (cap >= base) by moving the other one.
TIED = (
    ("reconnect_base_s", "reconnect_cap_s"),
    ("client_reconnect_base_s", "client_reconnect_cap_s"),
)

# ---------------------------------------------------------------- throttling


class Latest:
    """Calls `fn` with the most recent submitted value, never with a backlog of old ones.

    A submit schedules one call on the running event loop (the kernel's): at once
    (after the message being handled) when the last call ended at least `wait_s`
    ago, else `wait_s` after it ended. Submits before it fires, or while `fn`
    runs, only replace the value, so a click answers without delay, a drag of
    forty slider steps costs a few runs and the final position always runs last.
    Without a running loop it calls `fn` at once.
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
        self._ended = -math.inf  # time.monotonic() when the last call returned

    def submit(self, value: Any) -> None:
        self._value, self._pending = value, True
        if self._handle is not None:
            return
        loop = self._loop or _running_loop()
        if loop is None:
            self._fire()
        else:
            wait = max(0.0, self._ended + self.wait_s - time.monotonic())
            self._handle = loop.call_later(wait, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if not self._pending:
            return
        value, self._pending = self._value, False
        try:
            self.fn(value)
        finally:
            self._ended = time.monotonic()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# ---------------------------------------------------------------- controls


# ---------------------------------------------------------------- controls


def _steps(lo: float, hi: float) -> tuple[float, ...]:
    """1-2-5 values from lo to hi: a log-scale slider whose every stop reads as a round number."""
    out, decade = [], 10.0 ** math.floor(math.log10(lo))
    while decade <= hi:
        out += [m * decade for m in (1, 2, 5) if lo <= m * decade <= hi]
        decade *= 10
    return tuple(out)


def oom_boundary_events(params: Any) -> float:
    """Events each stalled session can buffer before the busiest session node runs out of memory.

    From the knobs as the model uses them: the busiest node holds (1 + spread) times the
    mean share of sessions, one presence node in `presence_nodes` stalls its share of them,
    and the memory left after the idle sessions fills with buffered events.
    """
    per_node = params.users / params.session_nodes * (1 + params.session_load_spread)
    stalled = per_node / params.presence_nodes
    free_kb = params.node_memory_gb * 1e6 - per_node * params.session_base_kb
    return max(free_kb, 0.0) / max(stalled * params.event_kb, 1e-12)


def buffer_steps(params: Any) -> tuple[float, ...]:
    """The buffer-limit slider: 1-2-5 stops from a few events up to the OOM boundary.

    Below the boundary a limit decides how much is dropped. A limit above it never binds
    (the busiest node runs out of memory before a buffer holds that many events), so it
    gives exactly the unbounded result: "unbounded", the slider's end, stands for all of them.
    """
    return _steps(2, max(10.0, oom_boundary_events(params)))


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


# Units are in the knob names; these say them in words. A tooltip says what the knob does
# (Params' own doc), what it was on 2017-03-20 (the march-2017 preset) and what that meant.
# Each slider spans the 1-2-5 stops where the march-2017 outcome changes (from a sweep; held by
# tests/test_lab.py: neighbouring stops never give the same Outcome), from the stop before the
# cards start to change to where nothing changes any more. Below 1 s a client wait is shorter
# than the model's step (dt_s), so client backoffs start there; in-flight limits and admissions
# from 2 million (per node, per s) on change nothing: those are "none" and "unlimited". The
# backoff cap alone changes no card of march-2017 (without jitter the herd stays in step) but
# changes them with jitter.
CONTROLS: tuple[Control, ...] = (
    Control("buffer_limit", "Buffer limit", "events", (), "unbounded",
            incident="stalled sessions buffered until their node ran out of memory"),
    Control("buffer_policy", "Buffer policy",
            incident="drop-oldest trades crashes for lost events; disconnect sends clients away"),
    Control("reconnect_base_s", "Backoff base", "s", _steps(0.05, 500),
            incident="sessions retried presence fast and together: the thundering herd"),
    Control("reconnect_cap_s", "Backoff cap", "s", _steps(0.5, 1000),
            incident="a short cap keeps the herd hammering the remaining presence nodes"),
    Control("reconnect_jitter", "Backoff jitter",
            incident="without jitter the retries arrive in synchronised waves"),
    Control("inflight_limit", "In-flight", "per node", _steps(1, 1e6), "none",
            incident="an action item of the report: a hard limit on in-flight presence calls"),
    Control("fast_fail", "Fast-fail",
            incident="an action item of the report: keep delivering events without presence"),
    Control("split_brain_fix", "Split-brain fix",
            incident="deployed that day: the locked presence node rejoins its cluster cleanly"),
    Control("client_reconnect_base_s", "Client backoff base", "s", _steps(1, 500),
            advanced=True, incident="clients of a crashed session node reconnect elsewhere"),
    Control("client_reconnect_cap_s", "Client backoff cap", "s", _steps(1, 1000),
            advanced=True, incident="the longest a client waits between reconnects"),
    Control("client_reconnect_jitter", "Client jitter",
            advanced=True, incident="spreads millions of client reconnects over time"),
    Control("connect_rate_limit", "Admissions", "per s", _steps(200, 1e6),
            "unlimited", advanced=True,
            incident="the 13:35 API patches limited connections for the full reboot"),
    Control("presence_capacity", "Presence capacity", "ops/s", _steps(5e3, 2e6),
            advanced=True, incident="the herd asked the remaining nodes for many times this"),
    Control("users", "Users", "count", _steps(2e5, 5e7), advanced=True,
            incident="the report says 'millions of concurrent Discord users'"),
    Control("event_rate", "Event rate", "per s", _steps(0.2, 100), advanced=True,
            incident="how fast the buffers of stalled sessions fill"),
)  # fmt: skip

_CONTROL = {c.knob: c for c in CONTROLS}


def _label(value: Any) -> str:
    """A slider readout that fits: '5M', '20k', '1,000', '0.05'."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return fmt.count_short(value) if value >= 10_000 else f"{value:,}"
    return f"{value:g}"


def _field(knob: str) -> dataclasses.Field:
    from incidentlab.model.params import Params

    return {f.name: f for f in dataclasses.fields(Params)}[knob]


def _value_words(control: Control, value: Any) -> str:
    if value is None:
        return control.none_label or "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return f"{_label(value)} {control.unit}".strip()
    return str(value)


def tooltip(control: Control, in_2017: Any) -> str:
    """What the control does, and what it was on 2017-03-20 (`in_2017`) and meant then."""
    doc = _field(control.knob).metadata.get("doc", "")
    return (
        f"{control.label}: {doc}. On 2017-03-20 it was {_value_words(control, in_2017)}: "
        f"{control.incident}."
    )


def _make_widget(control: Control, in_2017: Any, steps: tuple[float, ...] = ()) -> widgets.Widget:
    field = _field(control.knob)
    meta = field.metadata
    tip = tooltip(control, in_2017)
    description = f"{control.label} ({control.unit})" if control.unit else control.label
    style = {"description_width": LABEL_WIDTH}
    layout = widgets.Layout(width=CONTROL_WIDTH)
    if isinstance(field.default, bool):
        return widgets.Checkbox(
            value=field.default, description=description, tooltip=tip, indent=False,
            layout=layout,
        )  # fmt: skip
    if meta.get("choices"):
        return widgets.Dropdown(
            options=list(meta["choices"]), value=field.default, description=description,
            tooltip=tip, style=style, layout=layout,
        )  # fmt: skip
    slider = widgets.SelectionSlider(
        options=_options(control, steps or control.steps),
        description=description,
        tooltip=tip,
        continuous_update=True,
        style=style,
        layout=layout,
    )
    _set_widget(slider, control, field.default)
    return slider


def _options(control: Control, steps: Sequence[float]) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [(_label(v), v) for v in steps]
    if control.none_label:
        options.append((control.none_label, NONE))
    return options


def _set_widget(widget: widgets.Widget, control: Control, value: Any) -> None:
    """Move a control to `value`; a slider gains a stop when the value is off its grid."""
    if not isinstance(widget, widgets.SelectionSlider):
        widget.value = value
        return
    target = NONE if value is None else value
    values = [v for _, v in widget.options]
    if target not in values:
        numbers = sorted({*(v for v in values if v != NONE), target})
        with widget.hold_trait_notifications():
            widget.options = _options(control, numbers)
    widget.value = target


def _read_widget(widget: widgets.Widget) -> Any:
    value = widget.value
    return None if isinstance(widget, widgets.SelectionSlider) and value == NONE else value


def _stops(widget: widgets.SelectionSlider) -> list[float]:
    return [v for _, v in widget.options if v != NONE]


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


# ---------------------------------------------------------------- errors


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



LAB_CSS = """
.il-steps { list-style: none; margin: 0 0 6px 0; padding: 0; font-family: sans-serif;
            font-size: 13px; line-height: 1.35; }
.il-step { margin: 2px 0; color: #333; }
.il-step-mark { display: inline-block; width: 1.3em; font-weight: bold; color: #777; }
.il-step-done { color: #1b5e20; }
.il-step-done .il-step-mark { color: #2e7d32; }
.il-stale { opacity: 0.35; filter: grayscale(1); }
.incidentlab-lab .il-words { height: 11.2em; overflow-y: auto; font-size: 12px; }
.incidentlab-lab .il-error-box { height: 3.9em; overflow-y: auto; font-size: 12px; }
.incidentlab-lab .widget-readout { min-width: 80px; max-width: 84px; text-align: left; }
.incidentlab-lab .il-cards { grid-template-columns: 1fr 1fr; }
.incidentlab-lab .il-card { height: 72px; box-sizing: border-box; overflow: hidden; }
.incidentlab-lab .il-card .il-value { font-size: 13px; }
.incidentlab-lab .il-preset-active { outline: 2px solid #1565c0; font-weight: bold; }
"""
_CSS = f"<style>{CARDS_CSS}{LAB_CSS}</style>"


# ---------------------------------------------------------------- chart layouts

_LAYOUTS: dict[tuple[Any, ...], dict[str, Any]] = {}
#: What a layout is made by: charts' builders, the number formats, the outcome's load window.
LAYOUT_SOURCES = tuple(Path(m.__file__) for m in (charts, fmt, charts._outcome))
_LAYOUT_LOCK = threading.Lock()


def _layout(clock: bool, shown: tuple[tuple[str, bool], ...]) -> dict[str, Any]:
    """The panels' spec for a layout: altair takes seconds for it, so it is built once per
    machine and kept on disk (speccache), then once per process read from there."""
    key = (clock, shown)
    with _LAYOUT_LOCK:
        if key not in _LAYOUTS:
            text = speccache.cached(
                f"layout {PANELS!r} {key!r}",
                lambda: json.dumps(charts.layout_spec(PANELS, dict(shown), clock=clock)),
                packages=("altair",), sources=LAYOUT_SOURCES)
            _LAYOUTS[key] = json.loads(text)
        return _LAYOUTS[key]


def _shown(datasets: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    return tuple(sorted((k, bool(v)) for k, v in datasets.items()))


def _prebuild(clock: bool, shown: tuple[tuple[str, bool], ...]) -> None:
    """Build a layout the learner is likely to ask for next, while the kernel is idle."""

    def build() -> None:
        with contextlib.suppress(Exception):  # only a head start: the Lab builds it when needed
            _layout(clock, shown)

    threading.Thread(target=build, name="incidentlab-layout", daemon=True).start()


def warm() -> None:
    """Build what a Lab draws first for each preset button (layouts, the Vega bundle) and keep
    it on disk, so a learner's first Lab needs neither altair nor vl-convert."""
    from incidentlab.livechart import vega_bundle

    for preset in PRESET_BUTTONS.values():
        Lab(preset=preset)
    vega_bundle()  # the offline report page's


# ---------------------------------------------------------------- the Lab


class Lab:
    """The dashboard: `Lab()`, `Lab(preset="march-2017-replay")`, `Lab(params)`, `Lab(steps=...)`.

    `lab.params` reads the knobs; assigning it moves the controls and runs once.
    `lab.run` is the latest `Run`; `lab.widget` is the ipywidgets box shown;
    `lab.ticks` says which `steps` hold (None for a prompt).
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
        self._base = params if params is not None else presets[self._preset].params
        self._initial = (self._preset, self._base)
        self._baselines: dict[str, Any] = {}
        self._events: Any = None
        self._quiet = False
        self.run: Any = None
        self.runs = 0  # how many times the model ran, for the curious and for tests
        self.stale = False  # True while an error keeps the last valid run on show
        self._layout_key: tuple[Any, ...] | None = None
        self._backdrop: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._times: list[Any] = []
        self._input_at: float | None = None  # time.time() of the last control move, for timing

        in_2017 = presets[BASELINE].params
        self.controls = {
            c.knob: _make_widget(c, getattr(in_2017, c.knob), buffer_steps(self._base)
                                 if c.knob == "buffer_limit" else ())
            for c in CONTROLS
        }  # fmt: skip
        for control in CONTROLS:
            self.controls[control.knob].observe(self._on_control, names="value")
        self.buttons = {
            label: widgets.Button(description=label, tooltip=f"load the {name} preset")
            for label, name in PRESET_BUTTONS.items()
        }
        self.buttons["Reset"] = widgets.Button(
            description="Reset", button_style="warning", tooltip="back to how this Lab started"
        )
        for label, button in self.buttons.items():
            button.on_click(lambda _b, label=label: self._on_button(label))
        self.cards = widgets.HTML(layout=widgets.Layout(height="400px", width=CONTROL_WIDTH))
        self.error = widgets.HTML()
        self.error.add_class("il-error-box")
        self.status = widgets.HTML(layout=widgets.Layout(margin="0 0 0 12px"))
        self.guide = widgets.HTML(layout=widgets.Layout(display="" if self.steps else "none"))
        self.guide.add_class("il-guide")
        self.legend = widgets.HTML(charts.marks_legend_html())
        self.chart = LiveChart(layout=widgets.Layout(width="100%"))
        self.play = widgets.Play(interval=150, min=0, max=1, step=1, description="play",
                                 tooltip="play the run: the dots follow the time")
        self.moment = widgets.IntSlider(min=0, max=1, readout=False, description="Sessions at",
                                        continuous_update=True,
                                        tooltip="the time the dots show (hover a panel too)",
                                        layout=widgets.Layout(flex="1 1 auto", min_width="80px"))
        self.moment_label = widgets.Label(layout=widgets.Layout(width="70px"))
        widgets.jslink((self.play, "value"), (self.moment, "value"))
        self.moment.observe(self._on_moment, names="value")
        self._latest = Latest(self._run_guarded)

        main = [self.controls[c.knob] for c in CONTROLS if not c.advanced]
        advanced = widgets.VBox([self.controls[c.knob] for c in CONTROLS if c.advanced])
        fold = widgets.Accordion(children=[advanced], titles=("Advanced",), selected_index=None)
        fold.layout.width = CONTROL_WIDTH
        # Left: what to do and what it did (steps, controls, errors, cards); right: the panels.
        panel = widgets.VBox(
            [self.guide, *main, fold, self.error, self.cards],
            layout=widgets.Layout(width=CONTROL_WIDTH, flex="none", margin="0 12px 0 0"),
        )
        player = widgets.HBox([self.play, self.moment, self.moment_label],
                              layout=widgets.Layout(width="100%", max_width="640px"))
        right = widgets.VBox(
            [self.legend, self.chart, player],
            layout=widgets.Layout(flex="1 1 auto", min_width="0", width="auto"),
        )
        top = widgets.HBox([*self.buttons.values(), self.status],
                           layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        # The style sheet travels once: in every update it would restyle the whole page.
        style = widgets.HTML(_CSS, layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([style, top, widgets.HBox([panel, right])])
        self.widget.add_class("incidentlab-lab")
        self._move_controls(self._base)
        self._run_guarded(self.params)
        # The other layout (the replay's wall clock) is built while the learner reads.
        other = self._preset != REPLAY
        shown = {**dict.fromkeys(("current", "baseline", "limits", "sessions"), 1), "report": other}
        _prebuild(other, (*_shown(shown), ("ghost_times", True)))

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
        self.params = self._presets[name].params

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- wiring

    def _move_controls(self, params: Any) -> None:
        self._quiet = True
        try:
            limit = self.controls["buffer_limit"]
            steps = buffer_steps(params)
            if _stops(limit) != list(steps):
                with limit.hold_trait_notifications():
                    limit.options = _options(_CONTROL["buffer_limit"], steps)
            for control in CONTROLS:
                _set_widget(self.controls[control.knob], control, getattr(params, control.knob))
        finally:
            self._quiet = False

    def _tie(self, owner: widgets.Widget, new: Any) -> None:
        """Keep knob pairs valid: a control that would break its pair moves the other one."""
        limit, policy = self.controls["buffer_limit"], self.controls["buffer_policy"]
        if owner is limit and new == NONE:
            policy.value = "unbounded"
        elif owner is limit and policy.value == "unbounded":
            policy.value = "drop-oldest"
        elif owner is policy and new == "unbounded":
            limit.value = NONE
        elif owner is policy and limit.value == NONE:
            boundary = oom_boundary_events(self.params.replace(buffer_limit=None,
                                                               buffer_policy="unbounded"))
            below = [v for v in _stops(limit) if v <= boundary] or _stops(limit)
            limit.value = below[-1]  # the largest limit that still saves the nodes
        for base_knob, cap_knob in TIED:
            base, cap = self.controls[base_knob], self.controls[cap_knob]
            if owner is base and base.value > cap.value:
                higher = [v for v in _stops(cap) if v >= base.value]
                _set_widget(cap, _CONTROL[cap_knob], higher[0] if higher else base.value)
            elif owner is cap and cap.value < base.value:
                lower = [v for v in _stops(base) if v <= cap.value]
                _set_widget(base, _CONTROL[base_knob], lower[-1] if lower else cap.value)

    def _on_control(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self._quiet = True
        try:
            self._tie(change["owner"], change["new"])
        finally:
            self._quiet = False
        try:
            params = self.params
        except Exception as exc:
            self._show_error(exc)
            return
        self._input_at = time.time()
        self._latest.submit(params)

    def _on_button(self, label: str) -> None:
        self._input_at = time.time()
        try:
            if label == "Reset":
                self._preset = self._initial[0]
                self.params = self._initial[1]
            else:
                self.load_preset(PRESET_BUTTONS[label])
        except Exception as exc:
            self._show_error(exc)

    def _on_moment(self, change: dict[str, Any]) -> None:
        if self._times:
            index = min(max(int(change["new"]), 0), len(self._times) - 1)
            self._pin(index)

    def _pin(self, index: int) -> None:
        x = self._times[index]
        self.chart.signals = {charts.PIN: x}
        if self._preset == REPLAY:
            from datetime import UTC, datetime

            self.moment_label.value = datetime.fromtimestamp(x / 1000, UTC).strftime("%H:%M")
        else:
            self.moment_label.value = f"{x:.1f} min"

    def _show_error(self, exc: BaseException) -> None:
        """Show what went wrong; grey out the charts and cards, which now show an older run."""
        self.error.value = _error_html(exc)
        self.stale = True
        for view in (self.chart, self.cards):
            view.add_class("il-stale")
        self.status.value = (
            f'<span class="il-status il-status-stale" data-runs="{self.runs}" '
            'style="color:#b00020;font-size:12px">Stale: the charts and cards show the last run '
            "that worked.</span>"
        )

    def _run_guarded(self, params: Any) -> None:
        try:
            self._run(params)
        except Exception as exc:
            self._show_error(exc)
        else:
            self.error.value = ""
            self.stale = False
            for view in (self.chart, self.cards):
                view.remove_class("il-stale")

    def _run(self, params: Any) -> None:
        from incidentlab.model.engine import simulate

        replay = self._preset == REPLAY
        run_at, started = time.time(), time.perf_counter()
        run = simulate(_with_params(self._presets[self._preset], params))
        model_ms = (time.perf_counter() - started) * 1000
        self.runs += 1
        ghost = self._baseline()
        events = self._report_events() if replay else None
        # The ghost and the report marks change only with the preset and the run's span.
        span = (replay, params.horizon_s, params.dt_s)
        backdrop = self._backdrop.get(span)
        sessions = None
        if backdrop is not None:  # the same datasets from the record, without polars
            data = charts.record_chart_data(run, clock=replay, backdrop=backdrop,
                                            oom_gb=params.node_memory_gb, max_points=LAB_POINTS)
        else:
            # the dots are drawn at the charted times only: their states need no other rows
            starts = run.timeline.gather_every(charts.bucket_step(run.timeline.height,
                                                                  LAB_POINTS))
            sessions = charts.session_states(
                starts, rpc_timeout_s=params.rpc_timeout_s, reconnect_cap_s=params.reconnect_cap_s
            )
            data = charts.chart_data(
                run.timeline, baseline=ghost.timeline, events=events,
                oom_gb=params.node_memory_gb, clock=replay, sessions=sessions,
                max_points=LAB_POINTS,
            )  # fmt: skip
            self._backdrop = {span: {k: data[k] for k in ("baseline", "report")}}
        key = (replay, (*_shown(data), ("ghost_times", charts.same_times(data))))
        if self._layout_key != key:
            self.chart.show({**_layout(*key), "datasets": data})
            self._layout_key = key
        else:
            self.chart.update(data, input_at=self._input_at, run_at=run_at)
        self._follow(data["current"], sessions)
        self.legend.layout.display = "" if data["report"] else "none"
        self.cards.value = cards_html(run.outcome, params.horizon_s, ghost.outcome)
        self.run = run
        self._tick(params, run.outcome)
        for label, button in self.buttons.items():
            active = PRESET_BUTTONS.get(label) == self._preset
            button.button_style = "info" if active else ("warning" if label == "Reset" else "")
            (button.add_class if active else button.remove_class)("il-preset-active")
        self.status.value = (
            f'<span class="il-status" data-runs="{self.runs}" style="color:#555;font-size:12px">'
            f"{html.escape(self._preset)}: simulated {fmt.minutes(params.horizon_s)} "
            f"in {model_ms:.0f} ms</span>"
        )

    def _follow(self, rows: list[dict[str, Any]], sessions: Any) -> None:
        """The play slider spans this run's sampled times; it keeps its place when it can."""
        times = [row["x"] for row in rows]
        if times == self._times:
            return
        fresh = not self._times
        self._times = times
        with self.moment.hold_trait_notifications():
            self.moment.max = len(times) - 1
            self.play.max = len(times) - 1
        if fresh and sessions is not None:  # start where the herd is biggest: fewest linked
            linked = sessions.filter(sessions["state"] == "linked")["count"]
            self.moment.value = int(linked.arg_min() or 0) if len(linked) == len(times) else 0
        self._pin(min(self.moment.value, len(times) - 1))

    def _tick(self, params: Any, outcome: Any) -> None:
        """Tick the steps whose condition holds for these knobs and this outcome."""
        if not self.steps:
            return
        self.ticks = tuple(step.holds(params, outcome) for step in self.steps)
        self.guide.value = steps_html(self.steps, self.ticks)

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


def _with_params(scenario: Any, params: Any) -> Any:
    # Scenario's own copy: dataclasses.replace would read `unmapped` and build an empty polars
    # frame on every move (~5 ms)
    return scenario._copy(params=params)
