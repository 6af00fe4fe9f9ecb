"""`event_rows` (the parse without polars) gives the events table's rows, and the replay preset
built from them is the replay `Scenario.from_events` builds from the table, without polars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from benchmarks.parser import CORPUS, HELD_OUT, TEXT_SUFFIXES
from incidentlab.model.presets import march_2017_replay
from incidentlab.model.scenario import Scenario
from incidentlab.reports import event_rows, parse_report, report_text

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [p for folder in (CORPUS, HELD_OUT) for p in sorted(folder.iterdir())
         if p.suffix in TEXT_SUFFIXES and p.with_suffix(".csv").is_file()]


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_event_rows_are_the_tables_rows(path):
    text = path.read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table, rows = parse_report(text), event_rows(text)
    assert rows.rows == list(table.iter_rows(named=True)) and rows.rows
    assert rows.zone == table.schema["time"].time_zone


def test_the_replay_from_rows_is_the_replay_from_the_table():
    from_table = Scenario.from_events(parse_report(report_text()), name="march-2017-replay")
    from_rows = march_2017_replay()
    assert from_rows == from_table and from_rows.actions
    assert from_rows.unmapped.equals(from_table.unmapped) and from_rows.unmapped.height


def test_building_the_replay_loads_no_polars():
    code = ("import json, sys\n"
            "from incidentlab.model.presets import presets\n"
            "actions = len(presets['march-2017-replay'].actions)\n"
            "print(json.dumps([actions, 'polars' in sys.modules]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    actions, polars_loaded = json.loads(done.stdout)
    assert actions > 0 and not polars_loaded
