# Lesson 6, exercise 1: the wall-clock time of the first out-of-memory crash in the replay.
import datetime as dt

import incidentlab as il

day = il.Scenario.from_events(il.load_report("discord-2017-03-20"))
run = il.simulate(day)
first_oom_at = day.start + dt.timedelta(seconds=day.fault_s + run.outcome.first_oom_s)
first_oom_at
