"""Offline HTML reports: one self-contained file, with the run's outcome, charts and knobs."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

import incidentlab as il
from incidentlab.cli import main
from incidentlab.export import compare_cards, outcome_cards, report_html, write_report

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"


@pytest.fixture(scope="module")
def limited_page() -> str:
    scenario = il.presets["march-2017"].replace(buffer_limit=1000, buffer_policy="drop-oldest")
    return report_html(scenario)


def test_report_is_self_contained(limited_page):
    assert not re.search(r"<script[^>]*\ssrc=", limited_page, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", limited_page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", limited_page, re.I)
    assert "window.vegaEmbed" in limited_page  # the Vega JavaScript is inlined
    assert limited_page.count("<script") == 2


def test_report_holds_outcome_and_knobs(limited_page):
    scenario = il.presets["march-2017"].replace(buffer_limit=1000, buffer_policy="drop-oldest")
    outcome = il.simulate(scenario).outcome
    for key, value in outcome_cards(outcome, scenario.params.horizon_s).items():
        assert f'data-card="{key}"' in limited_page
        assert f'<span class="il-value">{value}</span>' in limited_page
    assert outcome.sentences()[0] in limited_page
    assert "Changed knobs: <code>buffer_limit=1000, buffer_policy=&#x27;drop-oldest&#x27;" in (
        limited_page
    )
    changed = re.findall(r'<tr class="il-changed"><td><code>(\w+)</code>', limited_page)
    assert changed == ["buffer_limit", "buffer_policy"]
    assert "unchanged <code>march-2017</code> run" in limited_page  # the ghost


def test_replay_report_has_the_report_timeline():
    page = report_html(il.presets["march-2017-replay"], preset="march-2017-replay")
    assert 'id="chart-report"' in page and 'id="chart-run"' in page
    assert "Changed knobs: <code>none</code>" in page
    assert "grey dashed" not in page.lower()  # the run is its own baseline: no ghost


def test_cli_report_writes_the_page(tmp_path, capsys):
    out = tmp_path / "fixed.html"
    assert main(["report", "--preset", "march-2017-fixed", "--set", "users=1000000",
                 "--out", str(out)]) == 0  # fmt: skip
    assert f"wrote {out}" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "incidentlab: march-2017-fixed with changed knobs" in page
    assert "users=1000000" in page


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--preset", "march-2018", "--out", "x.html"], "unknown preset 'march-2018'"),
        (["--out", "x.png"], "give a .html file name"),
        (["--set", "buffer_limit=-5", "--out", "x.html"], "buffer_limit"),
        (["--out", "/nonexistent-dir/x.html"], "cannot write '/nonexistent-dir/x.html'"),
    ],
)
def test_cli_report_bad_input_is_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("incidentlab: error:") and message in err
    assert err.count("\n") == 1 and not list(tmp_path.iterdir())


def test_write_report_refuses_other_suffixes(tmp_path):
    with pytest.raises(il.IncidentlabError, match=r"give a \.html file name"):
        write_report(il.presets["march-2017"], tmp_path / "r.pdf")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: `make test` "
                    "installs Debian's chromium")  # fmt: skip
def test_report_renders_in_chromium_with_no_network(tmp_path, limited_page):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(limited_page, encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )  # fmt: skip
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            context.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if urlparse(route.request.url).scheme in ("file", "data", "blob")
                    else (requests.append(route.request.url), route.abort())
                ),
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_selector("#chart-run svg text", timeout=20_000)
            texts = page.eval_on_selector_all(
                "#chart-run svg text", "e => e.map(x => x.textContent)"
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "report.png", full_page=True)
        finally:
            browser.close()
    assert requests == [] and errors == []
    assert "Session node memory" in texts and any(t.startswith("peak stalled") for t in texts)


def test_report_cards_set_2017_beside_the_run_and_the_page_uses_its_width(limited_page):
    scenario = il.presets["march-2017"].replace(buffer_limit=1000, buffer_policy="drop-oldest")
    now = outcome_cards(il.simulate(scenario).outcome, scenario.params.horizon_s)
    then = outcome_cards(il.simulate(il.presets["march-2017"]).outcome, 3600)
    changed = [k for k in now if now[k] != then[k]]
    assert changed  # a buffer limit changes the day
    for key in changed:
        assert f'{then[key]} →</span> <span class="il-value">{now[key]}</span>' in limited_page
    march = il.simulate(il.presets["march-2017"]).outcome
    verdict = compare_cards(il.simulate(scenario).outcome, march)
    for key in changed:
        assert f'data-card="{key}" data-vs-2017="{verdict[key]}"' in limited_page
        assert verdict[key] in ("better", "worse")
    assert "max-width: 1000px; color" not in limited_page  # the charts may use the page's width
    assert "fitSpec(spec, box.getBoundingClientRect().width)" in limited_page
