# Lesson 7, exercise 3: minutes from the first trigger to the first mitigation, reviewed.
import datetime as dt

import polars as pl

import incidentlab as il

report = il.report_text("checkout-2024-03-12")  # the payments team's report
own = il.parse_report(report, date="2024-03-12", tz="Europe/Berlin")
clock = pl.col("time").dt.strftime("%H:%M")
reviewed = own.with_columns(
    pl.when(clock.is_in(["09:20", "09:41"])).then(pl.lit("mitigation"))
    .otherwise(pl.col("kind"))
    .alias("kind")
)
trigger = reviewed.filter(pl.col("kind") == "trigger")["time"].min()
mitigated = reviewed.filter(pl.col("kind") == "mitigation")["time"].min()
own_mitigate_min = (mitigated - trigger) / dt.timedelta(minutes=1)
own_mitigate_min
