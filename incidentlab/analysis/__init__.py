"""Analysis at scale: bounded grids of scenarios (`sweep`), which assumptions matter
(`sensitivity`) and the range of the headline over them (`uncertainty`), on any executor."""

from incidentlab.analysis.grid import MAX_SCENARIOS, count, sweep
from incidentlab.analysis.runner import InlineExecutor, local_executor
from incidentlab.analysis.sensitivity import OUTPUTS, sensitivity
from incidentlab.analysis.uncertainty import uncertainty

__all__ = ["MAX_SCENARIOS", "OUTPUTS", "InlineExecutor", "count", "local_executor",
           "sensitivity", "sweep", "uncertainty"]
