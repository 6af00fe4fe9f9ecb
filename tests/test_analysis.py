"""analysis/: bounded streamed sweeps on any executor, Sobol indices, the headline's range."""

import itertools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import pytest

from incidentlab import ParamError, presets, simulate, sweep
from incidentlab.analysis import InlineExecutor, count, local_executor, sensitivity, uncertainty
from incidentlab.analysis.runner import batch_size, decode
from incidentlab.analysis.sensitivity import indices
from incidentlab.analysis.uncertainty import headline
from incidentlab.cli import main
from incidentlab.model.params import KNOBS, RANGES, Params

SHORT = presets["march-2017"].replace(horizon_s=900)
GRID = {"event_rate": [1.0, 2.0, 3.0], "node_memory_gb": [32.0, 64.0], "fast_fail": [False, True]}


def test_a_huge_grid_is_counted_and_refused_without_building_it():
    big = {"users": range(1, 1001), "event_rate": range(1, 1001), "node_memory_gb": range(1, 1001)}
    assert count(**big) == 10**9
    with pytest.raises(ParamError, match=r"1000 x 1000 x 1000 = 1,000,000,000 scenarios"):
        sweep("march-2017", **big)


def test_decode_is_itertools_product_order():
    grid = [[1, 2, 3], ["a", "b"], [None, 5.0, 6.0, 7.0]]
    assert [decode(grid, i) for i in range(24)] == list(itertools.product(*grid))


def test_batches_shrink_with_the_horizon():
    assert batch_size(3600) >= 32
    assert batch_size(86_400) < 8 and batch_size(604_800) == 1
    assert batch_size(3600, total=40) < 32  # small sweeps still spread over the cores


@pytest.mark.parametrize("make", [lambda: local_executor(2), lambda: ThreadPoolExecutor(2)],
                         ids=["processes", "threads"])
def test_every_executor_gives_the_serial_result(make):
    serial = sweep(SHORT, executor=InlineExecutor(), **GRID)
    assert serial.height == 12
    assert sweep(SHORT, executor=make(), **GRID).equals(serial)


def test_a_two_worker_dask_cluster_gives_the_serial_result():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        frame = sweep(SHORT, executor=client.get_executor(), **GRID)
    assert frame.equals(sweep(SHORT, executor=InlineExecutor(), **GRID))


def test_rows_equal_single_runs():
    frame = sweep(SHORT, event_rate=[1.0, 3.0], node_memory_gb=[32.0])
    for row in frame.iter_rows(named=True):
        one = simulate(SHORT.replace(event_rate=row["event_rate"], node_memory_gb=32.0)).outcome
        one = one.as_dict()
        assert {k: row[k] for k in one} == one


def test_timelines_are_written_per_batch_downsampled(tmp_path):
    frame = sweep(SHORT, executor=InlineExecutor(), timelines=tmp_path, every_s=60.0,
                  event_rate=[1.0, 3.0])
    assert frame["scenario"].to_list() == [0, 1]
    parts = sorted(tmp_path.glob("part-*.parquet"))
    assert parts
    lines = pl.concat([pl.read_parquet(p) for p in parts])
    assert lines.height == 2 * 15
    one = simulate(SHORT.replace(event_rate=3.0)).timeline
    want = one.filter(pl.col("t_s") % 60 == 0)["users_stalled"].to_list()
    assert lines.filter(pl.col("scenario") == 1)["users_stalled"].to_list() == want


def test_a_buffer_limit_grid_on_an_unbounded_base_drops_oldest_and_says_so():
    with pytest.warns(UserWarning, match="buffer_policy='drop-oldest'"):
        friendly = sweep(SHORT, buffer_limit=[None, 100])
    explicit = sweep(SHORT.replace(buffer_policy="drop-oldest", buffer_limit=100),
                     buffer_limit=[100])
    assert friendly.row(1) == explicit.row(0)
    assert friendly["events_dropped"][0] == 0


def test_ranges_hold_every_default_with_a_reason():
    for knob, (low, high, why) in RANGES.items():
        assert knob in KNOBS and low < high and why
        assert low <= getattr(Params(), knob) <= high
    # headroom: even the lowest capacity leaves the two surviving presence nodes below rho = 1
    p = Params()
    assert p.users * p.presence_ops_per_session < 2 * RANGES["presence_capacity"][0]


def test_sobol_estimators_recover_the_ishigami_indices():
    rng = np.random.default_rng(1)
    n, k = 20_000, 3

    def f(x):
        return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])

    a, b = rng.uniform(-math.pi, math.pi, (2, n, k))
    fab = np.stack([f(np.where(np.arange(k) == i, b, a)) for i in range(k)], axis=1)
    s1, st = indices(f(a), f(b), fab)
    np.testing.assert_allclose(s1, [0.3139, 0.4424, 0.0], atol=0.03)
    np.testing.assert_allclose(st, [0.5576, 0.4424, 0.2437], atol=0.03)


