"""The sweep's tallied outcome (no per-step record) equals the reference, from the record."""

import dataclasses

import pytest

from incidentlab import Action, presets
from incidentlab.model import engine
from incidentlab.model.engine import run_outcome, run_record
from incidentlab.model.outcome import outcomes_from_record

MARCH = presets["march-2017"]
CASES = {
    "march-2017": MARCH,
    "march-2017-fixed": presets["march-2017-fixed"],
    "march-2017-replay": presets["march-2017-replay"],
    "crashing every minute": MARCH.replace(node_memory_gb=16.0, event_rate=2.4),
    "no crash": MARCH.replace(node_memory_gb=94.4, event_rate=0.5),
    "drop-oldest": MARCH.replace(buffer_policy="drop-oldest", buffer_limit=100),
    "disconnect": MARCH.replace(buffer_policy="disconnect", buffer_limit=30),
    "jittered, half-second steps": MARCH.replace(reconnect_jitter="full", dt_s=0.5,
                                                 client_reconnect_jitter="decorrelated"),
    "fast-fail, cancelling": MARCH.replace(fast_fail=True, cancel_abandoned=True, horizon_s=900),
    "operator actions": dataclasses.replace(MARCH.replace(horizon_s=1800), actions=(
        Action(300.0, "disable_sending"), Action(600.0, "restart_presence"),
        Action(900.0, "ignore_presence"), Action(1200.0, "full_reboot"),
        Action(1300.0, "set_connect_rate_limit", 20_000.0), Action(1500.0, "enable_sending"))),
    "shorter than the load window": MARCH.replace(horizon_s=120),
    "no fault": MARCH.replace(lockup_count=0, horizon_s=600),
}


@pytest.mark.parametrize("name", CASES)
def test_tallied_outcome_equals_the_outcome_of_the_record(name: str) -> None:
    sc = CASES[name]
    reference = outcomes_from_record([sc], [run_record(sc)])[0]
    assert run_outcome(sc) == reference


@pytest.mark.parametrize("name", ["march-2017", "march-2017-fixed", "march-2017-replay"])
def test_rings_and_the_queue_window_have_power_of_two_lengths(name: str) -> None:
    """rules.py finds a step's slot as `t & (R - 1)`: right only for a power-of-two R."""
    w = engine.world(presets[name])
    for length in (w.retries.atoms.shape[0], w.clients.atoms.shape[0], w.queue.live.shape[0]):
        assert length & (length - 1) == 0, length
    sc = presets[name].replace(reconnect_jitter="full", reconnect_cap_s=300.0, rpc_timeout_s=37.0)
    w = engine.world(sc)
    for length in (w.retries.atoms.shape[0], w.queue.live.shape[0]):
        assert length & (length - 1) == 0, length
