# Two commands set everything up (see README): `make lab` and `make test`.
# Each creates the virtual environment it needs when it is missing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.incidentlab-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# JupyterLab refuses to start as root (containers, CI-like machines) unless told it may.
ROOT_OK := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test bench chromium lint

## Open the workshop in JupyterLab (localhost only, with its token, as JupyterLab defaults).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ROOT_OK)

## Run the whole test suite: lint, unit/property tests, every lesson under nbval, the browser test.
test: $(STAMP) chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest --nbval-lax tests notebooks

## Speed and scaling benchmarks (medians and ratios).
bench: $(STAMP)
	$(PY) -m benchmarks
	INCIDENTLAB_SLOW=1 $(PY) -m pytest -q -m slow -rxX tests/test_engines.py

$(STAMP): pyproject.toml jupyter/overrides.json
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "incidentlab needs Python >= 3.11; python3 is " + sys.version.split()[0])'
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,scale]'
	@# JupyterLab settings for offline rooms: never ask to fetch news or check for updates.
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@# numba.pycc builds the loop ahead of time with a C/C++ compiler and Python's headers
	@# (Debian: g++, python3-dev); without them `incidentlab warm` falls back to numba's cache.
	@command -v g++ >/dev/null && $(PY) -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
		|| { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ python3-dev; } \
		|| echo "No C compiler: commands will load numba (about 1.3 s more each)."
	@echo "Compiling the model once (ahead of time, so no lesson or command waits for it)..."
	$(VENV)/bin/incidentlab warm
	$(PY) -c 'import incidentlab as il; il.simulate(il.presets["march-2017"].scaled(0.001).replace(horizon_s=60), engine="agents")'
	touch $@

## Debian's chromium for the browser test (never a Playwright browser download).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; }
