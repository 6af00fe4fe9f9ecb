"""`incidentlab simulate` and `incidentlab sweep`: outcomes as table/JSON/CSV, one-line errors."""

import dataclasses
import io
import json

import polars as pl
import pytest

from incidentlab.cli import main
from incidentlab.model.outcome import Outcome

FIELDS = [f.name for f in dataclasses.fields(Outcome)]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_json_keys_are_the_outcome_fields(capsys):
    code, out, err = run(capsys, "simulate", "--preset", "march-2017-fixed", "--format", "json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert list(data) == FIELDS
    assert data["first_oom_s"] is None and data["recovered"] is True


def test_simulate_table_with_knobs_changed(capsys):
    code, out, _ = run(capsys, "simulate", "--preset", "march-2017", "--set", "fast_fail=true",
                       "--set", "inflight_limit=None")
    assert code == 0
    assert "oom_crashes               0" in out
    assert "No session node ran out of memory." in out


def test_sweep_csv_one_row_per_scenario(capsys):
    code, out, _ = run(capsys, "sweep", "--preset", "march-2017", "--grid",
                       "inflight_limit=none,1000", "--grid", "fast_fail=true,false")
    assert code == 0
    frame = pl.read_csv(io.StringIO(out))
    assert frame.columns == ["inflight_limit", "fast_fail", *FIELDS]
    assert frame.height == 4
    assert frame["inflight_limit"].to_list() == [None, None, 1000, 1000]


def test_sweep_json(capsys):
    code, out, _ = run(capsys, "sweep", "--grid", "buffer_limit=100,5000", "--set",
                       "buffer_policy=drop-oldest", "--set", "buffer_limit=1000",
                       "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [r["buffer_limit"] for r in rows] == [100, 5000]
    assert rows[0]["oom_crashes"] == 0 < rows[1]["oom_crashes"]


@pytest.mark.parametrize(("argv", "message"), [
    (["simulate", "--set", "users=0"], "users=0 is not accepted; accepted: int in [1, 1e+09]"),
    (["simulate", "--set", "fast_fail=maybe"], "fast_fail='maybe' is not accepted"),
    (["simulate", "--set", "inflight_limit"], "'inflight_limit' is not knob=value"),
    (["simulate", "--preset", "nope"], "unknown preset 'nope'"),
    (["sweep", "--grid", "usres=1,2"], "unknown knob 'usres'"),
    (["sweep", "--grid", "users="], "is not KNOB=V1,V2"),
    (["sweep", "--grid", "event_rate=1,x"], "event_rate='x' is not accepted"),
])
def test_bad_knobs_give_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("incidentlab: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
