# Lesson 2, exercise 3: a backoff that spreads the herd widely enough that nothing crashes.
# Full jitter spreads each wave; a larger base makes the first wave flatter (herd / base
# requests per second); the cap lets later waves spread further still. Widen until it holds.
import incidentlab as il

for base_s in [5.0, 10.0, 20.0, 40.0]:
    calm = il.Params(reconnect_jitter="full", reconnect_base_s=base_s,
                     reconnect_cap_s=max(120.0, 8 * base_s))
    outcome = il.simulate(il.presets["march-2017"].replace(**calm.changed())).outcome
    if outcome.first_oom_s is None:
        break
calm
