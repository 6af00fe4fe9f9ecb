# Lesson 3, exercise 1: seconds until the average session node's memory is full.
import incidentlab as il

p = il.Params()
sessions = p.users / p.session_nodes                          # on one node
free_kb = p.node_memory_gb * 1e6 - sessions * p.session_base_kb
stalled = sessions / p.presence_nodes                         # linked to the lost node
fill_kb_per_s = stalled * p.event_rate * p.event_kb
oom_by_hand_s = free_kb / fill_kb_per_s
oom_by_hand_s
