# Lesson 3, exercise 3: the largest drop-oldest buffer limit with no out-of-memory crash.
# First guess by hand, for the busiest node: free memory / (stalled sessions x event size).
# Then bisect with the model: a safe limit goes up, an unsafe one comes down.
import incidentlab as il

p = il.Params()
busiest = p.users / p.session_nodes * (1 + p.session_load_spread)
guess = (p.node_memory_gb * 1e6 - busiest * p.session_base_kb) / (
    busiest / p.presence_nodes * p.event_kb)


def safe(limit):
    scenario = il.presets["march-2017"].replace(buffer_policy="drop-oldest",
                                                buffer_limit=int(limit))
    return il.simulate(scenario).outcome.first_oom_s is None


lo, hi = 1, int(guess) + 1
while safe(hi):  # make sure the upper end really crashes
    lo, hi = hi, hi * 2
while hi - lo > lo // 20:
    mid = (lo + hi) // 2
    lo, hi = (mid, hi) if safe(mid) else (lo, mid)
limit = lo
limit
