# Lesson 6, exercise 1: the wall-clock time of the replay's first crash after the 14:52 lockup.
import polars as pl

import incidentlab as il

day = il.Scenario.from_events(il.load_report("discord-2017-03-20"))
run = il.simulate(day)
crashes = run.timeline.filter(pl.col("session_nodes_up").diff() < 0)["time"]
second_wave_at = crashes.filter(crashes.dt.strftime("%H:%M") >= "14:52").min()
second_wave_at
