"""The Lab in a real browser: JupyterLab on loopback, Debian's chromium driven by Playwright.

Opens `lab.ipynb`, runs it, moves the buffer-limit slider and a toggle, and checks
that the drawn charts and outcome cards show what `simulate` gives for the new
knobs. Measures input-to-updated-chart latency; screenshots go to artifacts/.
Any request to a host other than this machine fails the test (no CDN).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

import incidentlab as il
from incidentlab.export import outcome_cards

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).parent
ARTIFACTS = HERE.parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SLOW_MS = 60_000  # bound for kernel start + first Lab on a busy machine

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing: `make test` installs Debian's chromium",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a token, serving a temp copy of lab.ipynb."""
    # Compile the model here first: the kernel then loads it from the on-disk cache.
    il.simulate(il.presets["march-2017"])
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    shutil.copy(HERE / "lab.ipynb", root / "lab.ipynb")
    # No news or update checks: nothing leaves the machine and no popup covers the Lab.
    notes = home / "settings" / "@jupyterlab" / "apputils-extension"
    notes.mkdir(parents=True)
    (notes / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)  # start the kernel without asking; keep every cell in the DOM
    (tracker / "tracker.jupyterlab-settings").write_text(
        json.dumps({"autoStartDefaultKernel": True, "windowingMode": "none"})
    )
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
    )
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
        "--LabApp.news_url=", "--allow-root",
    ]  # fmt: skip
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail("JupyterLab exited:\n" + (home / "server.log").read_text()[-3000:])
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2
                )
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 60 s")
                time.sleep(0.3)
        yield {"url": f"http://127.0.0.1:{port}/lab/tree/lab.ipynb?token={token}", "log": home}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the kernel it started
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(5)
        log.close()


@pytest.fixture(scope="module")
def page(jupyter):
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1250})

            def only_this_machine(route):
                url = urlparse(route.request.url)
                if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL_HOSTS:
                    external.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            context.route("**/*", only_this_machine)
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text[:300]}"))
            page.set_default_timeout(30_000)
            page.external_requests = external
            page.goto(jupyter["url"])
            page.wait_for_function(
                "() => window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000
            )
            _accept_kernel(page)
            try:
                _run_notebook(page)
                page.wait_for_selector(".il-card[data-card='crashes']", timeout=SLOW_MS)
            except Exception:
                _diagnose(page, jupyter, console)
                raise
            yield page
        finally:
            browser.close()


def _accept_kernel(page) -> None:
    """Wait for the notebook's kernel to be idle, answering a "Select Kernel" dialog."""
    _until(page, ".jp-Notebook-ExecutionIndicator[data-status='idle']")
    page.wait_for_timeout(500)  # a late dialog appears within this
    _until(page, ".jp-Notebook-ExecutionIndicator[data-status='idle']")


def _run_notebook(page) -> None:
    """Run every code cell; ask again for the ones JupyterLab dropped (seen while it starts)."""
    deadline, asked = time.monotonic() + SLOW_MS / 1000, 0.0
    dialog = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    while time.monotonic() < deadline:
        shown = [t.strip() for t in prompts.all_inner_texts()]
        if dialog.count():
            dialog.first.click()
        elif "[ ]:" not in shown and "[*]:" not in shown:
            if page.locator(".incidentlab-chart[data-revision] svg").count():
                return
        elif "[*]:" not in shown and time.monotonic() - asked > 5:
            first = shown.index("[ ]:")
            prompts.nth(first).click()  # select the first cell that has not run
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-below')")
            asked = time.monotonic()
        page.wait_for_timeout(200)
    raise TimeoutError(f"the notebook did not run within {SLOW_MS / 1000:.0f} s")


def _until(page, selector: str) -> None:
    """Wait for `selector`, clicking the default button of any JupyterLab dialog on the way."""
    deadline = time.monotonic() + SLOW_MS / 1000
    dialog = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    while time.monotonic() < deadline:
        if dialog.count():
            dialog.first.click()
        elif page.locator(selector).count():
            return
        page.wait_for_timeout(200)
    raise TimeoutError(f"{selector} did not appear within {SLOW_MS / 1000:.0f} s")


