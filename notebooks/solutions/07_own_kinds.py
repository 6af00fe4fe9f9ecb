# Lesson 7, exercise 2: label the trigger, the detection and the diagnosis as a reader would.
import polars as pl

import incidentlab as il

own = il.parse_report(report, date="2024-03-12", tz="Europe/Berlin")
clock = pl.col("time").dt.strftime("%H:%M")
labelled = own.with_columns(
    pl.when(clock == "09:12").then(pl.lit("trigger"))
    .when(clock == "09:17").then(pl.lit("detection"))
    .when(clock == "09:30").then(pl.lit("diagnosis"))
    .otherwise(pl.col("kind"))
    .alias("kind")
)
labelled.select(clock.alias("clock"), "kind", "text")
