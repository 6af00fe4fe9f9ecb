# Lesson 1, exercise 3: minutes from the first trigger to the first status-page update.
import datetime as dt

import polars as pl

import incidentlab as il

events = il.load_report("discord-2017-03-20")
trigger = events.filter(pl.col("kind") == "trigger")["time"].min()
first_update = events.filter(pl.col("source") == "status_update")["time"].min()
time_to_first_update_min = (first_update - trigger) / dt.timedelta(minutes=1)
time_to_first_update_min