def test_sensitivity_ranks_a_knob_that_matters_above_one_that_cannot():
    # one lockup: the interval between lockups cannot change anything
    table = sensitivity(SHORT, ranges={"event_rate": (1, 4), "lockup_interval_s": (300, 600)},
                        outputs=("first_oom_min", "events_lost"), n=16)
    assert table.columns == ["output", "knob", "S1", "S1_low", "S1_high", "ST", "ST_low",
                             "ST_high"]
    assert table.height == 4
    oom = table.filter(pl.col("output") == "first_oom_min")
    assert oom["knob"].to_list() == ["event_rate", "lockup_interval_s"]
    assert oom["ST"][0] > 0.5 and oom["ST"][1] == 0


def test_sensitivity_refuses_bad_input():
    with pytest.raises(ParamError, match="unknown knob 'usres' in ranges"):
        sensitivity(SHORT, ranges={"usres": (1, 2)})
    with pytest.raises(ParamError, match=r"low < high"):
        sensitivity(SHORT, ranges={"event_rate": (4, 1)})
    with pytest.raises(ParamError, match="unknown output"):
        sensitivity(SHORT, outputs=("oom",))
    with pytest.raises(ParamError, match=r"event_rate=-1\.0 is not accepted"):
        sensitivity(SHORT, ranges={"event_rate": (-1, 1)})


def test_uncertainty_brackets_the_draws_and_keeps_the_scenarios_own_value():
    band = uncertainty("march-2017", ranges={"event_rate": (1, 4)}, n=8)
    oom = band.row(0, named=True)
    assert oom["value"] == simulate(presets["march-2017"]).outcome.first_oom_s / 60
    # more events per second fill the buffers sooner: the range spans the default's value
    assert oom["low"] < oom["value"] < oom["high"]
    assert headline(band).startswith(f"first OOM {_first_oom_min()}, ")


def test_cli_refuses_a_huge_grid_in_one_line(capsys):
    values = ",".join(str(i) for i in range(1, 1001))
    assert main(["sweep", "--grid", f"users={values}", "--grid", f"event_rate={values}",
                 "--grid", f"node_memory_gb={values}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1,000,000,000 scenarios" in err


def test_cli_sensitivity_and_uncertainty(capsys):
    assert main(["sensitivity", "--set", "horizon_s=600", "--n", "2", "--format", "csv"]) == 0
    table = pl.read_csv(capsys.readouterr().out.encode())
    assert table.height == 5 * len(RANGES)
    assert main(["simulate", "--uncertainty", "--n", "4"]) == 0
    assert f"Over the assumptions: first OOM {_first_oom_min()}" in capsys.readouterr().out
    assert main(["warm"]) == 0
    assert "model ready" in capsys.readouterr().out


def test_the_chart_ranks_knobs_by_total_index():
    from incidentlab.charts import ChartError, sensitivity_chart

    table = pl.DataFrame({"output": ["first_oom_min"] * 3, "knob": ["a", "b", "c"],
                          "S1": [0.1, 0.5, None], "ST": [0.2, 0.7, None],
                          "ST_low": [0.1, 0.6, None], "ST_high": [0.3, 0.8, None]})
    spec = sensitivity_chart(table).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["b", "a", "c"]
    with pytest.raises(ChartError, match="no output 'oom'"):
        sensitivity_chart(table, output="oom")


def test_the_offline_report_gives_the_headline_range():
    from incidentlab.export import uncertainty_html

    text = uncertainty_html(presets["march-2017"])
    assert f"Over the assumptions:</b> First OOM {_first_oom_min()}, " in text


def test_docs_show_the_current_ranges():
    from pathlib import Path

    from incidentlab.analysis.tables import ranges_markdown

    page = (Path(__file__).parents[1] / "docs" / "model.md").read_text(encoding="utf-8")
    assert ranges_markdown() in page  # regenerate: python -m incidentlab.analysis.tables ...


def test_cli_says_when_a_buffer_grid_switches_the_policy(capsys):
    assert main(["sweep", "--set", "horizon_s=300", "--grid", "buffer_limit=none,100"]) == 0
    captured = capsys.readouterr()
    assert "incidentlab: note: " in captured.err and "drop-oldest" in captured.err
    assert len(captured.out.splitlines()) == 3


def _first_oom_min() -> str:
    """The preset's own first OOM, as the headline writes it (the model decides, not the test)."""
    from incidentlab import fmt

    return fmt.minutes(simulate(presets["march-2017"]).outcome.first_oom_s)
