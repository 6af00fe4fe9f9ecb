# Lesson 2, exercise 1: sessions stranded when one presence node drops.
import incidentlab as il

p = il.Params()
herd = p.users / p.presence_nodes
herd
