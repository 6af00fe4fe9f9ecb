"""The step loop built ahead of time (model/aot.py): the same results to the bit as numba's JIT,
found only when current, and a command that uses it loads neither numba nor polars."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from incidentlab.cli import main
from incidentlab.model import aot, engine, loop
from incidentlab.model.presets import presets

ROOT = Path(__file__).resolve().parents[1]


def variants():
    march, fixed = presets["march-2017"], presets["march-2017-fixed"]
    yield "march-2017", march
    yield "march-2017-fixed", fixed
    yield "march-2017-replay", presets["march-2017-replay"]
    for jitter in ("full", "equal", "decorrelated"):
        yield f"jitter {jitter}", march.replace(reconnect_jitter=jitter,
                                                client_reconnect_jitter=jitter)
    yield "drop-oldest", march.replace(buffer_policy="drop-oldest", buffer_limit=2000)
    yield "disconnect", march.replace(buffer_policy="disconnect", buffer_limit=2000)
    yield "cancelling clients", march.replace(cancel_abandoned=True, connect_rate_limit=5000)
    yield "fixed, decorrelated", fixed.replace(reconnect_jitter="decorrelated", dt_s=0.5)


@pytest.fixture(scope="module")
def built():
    """A current build for the presets' layout (`incidentlab warm` makes it; made here if not)."""
    try:
        aot.build(engine.world(presets[name]) for name in presets)
    except aot.BuildError as err:
        pytest.skip(f"no ahead-of-time build on this machine: {err}")
    run = aot.load(engine.world(presets["march-2017"]))
    assert run is not None
    return run


@pytest.mark.parametrize(("name", "scenario"), list(variants()), ids=[n for n, _ in variants()])
def test_the_build_gives_the_jit_results_to_the_bit(built, name, scenario):
    ahead, jit = engine.world(scenario), engine.world(scenario)
    assert aot.load(ahead) is built  # every variant has the presets' layout
    built(ahead)
    loop.run(jit)
    for field in ("record", "nodes", "cluster"):
        assert getattr(ahead, field).tobytes() == getattr(jit, field).tobytes(), (name, field)
    assert np.isfinite(ahead.record["users_connected"]).all()


def test_changed_sources_find_no_build_and_simulate_uses_the_jit(built, monkeypatch):
    run = engine.simulate(presets["march-2017"])
    monkeypatch.setattr(aot, "_sources_digest", lambda: "rules.py as edited a moment ago")
    monkeypatch.setattr(aot, "_LOADED", {})
    assert aot.load(engine.world(presets["march-2017"])) is None
    again = engine.simulate(presets["march-2017"])
    assert again.record.tobytes() == run.record.tobytes()
    assert again.outcome == run.outcome


def test_without_any_build_simulate_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(aot, "cache_dirs", lambda: [tmp_path])
    monkeypatch.setattr(aot, "_LOADED", {})
    w = engine.world(presets["march-2017-fixed"])
    assert aot.load(w) is None
    outcome = engine.simulate(presets["march-2017-fixed"]).outcome
    assert outcome.oom_crashes == 0 and outcome.recovered


def test_a_broken_build_file_is_ignored(monkeypatch, tmp_path):
    w = engine.world(presets["march-2017"])
    (tmp_path / (aot.module_name(w) + aot.SUFFIX)).write_bytes(b"not an ELF file")
    monkeypatch.setattr(aot, "cache_dirs", lambda: [tmp_path])
    monkeypatch.setattr(aot, "_LOADED", {})
    assert aot.load(w) is None


def test_another_layout_has_another_name():
    w = engine.world(presets["march-2017"])
    strided = w._replace(capacity=np.repeat(w.capacity, 2)[::2])
    narrow = w._replace(loss=w.loss.astype(np.float32))
    names = {aot.module_name(x) for x in (w, strided, narrow)}
    assert len(names) == 3
    assert aot.module_name(engine.world(presets["march-2017-replay"])) == aot.module_name(w)


def test_a_build_drops_older_builds_and_keeps_the_current_one(built, monkeypatch, tmp_path):
    w = engine.world(presets["march-2017"])
    current = next(folder / (aot.module_name(w) + aot.SUFFIX) for folder in aot.cache_dirs()
                   if (folder / (aot.module_name(w) + aot.SUFFIX)).is_file())
    shutil.copy(current, tmp_path / current.name)
    stale = tmp_path / (aot.PREFIX + "0" * 20 + aot.SUFFIX)
    stale.write_bytes(b"a build of older sources")
    monkeypatch.setattr(aot, "cache_dirs", lambda: [tmp_path])
    monkeypatch.setattr(aot, "_LOADED", {})
    assert aot.build([w]) == []  # current: nothing to compile
    assert sorted(p.name for p in tmp_path.iterdir()) == [current.name]


@pytest.mark.parametrize("argv", [
    ["simulate", "--format", "json"],
    ["simulate", "--preset", "march-2017-fixed", "--set", "event_rate=1.5", "--format", "json"],
    ["simulate", "--scale", "0.01", "--set", "reconnect_jitter=full", "--format", "json"],
])
def test_a_command_with_a_build_loads_neither_numba_nor_polars(built, argv, monkeypatch, capsys):
    code = ("import contextlib, io, json, sys\n"
            "from incidentlab.cli import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            f"    code = main({argv!r})\n"
            "print(json.dumps({'code': code, 'outcome': json.loads(out.getvalue()),\n"
            "                  'loaded': sorted({'numba', 'polars'} & set(sys.modules))}))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    answer = json.loads(done.stdout)
    assert answer["code"] == 0 and answer["loaded"] == []
    monkeypatch.setattr(aot, "load", lambda w: None)  # the same command on numba's JIT
    assert main(argv) == 0
    assert answer["outcome"] == json.loads(capsys.readouterr().out)


def test_warm_without_a_compiler_says_why_in_one_line_and_the_jit_runs(monkeypatch, tmp_path,
                                                                       capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, gcc or g++ to be found
    monkeypatch.setattr(aot, "cache_dirs", lambda: [tmp_path])
    monkeypatch.setattr(aot, "_LOADED", {})
    assert main(["warm"]) == 0
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "cannot build the loop ahead of time" in err
    assert "g++" in err and "numba's cache" in out
    assert not list(tmp_path.glob(f"{aot.PREFIX}*"))
