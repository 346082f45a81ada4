# The two commands of the README: `make demo` and `make test`. Both build .venv when it is
# missing or older than the lock (constraints.txt, pyproject.toml, setup.py); `make test`
# also builds .venv-heads (the heads library alone on the newest TensorFlow).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Python 3.10: TFX 1.16 supports 3.9-3.10 only. pyenv provides it (see .python-version).
PYTHON ?= $(shell command -v python3.10 || pyenv which python3.10 2>/dev/null)
# The heads library alone, on the newest stack (TensorFlow 2.21, Keras 3.15, Python 3.12),
# installed as a user would: a plain `pip install` of the checkout, under its own lock.
HEADS_VENV := .venv-heads
HEADS_PY := $(HEADS_VENV)/bin/python
HEADS_STAMP := $(HEADS_VENV)/.installed
# The first of pyenv's 3.12 versions (newest first) or a python3.12 on PATH that runs (a pyenv
# shim of a version not selected here does not).
PYTHON_HEADS ?= $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV) $$(command -v python3.12); do "$$p" -c "" 2>/dev/null && { echo "$$p"; break; }; done)
# What the heads-only environment runs: the heads' tests (conformance vectors, Keras
# integration, export and serving, heads.stats), the doctests in heads/, and the command
# line without TFX.
HEADS_TESTS := tests/heads tests/pipeline/test_cli.py heads
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: env env-heads test test-heads demo lint lock clean

env: $(STAMP)

env-heads: $(HEADS_STAMP)

$(STAMP): constraints.txt pyproject.toml setup.py install.sh
	@test -n "$(PYTHON)" || { echo "Python 3.10 not found: install it (pyenv install 3.10) or pass PYTHON=/path/to/python3.10" >&2; exit 1; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	./install.sh $(PY) tfx,test,kfp --editable
	touch $(STAMP)

$(HEADS_STAMP): constraints-heads.txt pyproject.toml setup.py
	@test -n "$(PYTHON_HEADS)" || { echo "Python 3.12 not found: install it (pyenv install 3.12) or pass PYTHON_HEADS=/path/to/python3.12" >&2; exit 1; }
	@[ -x $(HEADS_PY) ] || $(PYTHON_HEADS) -m venv $(HEADS_VENV)
	$(HEADS_PY) -m pip install --quiet --upgrade pip
	$(HEADS_PY) -m pip install --quiet --constraint constraints-heads.txt '.[test]'
	touch $(HEADS_STAMP)

test: $(STAMP) $(HEADS_STAMP)
	@command -v chromium >/dev/null || { echo "Installing chromium for the report browser test"; apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-heads

test-heads: $(HEADS_STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(HEADS_PY) -m pytest $(HEADS_TESTS) $(PYTEST_ARGS)

# Prints a line per component and the summary; every library's messages go to demo/logs/
# (DEMO_ARGS=--verbose shows them).
demo: $(STAMP)
	$(VENV)/bin/tfx-heads run --root demo $(DEMO_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Re-resolve both stacks and rewrite constraints.txt and constraints-heads.txt (needs the
# package registries). uv resolves them in seconds; pip's backtracking resolver takes tens of
# minutes on the TFX stack.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet uv
	{ sed -n '1,3p' constraints.txt; \
	  .lock-venv/bin/uv pip compile --quiet --no-header --python-version 3.10 \
	    --extra tfx --extra test --extra kfp pyproject.toml; } > constraints.new
	{ sed -n '1,2p' constraints-heads.txt; \
	  .lock-venv/bin/uv pip compile --quiet --no-header --python-version 3.12 \
	    --extra test pyproject.toml; } > constraints-heads.new
	mv constraints.new constraints.txt && mv constraints-heads.new constraints-heads.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(HEADS_VENV) .pytest_cache
