# Lesson 6, exercise 2: minutes from the first full reboot until 95% of users are connected.
import polars as pl

import incidentlab as il

day = il.Scenario.from_events(il.load_report("discord-2017-03-20"))
run = il.simulate(day)
schedule = day.schedule()
reboot_s = schedule.filter(pl.col("kind") == "full_reboot")["t_s"][0]
back = run.timeline.filter(
    (pl.col("t_s") > reboot_s) & (pl.col("users_connected") >= 0.95 * day.params.users)
)
reboot_min = (back["t_s"][0] - reboot_s) / 60
reboot_min
