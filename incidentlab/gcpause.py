"""Python's cycle collector, paused for work that makes many small objects and no reference
cycles: a parse (several objects per time in the text) and a sweep's batch (states, outcomes).
The collector would walk them all again and again as they pile up; it runs as before after."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block; restore its previous state, also on error."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
