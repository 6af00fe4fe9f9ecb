# Lesson 6, exercise 3: the same day, the same actions, the report's fixes.
import incidentlab as il

day = il.Scenario.from_events(il.load_report("discord-2017-03-20"))
fixes = il.presets["march-2017-fixed"].params.changed()
fixed_day = day.replace(**fixes)
il.simulate(fixed_day).outcome
