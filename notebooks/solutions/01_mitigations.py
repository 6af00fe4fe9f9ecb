# Lesson 1, exercise 1: the mitigation events, in time order.
import polars as pl

import incidentlab as il

events = il.load_report("discord-2017-03-20")
mitigations = events.filter(pl.col("kind") == "mitigation").sort("time")
mitigations.select("time", "text")
