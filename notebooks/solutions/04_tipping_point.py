# Lesson 4, exercise 3: the smallest backoff cap that survives the 25-second lockup.
# The phase diagram brackets it between 16 s (crashes) and 32 s (survives); bisect.
import incidentlab as il

trial = il.presets["march-2017"].replace(split_brain_fix=True, reconnect_jitter="full",
                                         reconnect_base_s=1.0)


def survives(cap):
    return il.simulate(trial.replace(reconnect_cap_s=cap)).outcome.first_oom_s is None


lo, hi = 16.0, 32.0
while hi - lo > 0.5:
    mid = (lo + hi) / 2
    lo, hi = (lo, mid) if survives(mid) else (mid, hi)
smallest_cap_s = hi
smallest_cap_s
