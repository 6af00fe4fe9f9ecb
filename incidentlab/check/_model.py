"""Model helpers shared by lessons 2-6: presets, cached runs, reading Params answers."""

from __future__ import annotations

from functools import cache
from typing import Any

from incidentlab.check._common import _describe
from incidentlab.errors import CheckError


def _preset(name: str):
    from incidentlab.model.presets import presets

    return presets[name]


def _with_params(scenario, params):
    import dataclasses

    return dataclasses.replace(scenario, params=params)


@cache
def _outcome(scenario):
    """Outcome of a scenario (cached: scenarios are frozen and runs are deterministic)."""
    from incidentlab.model.engine import simulate

    return simulate(scenario).outcome


def _params(answer: Any, ex: str):
    from incidentlab.model.params import Params

    if not isinstance(answer, Params):
        raise CheckError(f"{ex} expects an il.Params, e.g. il.Params(reconnect_jitter=\"full\") "
                         f"or il.Params().replace(...); got {_describe(answer)}.")
    return answer


def _knobs(changed: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "nothing"


def _minutes_text(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes"

def _scenario(answer: Any, ex: str, what: str):
    from incidentlab.model.scenario import Scenario

    if not isinstance(answer, Scenario):
        raise CheckError(f"{ex} expects an il.Scenario ({what}); got {_describe(answer)}.")
    return answer


@cache
def _run(scenario):
    from incidentlab.model.engine import simulate

    return simulate(scenario)
