"""Named scenarios: the 2017 configuration, the same fault with the report's fixes, and the
replay of the whole day from the parsed report.

`presets` is a read-only mapping name -> Scenario; the replay is built on first access (it
parses the bundled report).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from functools import cache

from incidentlab.errors import ScenarioError
from incidentlab.model.params import Params
from incidentlab.model.scenario import PACIFIC, Scenario

FAULT = dt.datetime(2017, 3, 20, 11, 38, tzinfo=PACIFIC)  # "At 11:38 on March 20"

# "We've added a hard limit to the number of in-flight connections from our sessions cluster to
# our presence server, and have also added a fast-fail mechanism"; "fix the split-brain bug".
FIXES = {"inflight_limit": 1000, "fast_fail": True, "split_brain_fix": True}


def march_2017() -> Scenario:
    """The 2017 configuration: one presence node lost at t=0 (11:38 PDT), no operator, 60 min."""
    return Scenario(params=Params(), start=FAULT, name="march-2017",
                    description="2017 configuration; the presence node locks up at 11:38 and, "
                                "with the split-brain bug, stays lost; nobody intervenes")


def march_2017_fixed() -> Scenario:
    """The same fault with the report's action items: in-flight limit, fast-fail, no split brain."""
    return Scenario(params=Params(**FIXES), start=FAULT, name="march-2017-fixed",
                    description="the same fault with the action items of the report")


@cache
def march_2017_replay() -> Scenario:
    """The day, 11:30 to 17:00 PDT, with faults and operator actions from the parsed report."""
    from incidentlab.reports import event_rows, report_text

    events = event_rows(report_text("discord-2017-03-20"))  # as load_report, without polars
    return Scenario.from_event_rows(events.rows, events.zone, Params(),
                                    name="march-2017-replay")


_BUILDERS = {
    "march-2017": march_2017,
    "march-2017-fixed": march_2017_fixed,
    "march-2017-replay": march_2017_replay,
}


class _Presets(Mapping):
    """name -> Scenario; unknown names raise ScenarioError listing the accepted ones."""

    def __getitem__(self, name: str) -> Scenario:
        builder = _BUILDERS.get(name)
        if builder is None:
            raise ScenarioError(f"unknown preset {name!r}; accepted: {', '.join(_BUILDERS)}")
        return builder()

    def __contains__(self, name: object) -> bool:
        return name in _BUILDERS

    def __iter__(self) -> Iterator[str]:
        return iter(_BUILDERS)

    def __len__(self) -> int:
        return len(_BUILDERS)

    def __repr__(self) -> str:
        return f"presets({', '.join(_BUILDERS)})"


presets: Mapping[str, Scenario] = _Presets()
