# Lesson 7, exercise 2: review the rows the parser is unsure of, relabel the wrong ones.
import polars as pl

import incidentlab as il

report = il.report_text("checkout-2024-03-12")  # the payments team's report
own = il.parse_report(report, date="2024-03-12", tz="Europe/Berlin")
# the rows to review: kind_confidence below 0.5
own.filter(pl.col("kind_confidence") < 0.5).select(
    pl.col("time").dt.strftime("%H:%M").alias("clock"), "kind", "kind_reason", "text")
# 09:14 and 09:26 are harm (impact, as guessed); 09:20 starts a rollback and 09:41 warms the
# cache: both are actions against the damage
clock = pl.col("time").dt.strftime("%H:%M")
reviewed = own.with_columns(
    pl.when(clock.is_in(["09:20", "09:41"])).then(pl.lit("mitigation"))
    .otherwise(pl.col("kind"))
    .alias("kind")
)
reviewed.select(clock.alias("clock"), "kind", "kind_confidence", "text")
