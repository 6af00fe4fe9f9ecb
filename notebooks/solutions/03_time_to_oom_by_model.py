# Lesson 3, exercise 2: the model's first out-of-memory crash, seconds after the fault.
import incidentlab as il

run = il.simulate(il.presets["march-2017"])
oom_model_s = run.outcome.first_oom_s
oom_model_s
