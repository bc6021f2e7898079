# jupyter_eo: the two entry points for a new user (`make lab`, `make test`) and their set-up steps.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
JUPYTER := $(VENV)/bin/jupyter
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)
export JUPYTER_EO_SAMPLES_DIR ?= $(HOME)/.cache/jupyter_eo/samples
PYTEST_ARGS ?=
# The labextension build (hatch-jupyter-builder) runs jlpm / jupyter-builder from the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: lab test setup chromium samples clean-build help hub-tools dummy-backend

help:
	@echo "make lab   - set up and start JupyterLab on notebooks/quickstart.ipynb (embedded backend)"
	@echo "make test  - set up and run all tests (unit, API, browser)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Install the package (editable) with its test and lab extras, build and link the labextension.
$(VENV)/.installed: $(PY) pyproject.toml package.json yarn.lock labextension/src/*.ts
	$(PIP) install -q "hatchling>=1.5.0" "hatch-jupyter-builder>=0.5" "hatch-nodejs-version>=0.3.2" editables "jupyterlab>=4.6,<5"
	rm -rf jupyter_eo/labextension
	$(PIP) install -q --no-build-isolation -e ".[test,lab]"
	$(JUPYTER) labextension develop . --overwrite
	$(JUPYTER) server extension enable jupyter_eo --sys-prefix
	touch $@

samples: $(VENV)/.installed
	$(PY) -m jupyter_eo.backend.catalog.samples "$(JUPYTER_EO_SAMPLES_DIR)"

setup: $(VENV)/.installed samples

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

lab: setup
	$(JUPYTER) lab notebooks/quickstart.ipynb $(ROOT_FLAG)

# configurable-http-proxy for the JupyterHub test (tests/hub), project-local and git-ignored.
HUB_PROXY := .hub-tools/node_modules/.bin/configurable-http-proxy
$(HUB_PROXY):
	npm install --prefix .hub-tools --no-audit --no-fund configurable-http-proxy@5.3.0

hub-tools: $(HUB_PROXY)

# openeo-driver's dummy backend for tests/remote, in its own venv: its pins (pystac~=1.8)
# conflict with openeo>=0.53 in .venv. Versions frozen in the requirements file.
DUMMY_VENV := .dummy-backend
$(DUMMY_VENV)/.installed: tests/remote/dummy-backend-requirements.txt
	$(PYTHON) -m venv $(DUMMY_VENV)
	$(DUMMY_VENV)/bin/pip install -q --upgrade pip
	$(DUMMY_VENV)/bin/pip install -q -r tests/remote/dummy-backend-requirements.txt
	touch $@

dummy-backend: $(DUMMY_VENV)/.installed

test: setup chromium hub-tools dummy-backend
	$(PY) -m pytest $(PYTEST_ARGS)

clean-build:
	rm -rf jupyter_eo/labextension lib tsconfig.tsbuildinfo $(VENV)/.installed
