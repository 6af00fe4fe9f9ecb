"""Text the Lab needs at start-up, kept on disk between sessions: its chart layouts (Vega-Lite
specs that altair takes half a second to import and seconds to build) and the offline Vega
bundle (which vl-convert takes half a second to make). `incidentlab warm` fills it; a miss
builds as before and stores the result.

A file is named by a hash of its key, the versions of the packages that made it and the
source files it depends on, so a change to any of them makes a new file and old ones are
never read. A package directory that cannot be written to only means no file is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

CACHE = Path(__file__).with_name("__pycache__") / "specs"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def path_for(key: str, packages: Sequence[str], sources: Sequence[Path]) -> Path:
    """The file that holds the text for `key` made with these packages and source files."""
    digest = hashlib.sha256(key.encode())
    for package in packages:
        digest.update(f"\0{package}={_version(package)}".encode())
    for source in sources:
        digest.update(b"\0" + source.read_bytes())
    return CACHE / f"{digest.hexdigest()[:32]}.txt"


def cached(key: str, make: Callable[[], str], *, packages: Sequence[str],
           sources: Sequence[Path]) -> str:
    """The text stored for `key`, or `make()`'s, which is then stored (atomically)."""
    path = path_for(key, packages, sources)
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8")
    text = make()
    with contextlib.suppress(OSError):
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=CACHE, delete=False,
                                         suffix=".tmp") as out:
            out.write(text)
        os.chmod(out.name, 0o644)  # as readable as the package it sits in
        os.replace(out.name, path)
    return text
