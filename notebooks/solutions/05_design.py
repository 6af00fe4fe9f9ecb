# Lesson 5, exercise 3: one defensible design (yours may differ and still pass).
# The defence is a dict: for each knob you changed, what it acts on and what it costs.
import incidentlab as il

design = il.Params(inflight_limit=1000, fast_fail=True, split_brain_fix=True,
                   reconnect_jitter="full", reconnect_cap_s=30.0)
defence = {
    "split_brain_fix": "lets the locked presence node rejoin its cluster when the lockup ends, "
                       "so the lost capacity comes back; it costs an upgrade of a server "
                       "untouched for a year, during an incident.",
    "inflight_limit": "bounds the requests in flight to presence so the queue is served "
                      "before the timeout and no work is wasted on abandoned requests; it "
                      "costs a slower re-link, in waves.",
    "fast_fail": "keeps sessions delivering events instead of stalling and buffering, so no "
                 "node runs out of memory; the cost is stale presence data (online dots) "
                 "until the link is back.",
    "reconnect_jitter": "spreads the retries of attempts the limit turns away, so they do not "
                        "come back in lockstep; an unlucky session waits longer.",
    "reconnect_cap_s": "lets the retries spread over up to 30 s instead of 4 s, a wider window "
                       "for the herd; the cost is a longer wait for an unlucky session.",
}
il.simulate(il.presets["march-2017"].replace(**design.changed())).outcome
