# Lesson 7, exercise 3: minutes from the first trigger to the first detection.
import datetime as dt

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
trigger = labelled.filter(pl.col("kind") == "trigger")["time"].min()
detected = labelled.filter(pl.col("kind") == "detection")["time"].min()
own_detect_min = (detected - trigger) / dt.timedelta(minutes=1)
own_detect_min
