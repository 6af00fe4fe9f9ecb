# Lesson 5, exercise 3: one defensible design (yours may differ and still pass).
import incidentlab as il

design = il.Params(inflight_limit=1000, fast_fail=True, split_brain_fix=True,
                   reconnect_jitter="full", reconnect_cap_s=30.0)
defence = """
split_brain_fix lets the locked presence node rejoin when its lockup ends, so the trigger is
temporary. inflight_limit=1000 turns the herd into waves presence can answer before the
timeout, so no work is wasted on abandoned requests. fast_fail keeps messages flowing
without presence data, so no session buffers and no node runs out of memory; the cost is
stale online status for a minute or two. reconnect_jitter full with reconnect_cap_s 30
spreads the retries of the attempts the semaphore turns away, at the cost of a longer
wait for an unlucky session.
"""
il.simulate(il.presets["march-2017"].replace(**design.changed())).outcome
