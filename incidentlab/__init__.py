"""incidentlab: Discord's 2017-03-20 cascading failure as data, a model, and a Lab.

The public API, loaded lazily so that `import incidentlab` (and the CLI) stays
fast and the model never drags in widgets or altair.
"""

from importlib import import_module
from typing import TYPE_CHECKING

from incidentlab.errors import (
    CheckError,
    IncidentlabError,
    ParamError,
    ReportParseError,
    ScenarioError,
)

__version__ = "0.1.0"

_EXPORTS = {
    "parse_report": "incidentlab.reports",
    "load_report": "incidentlab.reports",
    "report_text": "incidentlab.reports",
    "answer_key": "incidentlab.reports",
    "incident_metrics": "incidentlab.metrics",
    "Params": "incidentlab.model.params",
    "Scenario": "incidentlab.model.scenario",
    "Action": "incidentlab.model.scenario",
    "presets": "incidentlab.model.presets",
    "simulate": "incidentlab.model.engine",
    "Run": "incidentlab.model.outcome",
    "Outcome": "incidentlab.model.outcome",
    "sweep": "incidentlab.analysis",
    "sensitivity": "incidentlab.analysis",
    "uncertainty": "incidentlab.analysis",
    "charts": "incidentlab.charts",
    "check": "incidentlab.check",
    "Lab": "incidentlab.lab",
    "Step": "incidentlab.lab",
}

__all__ = [
    "CheckError",
    "IncidentlabError",
    "ParamError",
    "ReportParseError",
    "ScenarioError",
    "__version__",
    *_EXPORTS,
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from incidentlab import charts, check  # noqa: F401
    from incidentlab.analysis import sensitivity, sweep, uncertainty  # noqa: F401
    from incidentlab.lab import Lab, Step  # noqa: F401
    from incidentlab.metrics import incident_metrics  # noqa: F401
    from incidentlab.model.engine import simulate  # noqa: F401
    from incidentlab.model.outcome import Outcome, Run  # noqa: F401
    from incidentlab.model.params import Params  # noqa: F401
    from incidentlab.model.presets import presets  # noqa: F401
    from incidentlab.model.scenario import Action, Scenario  # noqa: F401
    from incidentlab.reports import answer_key, load_report, parse_report, report_text  # noqa: F401


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'incidentlab' has no attribute {name!r}")
    mod = import_module(module)
    # a module is exported as itself, except `presets` (the mapping) and `sweep` (the function)
    value = (mod if module.endswith("." + name) and name not in ("presets", "sweep")
             else getattr(mod, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
