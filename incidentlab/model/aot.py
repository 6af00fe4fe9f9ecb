"""The step loop compiled ahead of time: `build` turns model/loop.py's `run` into a Python
extension module with numba.pycc (`incidentlab warm` does it once); `load` finds a current one,
so a command that runs the model starts without loading numba (about 1.3 s of a 2 s command).

A build is found by a name made of the hash of the model's sources and of the state's array
layout: after any change to the rules, or for a state the build was not made for, no build is
found and the engine falls back to numba's JIT. numba.pycc is "pending deprecation" since
numba 0.57 (a replacement is being developed); if it goes, `build` fails with a one-line reason
and the JIT remains.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sysconfig
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from incidentlab.errors import IncidentlabError

SOURCES = ("state.py", "rules.py", "loop.py", "aot.py")  # what the compiled loop is made of
PREFIX = "incidentlab_loop_"
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


class BuildError(IncidentlabError):
    """The ahead-of-time build failed (no C compiler, no setuptools, numba without pycc...)."""


def cache_dirs() -> list[Path]:
    """Where builds live, like numba's cache: NUMBA_CACHE_DIR if set, else the package's
    __pycache__, then the user's cache (for a read-only install)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return [Path(os.environ["NUMBA_CACHE_DIR"])]
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "incidentlab"
    return [Path(__file__).with_name("__pycache__"), user]


@functools.cache
def _sources_digest() -> str:
    h = hashlib.sha256(np.__version__.encode())
    for name in SOURCES:
        h.update(Path(__file__).with_name(name).read_bytes())
    return h.hexdigest()


def layout(x) -> str:
    """The state's shape as numba types it (NamedTuples of arrays: dtype, dims, order, flags),
    without numba: two states with the same layout take the same compiled code."""
    if isinstance(x, tuple):
        return f"{type(x).__name__}({','.join(layout(v) for v in x)})"
    if not isinstance(x, np.ndarray):
        return type(x).__name__  # a number: numba types it by its Python type
    order = "C" if x.flags.c_contiguous else "F" if x.flags.f_contiguous else "A"
    return f"{_dtype_text(x.dtype)}/{x.ndim}{order}{x.flags.writeable:d}{x.flags.aligned:d}"


@functools.cache
def _dtype_text(dtype: np.dtype) -> str:
    """A dtype's fields as text, once per dtype: every simulate names its state's layout."""
    return f"{dtype.descr}{dtype.isalignedstruct:d}"


def module_name(w) -> str:
    """The name of the build for state `w` with today's sources."""
    digest = hashlib.sha256((_sources_digest() + layout(w)).encode()).hexdigest()
    return PREFIX + digest[:20]


_LOADED: dict[str, Callable | None] = {}


def load(w) -> Callable | None:
    """The compiled `run(w)` of a current build for state `w`'s layout, or None."""
    name = module_name(w)
    if name not in _LOADED:
        _LOADED[name] = _import(name)
    return _LOADED[name]


def _import(name: str) -> Callable | None:
    for folder in cache_dirs():
        path = folder / (name + SUFFIX)
        if not path.is_file():
            continue
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except ImportError:  # built for another numpy or platform: the JIT will do
            continue
        return module.run
    return None


def build(worlds: Iterable) -> list[Path]:
    """Compile `loop.run` for the layout of each state in `worlds` (those without a current
    build) into the first writable cache folder, and drop every other build there (older
    sources). Returns the builds made. Needs numba.pycc, setuptools and a C compiler; raises
    BuildError without them."""
    todo = {module_name(w): w for w in worlds}
    folder = _writable(cache_dirs())
    for old in folder.glob(f"{PREFIX}*{SUFFIX}"):
        if old.name[: -len(SUFFIX)] not in todo:
            old.unlink(missing_ok=True)
    todo = {name: w for name, w in todo.items() if _import(name) is None}
    if not todo:
        return []
    try:
        from numba import typeof, types

        from incidentlab.model import loop

        with warnings.catch_warnings():  # its pending deprecation: the module docstring says it
            warnings.simplefilter("ignore")
            from numba.pycc import CC
    except ImportError as err:
        raise BuildError(f"cannot build the loop ahead of time: {err}") from None
    made = []
    for name, w in todo.items():
        with tempfile.TemporaryDirectory() as tmp:
            try:
                cc = CC(name)  # raises at once when it finds no compiler
                cc.output_dir = tmp
                cc.target_cpu = "host"  # built where it runs, as the JIT does
                cc.export("run", types.void(typeof(w)))(loop.run.py_func)
                cc.compile()
            except Exception as err:  # setuptools, the compiler or the linker: say which
                first = f"{type(err).__name__}: {err}".split(". ")[0].splitlines()[0]
                raise BuildError(f"cannot build the loop ahead of time ({first}); it needs a "
                                 "C/C++ compiler and Python's headers (Debian: g++, python3-dev)"
                                 ) from None
            target = folder / (name + SUFFIX)
            os.replace(Path(tmp) / target.name, target)  # a reader never sees half a file
        made.append(target)
    _LOADED.clear()
    return made


def _writable(folders: list[Path]) -> Path:
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.NamedTemporaryFile(dir=folder).close()
            return folder
        except OSError:
            continue
    raise BuildError(f"cannot build the loop ahead of time: no writable folder among "
                     f"{', '.join(map(str, folders))} (set NUMBA_CACHE_DIR)")
