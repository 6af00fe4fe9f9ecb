"""sweep: one outcome row per grid point, batched, equal to single runs."""

import dataclasses

import polars as pl
import pytest

from incidentlab import ParamError, Params, presets, simulate, sweep
from incidentlab.model.outcome import Outcome

FIELDS = [f.name for f in dataclasses.fields(Outcome)]


def test_rows_columns_and_order():
    grid = sweep("march-2017", inflight_limit=[None, 1000], reconnect_jitter=["none", "full"])
    assert grid.columns == ["inflight_limit", "reconnect_jitter", *FIELDS]
    assert grid.height == 4
    assert grid["inflight_limit"].to_list() == [None, None, 1000, 1000]
    assert grid["reconnect_jitter"].to_list() == ["none", "full", "none", "full"]
    assert grid.schema["recovered"] == pl.Boolean and grid.schema["oom_crashes"] == pl.Int64


def test_batched_rows_equal_single_runs_bit_for_bit():
    base = presets["march-2017"].replace(horizon_s=1200)
    grid = sweep(base, event_rate=[1.0, 2.0, 3.0], fast_fail=[False, True])
    for row in grid.iter_rows(named=True):
        single = simulate(base.replace(event_rate=row["event_rate"], fast_fail=row["fast_fail"]))
        assert {k: row[k] for k in FIELDS} == single.outcome.as_dict()


def test_knobs_that_change_shapes_are_grouped():
    grid = sweep(Params(horizon_s=900), session_nodes=[10, 50], dt_s=[0.5, 1.0])
    assert grid.height == 4
    assert grid.filter(pl.col("session_nodes") == 10)["first_oom_s"].null_count() == 0


def test_bad_grids_raise_param_errors():
    with pytest.raises(ParamError, match="unknown knob 'usres'"):
        sweep("march-2017", usres=[1])
    with pytest.raises(ParamError, match=r"grid users=\[\] is empty"):
        sweep("march-2017", users=[])
    with pytest.raises(ParamError, match="must be a list"):
        sweep("march-2017", users=5)
    with pytest.raises(ParamError, match="at least one grid"):
        sweep("march-2017")
    with pytest.raises(ParamError, match="users=-1 is not accepted"):
        sweep("march-2017", users=[1000, -1])
