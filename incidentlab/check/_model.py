"""Model helpers shared by lessons 2-6: presets, runs (each scenario simulated once), reading
Params answers, and the queueing sums the checkers quote."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from incidentlab import fmt
from incidentlab.check._common import _describe
from incidentlab.errors import CheckError


def _preset(name: str):
    from incidentlab.model.presets import presets

    return presets[name]


def _with_params(scenario, params):
    return dataclasses.replace(scenario, params=params)


@cache
def _run(scenario):
    """The run of a scenario, simulated once (scenarios are frozen, runs deterministic)."""
    from incidentlab.model.engine import simulate

    return simulate(scenario)


def _outcome(scenario):
    return _run(scenario).outcome


def _params(answer: Any):
    from incidentlab.model.params import Params

    if not isinstance(answer, Params):
        raise CheckError("expects an il.Params, e.g. il.Params(reconnect_jitter=\"full\") "
                         f"or il.Params().replace(...); got {_describe(answer)}.")
    return answer


def _scenario(answer: Any, what: str):
    from incidentlab.model.scenario import Scenario

    if not isinstance(answer, Scenario):
        raise CheckError(f"expects an il.Scenario ({what}); got {_describe(answer)}.")
    return answer


def _knobs(changed: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "nothing"


_minutes_text = fmt.minutes


def _spare_ops(p) -> float:
    """Presence capacity left for re-linking once one node is lost: the survivors' capacity
    minus the background work of every session (rho = background / capacity)."""
    survivors = (p.presence_nodes - 1) * p.presence_capacity
    return survivors - p.users * p.presence_ops_per_session
