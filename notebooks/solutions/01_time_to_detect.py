# Lesson 1, exercise 2: minutes from the first trigger to the first detection.
import datetime as dt

import polars as pl

import incidentlab as il

events = il.load_report("discord-2017-03-20")
trigger = events.filter(pl.col("kind") == "trigger")["time"].min()
detected = events.filter(pl.col("kind") == "detection")["time"].min()
time_to_detect_min = (detected - trigger) / dt.timedelta(minutes=1)
time_to_detect_min