def _diagnose(page, jupyter, console: list[str]) -> None:
    """On a failed start: a screenshot, the browser console and the server log, for CI."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "lab-failure.png")
    print("\n".join(console[-40:]))
    print((jupyter["log"] / "server.log").read_text()[-4000:])
    print("notebook output:", page.locator(".jp-OutputArea").all_inner_texts())


# -- reading the page


def headlines(page) -> dict[str, str]:
    """The one-line headline of each chart panel, as drawn in the SVG."""
    texts = page.eval_on_selector_all(
        ".incidentlab-chart svg text", "els => els.map(e => e.textContent)"
    )
    patterns = {
        "memory": r"peak [\d.]+ GB$",
        "load": r"peak load ",
        "stalled": r"peak stalled ",
        "lost": r"lost \d",
    }
    return {k: t for t in texts for k, p in patterns.items() if re.match(p, t)}


def cards(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        ".il-card",
        "els => Object.fromEntries(els.map(e => "
        "[e.dataset.card, e.querySelector('.il-value').textContent]))",
    )


def revision(page) -> str:
    return page.get_attribute(".incidentlab-chart", "data-revision")


def runs(page) -> int:
    return int(page.get_attribute(".il-status", "data-runs"))


def _number(text: str) -> float:
    return float(re.search(r"[\d.,]+", text).group().replace(",", ""))


def assert_shows(page, params: il.Params) -> None:
    """The headlines and cards are what simulate gives for `params` (computed here)."""
    run = il.simulate(il.presets["march-2017"].replace(**params.changed()))
    o = run.outcome
    shown = headlines(page)
    assert _number(shown["memory"]) == pytest.approx(
        run.timeline["node_memory_max_gb"].max(), abs=0.051
    )
    assert _number(shown["load"]) == pytest.approx(o.peak_presence_load_ratio, abs=0.0051)
    assert _number(shown["stalled"]) == pytest.approx(o.peak_stalled_fraction * 100, abs=0.051)
    lost_words = shown["lost"].split(" · ")[0]
    if o.events_lost == 0:
        assert lost_words == "lost 0"
    else:
        scale = {"billion": 1e9, "million": 1e6, "thousand": 1e3}[lost_words.split()[-1]]
        assert _number(lost_words) * scale == pytest.approx(o.events_lost, rel=0.01)
    expected = outcome_cards(o, params.horizon_s)
    assert cards(page) == expected


def wait_for_update(page, old_revision: str, timeout: float = 20_000) -> None:
    page.wait_for_function(
        "old => document.querySelector('.incidentlab-chart').dataset.revision !== old",
        arg=old_revision,
        timeout=timeout,
    )


ARM = """() => {
  const box = document.querySelector('.incidentlab-chart');
  const old = box.dataset.revision;
  window.__updated = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      if (box.dataset.revision !== old) { obs.disconnect(); resolve(performance.now()); }
    });
    obs.observe(box, { attributes: true });
  });
  window.__t0 = performance.now();
}"""


def timed(page, action) -> float:
    """Milliseconds from the input event to the chart holding the new run's rows."""
    page.evaluate(ARM)
    action()
    done = page.evaluate(
        "() => Promise.race([window.__updated, new Promise(r => setTimeout(() => r(null), 15000))])"
    )
    assert done is not None, "the chart did not update within 15 s"
    return done - page.evaluate("() => window.__t0")


# -- the test


