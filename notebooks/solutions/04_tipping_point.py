# Lesson 4, exercise 3: the smallest backoff cap that survives the 25-second lockup.
# The phase diagram brackets it between the largest cap that crashes and the smallest that
# survives; bisect between them.
import polars as pl

import incidentlab as il

trial = il.presets["march-2017"].replace(split_brain_fix=True, reconnect_jitter="full",
                                         reconnect_base_s=1.0)
caps = [4, 8, 16, 32, 64, 128]
column = il.sweep(trial, reconnect_cap_s=caps)
hi = float(column.filter(pl.col("oom_crashes") == 0)["reconnect_cap_s"].min())
lo = float(max([c for c in caps if c < hi], default=1))


def survives(cap):
    return il.simulate(trial.replace(reconnect_cap_s=cap)).outcome.first_oom_s is None


while hi - lo > 0.5:
    mid = (lo + hi) / 2
    lo, hi = (lo, mid) if survives(mid) else (mid, hi)
smallest_cap_s = hi
smallest_cap_s
