# Lesson 4, exercise 1: the presence queue five minutes after the lockup ended.
import polars as pl

import incidentlab as il

no_trigger = il.presets["march-2017"].replace(split_brain_fix=True)
p = no_trigger.params
run = il.simulate(no_trigger)
end = p.lockup_start_s + p.lockup_duration_s
queue_after = run.timeline.filter(pl.col("t_s") == end + 300)["presence_queue"][0]
queue_after