def test_lab_in_chromium(page):
    start = time.monotonic()
    ARTIFACTS.mkdir(exist_ok=True)
    lab_box = page.locator(".incidentlab-lab")
    base = il.presets["march-2017"].params
    assert_shows(page, base)
    page.screenshot(path=ARTIFACTS / "lab-initial.png")

    # Buffer limit: keyboard on the slider handle, from "unbounded" down to 1,000 events.
    slider = page.locator(".widget-slider").filter(has_text="Buffer limit")
    handle = slider.locator(".noUi-handle")
    readout = slider.locator(".widget-readout")
    assert readout.inner_text() == "unbounded"
    old, runs_before = revision(page), runs(page)
    handle.focus()
    presses = 0
    while readout.inner_text() != "1,000" and presses < 30:
        page.keyboard.press("ArrowLeft")
        presses += 1
    assert readout.inner_text() == "1,000"
    wait_for_update(page, old)
    limited = base.replace(buffer_limit=1000, buffer_policy="drop-oldest")
    policy = page.locator(".widget-dropdown").filter(has_text="Buffer policy").locator("select")
    assert policy.input_value() == "drop-oldest"
    _settle(page)
    assert_shows(page, limited)  # the last position won
    drag_runs = runs(page) - runs_before
    assert drag_runs < presses, f"{presses} key presses ran the model {drag_runs} times"

    # A toggle: fast-fail on.
    checkbox = page.locator(".widget-checkbox").filter(has_text="Fast-fail").locator("input")
    old = revision(page)
    checkbox.check()
    wait_for_update(page, old)
    _settle(page)
    with_fast_fail = limited.replace(fast_fail=True)
    assert_shows(page, with_fast_fail)
    lab_box.screenshot(path=ARTIFACTS / "lab-after-changes.png")

    # Latency: a toggle click and a slider step, several times each. Fast-fail off first:
    # with it on no session stalls, so the buffer limit changes nothing and nothing is redrawn.
    old = revision(page)
    checkbox.uncheck()
    wait_for_update(page, old)
    _settle(page)
    split = page.locator(".widget-checkbox").filter(has_text="Split-brain fix").locator("input")
    latencies = []
    for i in range(6):
        latencies.append(timed(page, lambda: split.click()))
        _settle(page)
        handle.focus()
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        latencies.append(timed(page, lambda key=key: page.keyboard.press(key)))
        _settle(page)
    median = statistics.median(latencies)
    (ARTIFACTS / "lab-latency.json").write_text(
        json.dumps(
            {
                "median_ms": median,
                "samples_ms": latencies,
                "drag_presses": presses,
                "drag_runs": drag_runs,
            },
            indent=1,
        )
    )
    print(
        f"\nupdate latency: median {median:.0f} ms over {len(latencies)} inputs; "
        f"{presses} slider presses -> {drag_runs} model runs"
    )
    # split-brain fix toggled 6 times (off again), slider back to 1,000
    assert readout.inner_text() == "1,000"
    _settle(page)
    assert_shows(page, limited)

    # One output for the Lab, one chart view: updates never add output. The second
    # output is a chart displayed the plain altair way, drawn offline as well.
    plain = page.locator(".jp-OutputArea-output").nth(1).locator(".vega-embed")
    plain.locator("canvas, svg").first.wait_for(timeout=20_000)
    assert page.locator(".jp-OutputArea-output").count() == 2
    assert page.locator(".incidentlab-chart svg.marks").count() == 1
    assert page.locator(".il-error").count() == 0
    assert page.external_requests == [], page.external_requests
    page.screenshot(path=ARTIFACTS / "lab-final.png")

    # Replay the day: a new layout on the wall clock, with the report's events as marks.
    old = page.get_attribute(".incidentlab-chart", "data-revision")
    page.get_by_role("button", name="Replay the day").click()
    wait_for_update(page, old)
    _settle(page)
    replay = il.presets["march-2017-replay"]
    run = il.simulate(replay)
    assert cards(page) == outcome_cards(run.outcome, replay.params.horizon_s)
    texts = page.eval_on_selector_all(
        ".incidentlab-chart svg text", "e => e.map(x => x.textContent)"
    )
    assert "time (PDT)" in texts and "12:00" in texts and "16:00" in texts
    rules = page.locator(".incidentlab-chart svg line[aria-label*='At 11:38 on March 20']")
    assert rules.count() == 4  # the trigger, in each of the four panels
    rules.first.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert "At 11:38 on March 20" in tooltip.inner_text()
    lab_box.screenshot(path=ARTIFACTS / "lab-replay.png")
    assert median < 1000, f"median update latency {median:.0f} ms"  # aim: < 300 ms
    assert time.monotonic() - start < 90


def _settle(page) -> None:
    """Wait until the model stopped running: the run counter holds still for 400 ms."""
    deadline, last, since = time.monotonic() + 15, runs(page), time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        now = runs(page)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.4:
            return
    pytest.fail("the Lab kept running the model for 15 s after the last input")
