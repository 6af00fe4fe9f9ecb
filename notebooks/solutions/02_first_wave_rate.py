# Lesson 2, exercise 2: full jitter spreads the herd evenly over [0, base] seconds.
import incidentlab as il

p = il.Params()
herd = p.users / p.presence_nodes
first_wave_per_s = herd / 10.0
first_wave_per_s
