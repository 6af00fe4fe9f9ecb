"""A Vega-Lite view drawn once and then fed new rows, and the offline Vega bundle it runs on.

Why not `alt.JupyterChart`: it re-embeds (redraws) the whole view when its spec
changes, so every slider move would rebuild the SVG, lose the hover state and
flicker. `LiveChart` keeps one Vega view and swaps only the named datasets that
changed. Both it and the offline report page (export.py) run on the same bundle:
Vega, Vega-Lite and vega-embed inlined by vl-convert, so nothing loads from a CDN,
plus `FIT_JS`, which sizes a grid of panels to the width of the page or output area.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import anywidget
import numpy as np
import traitlets

from incidentlab import speccache

#: Widest panel grid the fit lays out; more room leaves a margin.
MAX_COLUMNS = 2

# fitSpec(spec, width): the panels of a `concat` spec laid out to `width` pixels: two columns
# where each gets at least `minPanel` px, else one. A panel's own `width` (its plot area) is
# set; `fitExtra` (in the spec's usermeta) is what its axis and padding take besides.
FIT_JS = r"""
function fitSpec(spec, width) {
  const meta = spec.usermeta || {};
  const extra = meta.fitExtra || 80, minPanel = meta.fitMin || 380, gap = meta.fitGap || 24;
  if (!spec.concat || !width) { return spec; }
  let columns = Math.max(1, Math.min(meta.fitColumns || 2, spec.concat.length));
  while (columns > 1 && (width - gap * (columns - 1)) / columns < minPanel + extra) {
    columns -= 1;
  }
  const plot = Math.floor((width - gap * (columns - 1)) / columns - extra);
  const out = { ...spec, columns, spacing: gap, concat: spec.concat.map((p) => {
    if (typeof p.width !== "number") { return p; }
    const panelWidth = Math.max(120, plot);
    const h = p.usermeta && p.usermeta.square ? Math.min(panelWidth, p.height) : p.height;
    return { ...p, width: panelWidth, height: h };
  }) };
  return out;
}
"""

_WIDGET_JS = r"""
async function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "incidentlab-chart";
  box.style.width = "100%";
  el.appendChild(box);
  let view = null, drawnWidth = 0, latest = {};
  let queue = Promise.resolve();
  const done = (revision) => { box.dataset.revision = String(revision); };
  const width = () => Math.floor(box.getBoundingClientRect().width || el.clientWidth || 0);
  const applySignals = () => {
    if (!view) { return; }
    for (const [name, value] of Object.entries(model.get("signals") || {})) {
      try { view.signal(name, value); } catch (error) { /* not in this spec */ }
    }
  };
  const embed = async () => {
    if (view) { view.finalize(); view = null; }
    const spec = structuredClone(model.get("spec"));
    if (!spec || !Object.keys(spec).length) { box.replaceChildren(); return; }
    spec.datasets = { ...(spec.datasets || {}), ...latest };
    drawnWidth = width();
    try {
      // logLevel 1 (vega.Error): no "Infinite extent" warning for each empty hover layer on
      // every update, which costs most where a console is watched (devtools, the tests)
      const result = await vegaEmbed(box, fitSpec(spec, drawnWidth),
                                     { renderer: "svg", actions: false, logLevel: 1 });
      view = result.view;
      applySignals();
      await view.runAsync();
      done(model.get("spec_revision"));
    } catch (error) {
      box.textContent = "Chart error: " + error.message;
    }
  };
  // A dataset travels as rows, or as columns: numbers in binary float64 buffers (NaN for a
  // missing value), other values in lists. Vega wants rows.
  const rows = (data) => {
    if (Array.isArray(data)) { return data; }
    const columns = Object.entries(data.columns).map(([name, column]) => [name,
      column instanceof DataView
        ? new Float64Array(column.buffer, column.byteOffset, column.byteLength / 8) : column]);
    const out = new Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const row = {};
      for (const [name, column] of columns) { const v = column[i]; row[name] = v !== v ? null : v; }
      out[i] = row;
    }
    return out;
  };
  // Where an update's time goes, as performance marks and in data-stages (ms on this page's
  // clock): the kernel's input and send times travel in the message as wall-clock ms.
  const stage = (name, at) => {
    try { performance.mark("incidentlab:" + name, { startTime: at }); } catch (error) { /* old */ }
    return at;
  };
  const update = async (received) => {
    const message = model.get("data");
    if (!message || !message.datasets) { return; }
    const started = performance.now();
    const kernel = message.kernel || {};
    const wall = (ms) => (typeof ms === "number" ? ms - performance.timeOrigin : null);
    const stages = { input: wall(kernel.input), run: wall(kernel.run), sent: wall(kernel.sent),
                     received, started };
    const datasets = {};
    for (const [name, data] of Object.entries(message.datasets)) { datasets[name] = rows(data); }
    Object.assign(latest, datasets);
    stages.decoded = performance.now();
    if (!view) { return; }
    for (const [name, values] of Object.entries(datasets)) {
      view.data(name, values);
    }
    await view.runAsync();
    stages.drawn = performance.now();
    for (const [name, at] of Object.entries(stages)) { if (at !== null) { stage(name, at); } }
    box.dataset.stages = JSON.stringify({ revision: message.revision, ...stages });
    box.dataset.renderMs = String(Math.round(stages.drawn - started));
    done(message.revision);
  };
  // One chain: an update never races the embed it depends on.
  const later = (step) => { queue = queue.then(step, step); return queue; };
  model.on("change:spec", () => { latest = {}; later(embed); });
  model.on("change:data", () => {
    const received = performance.now();
    later(() => update(received));
  });
  model.on("change:signals", () => later(async () => {
    applySignals(); if (view) { await view.runAsync(); }
  }));
  let timer = null;
  const resized = new ResizeObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (view && Math.abs(width() - drawnWidth) > 16) { later(embed); }
    }, 150);
  });
  resized.observe(box);
  await later(embed);
  return () => { resized.disconnect(); if (view) { view.finalize(); } };
}
export default { render };
"""

_PAGE_JS = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.fitSpec = fitSpec;"

_BUNDLES: dict[str, str] = {}


def vl_version() -> str:
    """vl-convert's name ('v6_1') for the Vega-Lite version the installed altair writes."""
    import altair as alt

    return "_".join(alt.SCHEMA_VERSION.split(".")[:2])


