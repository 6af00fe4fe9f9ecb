# Lesson 4, exercise 2: Discord's own recipe, faster. Ten minutes in, limit how fast clients
# may reconnect (the API patches) and disable message sending; five minutes later reboot
# everything, so every stalled session and its buffer is gone; once clients are back, enable
# sending again.
import incidentlab as il

base = il.presets["march-2017"]
rescue = il.Scenario(
    params=base.params,
    start=base.start,
    actions=(
        il.Action(600, "set_connect_rate_limit", 6000),
        il.Action(600, "disable_sending"),
        il.Action(900, "full_reboot"),
        il.Action(1800, "enable_sending"),
    ),
)
il.simulate(rescue).outcome
