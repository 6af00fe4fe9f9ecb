# Lesson 2, exercise 3: a backoff that spreads the herd widely enough that nothing crashes.
# Full jitter spreads each wave; a 10-second base makes the first wave ten times flatter
# than the 2017 one-second base; the cap lets later waves spread further still.
import incidentlab as il

calm = il.Params(reconnect_jitter="full", reconnect_base_s=10.0, reconnect_cap_s=120.0)
il.simulate(il.presets["march-2017"].replace(**calm.changed())).outcome
