# The two commands of the README: `make demo` and `make test`. Both build .venv when it is
# missing or older than the lock (constraints.txt, pyproject.toml, setup.py).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Python 3.10: TFX 1.16 supports 3.9-3.10 only. pyenv provides it (see .python-version).
PYTHON ?= $(shell command -v python3.10 || pyenv which python3.10 2>/dev/null)
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: env test demo lint lock clean

env: $(STAMP)

$(STAMP): constraints.txt pyproject.toml setup.py
	@test -n "$(PYTHON)" || { echo "Python 3.10 not found: install it (pyenv install 3.10) or pass PYTHON=/path/to/python3.10" >&2; exit 1; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<25"
	$(PY) -m pip install --quiet --constraint constraints.txt --editable '.[test,kfp]'
	touch $(STAMP)

test: $(STAMP)
	@command -v chromium >/dev/null || { echo "Installing chromium for the report browser test"; apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV)/bin/tfx-heads run --root demo $(DEMO_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Re-resolve the whole stack and rewrite constraints.txt (needs the package registries).
# uv resolves it in seconds; pip's backtracking resolver takes tens of minutes on this stack.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet uv
	{ sed -n '1,3p' constraints.txt; \
	  .lock-venv/bin/uv pip compile --quiet --no-header --python-version 3.10 \
	    --extra test --extra kfp pyproject.toml; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache
