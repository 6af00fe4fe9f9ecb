"""The bundled data: the report byte for byte, a well-formed answer key, and loading from an
installed wheel's layout (incidentlab/_data) as well as from a checkout (data/)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import polars as pl

import incidentlab
from incidentlab.reports import KINDS, SERVICE_CUES, STATUSES, bundled_reports

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
REPORT = DATA / "discord-2017-03-20.txt"
KEY = DATA / "discord-2017-03-20.events.csv"


def test_report_is_the_published_text_byte_for_byte():
    raw = REPORT.read_bytes()
    assert len(raw) == 10_071
    assert hashlib.sha256(raw).hexdigest() == (
        "72e5cb2976d54287e5e0058e765c89adbb43a2c894ed348d4e341b02f8911f32")
    provenance = (DATA / "PROVENANCE.md").read_text(encoding="utf-8")
    assert hashlib.sha256(raw).hexdigest() in provenance
    assert incidentlab.report_text() == raw.decode("utf-8")


def test_answer_key_file_is_well_formed():
    raw = pl.read_csv(KEY, infer_schema=False)
    assert raw.columns == ["time", "end", "source", "kind", "services", "approximate", "status",
                           "text", "line"]
    assert raw["time"].str.contains(r"^2017-03-2[01]T\d\d:\d\d:00-07:00$").all()
    assert set(raw["source"]) == {"narrative", "status_update"}
    assert set(raw["kind"]) <= set(KINDS)
    assert set(raw["status"].drop_nulls()) <= set(STATUSES)
    assert set(raw["approximate"]) == {"true", "false"}
    services = {s for cell in raw["services"].drop_nulls() for s in cell.split(";")}
    assert services <= set(SERVICE_CUES)
    # status rows and only they have a status; every status row is communication
    updates = raw.filter(pl.col("source") == "status_update")
    assert updates["status"].null_count() == 0 and set(updates["kind"]) == {"communication"}
    assert raw.filter(pl.col("source") == "narrative")["status"].null_count() == 22
    # each key row's line holds its time, as the report prints it
    lines = REPORT.read_text(encoding="utf-8").splitlines()
    printed = {"01:00": "1AM"}
    for time, line in raw.select("time", "line").iter_rows():
        clock = time[11:16]
        assert printed.get(clock, clock) in lines[int(line) - 1], (time, line)


def test_answer_key_loads_sorted_and_zoned():
    key = incidentlab.answer_key()
    assert key["time"].is_sorted()
    assert key.schema["time"] == pl.Datetime("us", "Etc/GMT+7")
    assert key.height == 30
    assert bundled_reports() == ["discord-2017-03-20"]


def test_wheel_maps_data_into_the_package():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"]["data"] == "incidentlab/_data"


def test_loads_from_an_installed_layout_without_a_checkout(tmp_path):
    # lay the package out as the wheel installs it: incidentlab/ with data/ as incidentlab/_data
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "incidentlab", site / "incidentlab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(DATA, site / "incidentlab" / "_data")
    code = ("import incidentlab, incidentlab.reports as r; "
            "print(incidentlab.__file__); print(r._data_dir()); "
            "print(incidentlab.load_report().height, incidentlab.answer_key().height)")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    module, data_dir, counts = done.stdout.splitlines()
    assert module.startswith(str(site))
    assert data_dir == str(site / "incidentlab" / "_data")
    assert counts == "30 30"
