# Lesson 5, exercise 1: an in-flight limit that alone keeps every session node alive.
# Presence can answer only so many link requests before they time out: try limits from
# generous to strict and keep the most generous one with which no node runs out of memory.
import incidentlab as il

for inflight in [10_000, 3_000, 1_000, 300, 100, 30, 10]:
    outcome = il.simulate(il.presets["march-2017"].replace(inflight_limit=inflight)).outcome
    if outcome.first_oom_s is None:
        break
inflight, outcome.oom_crashes
