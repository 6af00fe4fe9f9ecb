# Lesson 5, exercise 2: waves through an in-flight limit of 1,000 per session node.
import math

import incidentlab as il

p = il.Params()
stranded_per_node = p.users / p.session_nodes / p.presence_nodes
waves = math.ceil(stranded_per_node / 1000)
waves
