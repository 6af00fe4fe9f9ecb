"""One error family: every error incidentlab raises on purpose is an IncidentlabError.

Messages say what was wrong, where (field, line or knob), and what is accepted,
so the CLI can print them in one line and a learner can act on them.
"""


class IncidentlabError(Exception):
    """Base of every error incidentlab raises for bad input or bad use."""


class ReportParseError(IncidentlabError, ValueError):
    """A report text could not be turned into events (empty, binary, no times, no date...)."""


class ParamError(IncidentlabError, ValueError):
    """A model knob has a value outside its accepted range or type."""


class ScenarioError(IncidentlabError, ValueError):
    """A scenario or schedule is malformed (unknown action, time outside the horizon...)."""


class CheckError(IncidentlabError, ValueError):
    """An exercise checker was called with something it cannot check."""


class IncidentlabWarning(UserWarning):
    """Something incidentlab had to guess and the user should know (an ambiguous zone...)."""
