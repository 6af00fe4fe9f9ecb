"""The replay scored against the report's landmarks (docs/model.md holds the same table)."""

import datetime as dt
import re
from pathlib import Path

import pytest

from incidentlab import Scenario, presets, simulate
from incidentlab.model.landmarks import (
    LANDMARKS,
    TOLERANCE_MIN,
    WORKING,
    landmarks_markdown,
    score_replay,
)

DOCS = Path(__file__).parents[1] / "docs" / "model.md"


@pytest.fixture(scope="module")
def table():
    return score_replay(simulate(presets["march-2017-replay"]))


def test_every_landmark_of_the_report_is_scored(table):
    assert table["landmark"].to_list() == [m.name for m in LANDMARKS]
    assert table["basis"].str.contains("calibrated|scheduled|predicted").all()


def test_every_landmark_within_three_minutes(table):
    late = table.filter(~table["within_aim"])
    assert late.height == 0, late.select("landmark", "model", "error_min").rows()
    timed = table.drop_nulls("error_min")["error_min"].abs()
    assert timed.max() <= TOLERANCE_MIN


def test_discord_for_the_most_part_functions_from_15_to_16(table):
    row = table.filter(table["landmark"] == "for the most part functions").row(0, named=True)
    served = float(re.search(r"(\d+)%", row["model"])[1]) / 100
    assert served >= WORKING


def test_the_assumed_time_for_ignoring_presence_is_said_and_used():
    sc = presets["march-2017-replay"]
    ignore = [a for a in sc.actions if a.kind == "ignore_presence"]
    assert [f"{sc.start + dt.timedelta(seconds=a.t_s):%H:%M}" for a in ignore] == ["14:58"]
    without = Scenario(params=sc.params, start=sc.start, name="no-ignore",
                       actions=tuple(a for a in sc.actions if a.kind != "ignore_presence"))
    worse = score_replay(simulate(without))
    row = worse.filter(worse["landmark"] == "for the most part functions").row(0, named=True)
    assert not row["within_aim"]  # without it the model's users are not served 15:00-16:00


def test_docs_hold_the_current_landmark_table(table):
    assert landmarks_markdown(table) in DOCS.read_text()
