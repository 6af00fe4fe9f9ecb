"""What the Lab needs at start-up is kept on disk: stored once, found again, never stale."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from incidentlab import charts, lab, speccache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(speccache, "CACHE", tmp_path / "specs")
    return tmp_path / "specs"


def test_text_is_made_once_then_read_from_disk(cache, tmp_path):
    source = tmp_path / "source.py"
    source.write_text("A = 1\n")
    made = []

    def make() -> str:
        made.append(1)
        return "the spec"

    for _ in range(2):
        assert speccache.cached("k", make, packages=("numpy",), sources=[source]) == "the spec"
    assert len(made) == 1
    assert [p.suffix for p in cache.iterdir()] == [".txt"]  # no temporary file left behind


def test_a_changed_source_key_or_package_version_makes_a_new_file(cache, tmp_path, monkeypatch):
    source = tmp_path / "source.py"
    source.write_text("A = 1\n")
    first = speccache.path_for("k", ("numpy",), [source])
    assert speccache.path_for("other key", ("numpy",), [source]) != first
    assert speccache.path_for("k", ("numpy", "polars"), [source]) != first
    monkeypatch.setattr(speccache, "_version", lambda package: "0.0-other")
    assert speccache.path_for("k", ("numpy",), [source]) != first
    monkeypatch.undo()
    source.write_text("A = 2\n")
    assert speccache.path_for("k", ("numpy",), [source]) != first


def test_an_unwritable_cache_only_means_nothing_is_kept(tmp_path, monkeypatch):
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("")
    monkeypatch.setattr(speccache, "CACHE", blocker / "specs")
    assert speccache.cached("k", lambda: "made", packages=(), sources=()) == "made"


def test_a_stored_layout_is_the_one_altair_builds(cache, monkeypatch):
    monkeypatch.setattr(lab, "_LAYOUTS", {})
    shown = (("baseline", True), ("current", True), ("limits", True), ("report", False),
             ("sessions", True), ("ghost_times", True))
    stored = lab._layout(False, shown)
    monkeypatch.setattr(lab, "_LAYOUTS", {})
    assert lab._layout(False, shown) == stored  # now read back from disk
    built = charts.layout_spec(lab.PANELS, dict(shown), clock=False)
    assert stored == json.loads(json.dumps(built))
    assert len(list(cache.iterdir())) == 1


def test_after_warm_a_fresh_lab_loads_neither_altair_nor_vl_convert():
    """`incidentlab warm` (run by `make lab`) keeps the layouts and the bundle on disk; a
    learner's kernel then draws the first Lab without importing either (seconds saved)."""
    subprocess.run([sys.executable, "-c", "from incidentlab import lab; lab.warm()"],
                   check=True, capture_output=True)
    code = ("import sys\nfrom incidentlab import Lab\nLab()\n"
            "print(sorted(m for m in ('altair', 'vl_convert') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    assert out.stdout.strip() == "[]"
