# Lesson 1, exercise 4: how many times the failure started again after the first trigger.
import polars as pl

import incidentlab as il

events = il.load_report("discord-2017-03-20")
triggers = events.filter(pl.col("kind") == "trigger")
recurrences = triggers.height - 1
recurrences
