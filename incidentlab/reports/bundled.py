"""Bundled reports: the texts in data/ (a checkout) or incidentlab/_data (an installed wheel),
and their hand-labelled answer keys."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from incidentlab.errors import ReportParseError
from incidentlab.reports.clock import offset_zone_name

if TYPE_CHECKING:
    import polars as pl


def report_text(name: str = "discord-2017-03-20") -> str:
    """The bundled report `name` exactly as published (see data/PROVENANCE.md).

    Reports with an answer key end in .txt; lesson texts (no key) may end in .md."""
    for suffix in (".txt", ".md"):
        path = _data_dir() / f"{name}{suffix}"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return _data_path(f"{name}.txt", name).read_text(encoding="utf-8")


def load_report(name: str = "discord-2017-03-20") -> pl.DataFrame:
    """The bundled report `name`, parsed into events."""
    from incidentlab.reports.parse import parse_report

    return parse_report(report_text(name))


def answer_key(name: str = "discord-2017-03-20") -> pl.DataFrame:
    """The hand-labelled events of bundled report `name`, in the same schema as `parse_report`
    (a hand label is sure: `kind_confidence` 1.0, `kind_reason` "answer key")."""
    return read_key(_data_path(f"{name}.events.csv", name))


def read_key(path) -> pl.DataFrame:
    """An answer-key CSV (columns as data/*.events.csv) as an events table."""
    import polars as pl

    raw = pl.read_csv(path, infer_schema=False)
    zone = offset_zone_name(raw["time"][0][-6:])
    iso = "%Y-%m-%dT%H:%M:%S%:z"
    return raw.select(
        pl.col("time").str.to_datetime(iso, time_unit="us").dt.convert_time_zone(zone),
        pl.col("end").str.to_datetime(iso, time_unit="us").dt.convert_time_zone(zone),
        pl.col("source"),
        pl.col("kind"),
        pl.col("services").fill_null("").str.split(";").list.filter(pl.element() != ""),
        pl.col("approximate") == "true",
        pl.col("status"),
        pl.col("text"),
        pl.col("line").cast(pl.Int64),
        pl.lit(1.0).alias("kind_confidence"),
        pl.lit("answer key").alias("kind_reason"),
    )


def bundled_reports() -> list[str]:
    """Names of the reports bundled in data/ with an answer key's text (*.txt)."""
    return sorted(p.name[: -len(".txt")] for p in _data_dir().iterdir()
                  if p.name.endswith(".txt"))


def _data_dir():
    packaged = resources.files("incidentlab") / "_data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "data"


def _data_path(filename: str, name: str):
    path = _data_dir() / filename
    if not path.is_file():
        raise ReportParseError(
            f"no bundled report {name!r} (looked for {filename}); "
            f"available: {', '.join(bundled_reports()) or 'none'}"
        )
    return path
