"""The timeline's columns are listed once (model/columns.py); the docs and both engines follow."""

from pathlib import Path

from incidentlab import presets, simulate
from incidentlab.model.columns import COLUMNS, RECORD, columns_markdown

DOCS = Path(__file__).parents[1] / "docs" / "architecture.md"


def test_the_docs_list_the_timeline_columns_of_the_code():
    assert columns_markdown() in DOCS.read_text()


def test_the_timeline_has_exactly_the_public_columns_and_the_record_all():
    run = simulate(presets["march-2017"].replace(horizon_s=60))
    assert run.timeline.columns == ["t_s", "time", *COLUMNS]
    assert run.record.dtype == RECORD and set(COLUMNS) < set(RECORD.names)