def vega_bundle(snippet: str = _PAGE_JS) -> str:
    """Vega, Vega-Lite, vega-embed and `FIT_JS` as one script around `snippet` (no CDN).

    The default snippet defines window.vegaEmbed and window.fitSpec for a plain page.
    """
    if snippet not in _BUNDLES:
        def make() -> str:
            import vl_convert as vlc

            return vlc.javascript_bundle(FIT_JS + snippet, vl_version=vl_version())

        _BUNDLES[snippet] = speccache.cached(  # vl-convert takes half a second to bundle
            f"bundle {FIT_JS}{snippet}", make, packages=("altair", "vl-convert-python"),
            sources=())
    return _BUNDLES[snippet]


class LiveChart(anywidget.AnyWidget):
    """A Vega-Lite view that is drawn once and then fed new rows for its named datasets.

    `show(chart)` (re)draws when the layout changes; `update(datasets)` sends only
    the datasets that changed, and the browser swaps them into the existing view.
    A `concat` of panels is laid out to the output area's width (see `FIT_JS`) and
    laid out again when that width changes. `signals` sets Vega signals by name.
    """

    _esm = ""
    spec = traitlets.Dict().tag(sync=True)
    spec_revision = traitlets.Int(0).tag(sync=True)
    data = traitlets.Dict().tag(sync=True)
    signals = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        if not type(self)._esm:
            type(self)._esm = vega_bundle(_WIDGET_JS)
        super().__init__(**kwargs)
        self.revision = 0
        self._layout: dict[str, Any] | None = None
        self._sent: dict[str, list[dict[str, Any]]] = {}

    def show(self, chart: Any) -> None:
        """Draw `chart`, or only update its data when its layout is the one already drawn."""
        spec = chart if isinstance(chart, dict) else chart.to_dict(validate=False)
        spec = dict(spec)
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

    def update(
        self, datasets: dict[str, list[dict[str, Any]]], *, input_at: float | None = None,
        run_at: float | None = None,
    ) -> None:
        """Send the datasets that differ from what the browser holds.

        `input_at` and `run_at` (time.time() when the kernel got the input that caused this,
        and when its run began) travel with the send time, so the browser can say where an
        update's time went (data-stages).
        """
        changed = {k: v for k, v in datasets.items() if self._sent.get(k) != v}
        if not changed:
            return
        self._sent.update(changed)
        self.revision += 1
        message = {"revision": self.revision,
                   "datasets": {k: columns(v) for k, v in changed.items()}}
        if input_at is not None:
            message["kernel"] = {"input": input_at * 1000, "run": (run_at or input_at) * 1000,
                                 "sent": time.time() * 1000}
        self.data = message


def columns(rows: list[dict[str, Any]]) -> Any:
    """`rows` as the browser reads them fastest: numeric columns as float64 bytes (NaN for
    None), which ipywidgets sends as binary buffers, not JSON; other columns as lists."""
    if not rows:
        return rows
    out: dict[str, Any] = {}
    for key in rows[0]:
        values = [row.get(key) for row in rows]
        first = next((v for v in values if v is not None), None)
        out[key] = values
        if isinstance(first, int | float) and not isinstance(first, bool):
            with contextlib.suppress(TypeError, ValueError):  # a column of mixed types
                out[key] = np.array(values, dtype=np.float64).tobytes()  # None -> NaN
    return {"length": len(rows), "columns": out}
