# The two commands of the README: `make demo` and `make test`. Both build the environments they
# need when they are missing or older than their lock, pyproject.toml, setup.py or install.sh.
#
# Three stacks, each with its own lock:
#   .venv          TFX 1.16 on Python 3.10 (constraints-tfx116.txt)
#   .venv-tfx121   TFX 1.21 on Python 3.13 (constraints-tfx121.txt); its ml-metadata wheels
#                  need glibc >= 2.39, so on an older host it lives in a Debian 13 root
#                  (debian-root.sh, under DEBIAN_ROOT) and its tests run there
#   .venv-heads    the heads library alone on the newest TensorFlow, Python 3.12
#                  (constraints-heads.txt), installed as a user would: a plain `pip install`
SHELL := /bin/bash
PYTEST_ARGS ?=
DEMO_ARGS ?=

# The newest pyenv version of Python $(1), else python$(1) on PATH, that runs (a pyenv shim of a
# version not selected here does not).
find_python = $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/$(1)*/bin/python$(1) 2>/dev/null | sort -rV) $$(command -v python$(1)); do "$$p" -c "" 2>/dev/null && { echo "$$p"; break; }; done)

VENV_TFX116 := .venv
PYTHON_TFX116 ?= $(call find_python,3.10)
VENV_TFX121 ?= .venv-tfx121
PYTHON_TFX121 ?= $(call find_python,3.13)
VENV_HEADS := .venv-heads
PYTHON_HEADS ?= $(call find_python,3.12)

# TFX 1.21 runs natively where glibc is 2.39 or newer; elsewhere its tests run in the root.
GLIBC := $(shell getconf GNU_LIBC_VERSION 2>/dev/null | cut -d' ' -f2)
TFX121_NATIVE := $(shell printf '2.39\n%s\n' "$(GLIBC)" | sort -V -C && echo yes)
DEBIAN_ROOT ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tfx-heads/debian13
# Inside the root the TFX 1.21 environment stays in the root, so later runs reuse it.
ROOT_VENV_TFX121 := /opt/tfx-heads/venv-tfx121

# `make demo` runs on the newest TFX stack this host runs natively.
comma := ,
DEMO_VENV := $(if $(TFX121_NATIVE),$(VENV_TFX121),$(VENV_TFX116))
DEMO_STACK := $(if $(TFX121_NATIVE),TFX 1.21 stack ($(VENV_TFX121)$(comma) Python 3.13),TFX 1.16 stack ($(VENV_TFX116)$(comma) Python 3.10): TFX 1.21 needs glibc >= 2.39 and this host has $(GLIBC))

# What the heads-only environment runs: the heads' tests (conformance vectors, Keras
# integration, export and serving, heads.stats), the doctests in heads/, and the command
# line without TFX.
HEADS_TESTS := tests/heads tests/pipeline/test_cli.py heads

.PHONY: env env-tfx116 env-tfx121 env-heads test test-tfx116 test-tfx121 test-tfx121-here \
	test-heads chromium demo lint lock clean

env: $(DEMO_VENV)/.installed
env-tfx116: $(VENV_TFX116)/.installed
env-tfx121: $(VENV_TFX121)/.installed
env-heads: $(VENV_HEADS)/.installed

# A TFX environment: its Python, its lock, the project in editable mode with every extra.
define tfx_env
$(1)/.installed: $(3) pyproject.toml setup.py install.sh
	@test -n "$(2)" || { echo "Python for $(1) not found: install it with pyenv or pass its path (see the Makefile)" >&2; exit 1; }
	@[ -x $(1)/bin/python ] || $(2) -m venv $(1)
	./install.sh $(1)/bin/python $(3) tfx,test,kfp --editable
	touch $$@
endef
$(eval $(call tfx_env,$(VENV_TFX116),$(PYTHON_TFX116),constraints-tfx116.txt))
$(eval $(call tfx_env,$(VENV_TFX121),$(PYTHON_TFX121),constraints-tfx121.txt))

$(VENV_HEADS)/.installed: constraints-heads.txt pyproject.toml setup.py
	@test -n "$(PYTHON_HEADS)" || { echo "Python 3.12 not found: install it (pyenv install 3.12) or pass PYTHON_HEADS=/path/to/python3.12" >&2; exit 1; }
	@[ -x $(VENV_HEADS)/bin/python ] || $(PYTHON_HEADS) -m venv $(VENV_HEADS)
	$(VENV_HEADS)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_HEADS)/bin/python -m pip install --quiet --constraint constraints-heads.txt '.[test]'
	touch $@

# Every stack's suite, slow tests included.
test: test-tfx116 test-tfx121 test-heads

chromium:
	@command -v chromium >/dev/null || { echo "Installing chromium for the report browser test"; apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

test-tfx116: $(VENV_TFX116)/.installed chromium
	@echo "== TFX 1.16 stack ($(VENV_TFX116))"
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_TFX116)/bin/python -m pytest $(PYTEST_ARGS)

ifeq ($(TFX121_NATIVE),yes)
test-tfx121: test-tfx121-here
else
test-tfx121:
	@echo "== TFX 1.21 stack, in the Debian 13 root $(DEBIAN_ROOT) (this host has glibc $(GLIBC))"
	./debian-root.sh $(DEBIAN_ROOT) make test-tfx121-here VENV_TFX121=$(ROOT_VENV_TFX121) PYTEST_ARGS="$(PYTEST_ARGS)"
endif

test-tfx121-here: $(VENV_TFX121)/.installed chromium
	@echo "== TFX 1.21 stack ($(VENV_TFX121))"
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_TFX121)/bin/python -m pytest $(PYTEST_ARGS)

test-heads: $(VENV_HEADS)/.installed
	@echo "== heads library alone ($(VENV_HEADS))"
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_HEADS)/bin/python -m pytest $(HEADS_TESTS) $(PYTEST_ARGS)

# Prints a line per component and the summary; every library's messages go to demo/logs/
# (DEMO_ARGS=--verbose shows them).
demo: env
	@echo "make demo: on the $(DEMO_STACK)"
	$(DEMO_VENV)/bin/tfx-heads run --root demo $(DEMO_ARGS)

lint: env
	$(DEMO_VENV)/bin/ruff check .

# Re-resolve every lock from pyproject.toml (needs the package registries), keeping each file's
# leading comment. uv resolves them in seconds; pip's backtracking resolver takes tens of
# minutes on the TFX stacks. TFX 1.21 is resolved for glibc 2.39 whatever this host has.
lock_stack = { sed '/^[^\#]/,$$d' $(1); .lock-venv/bin/uv pip compile --quiet --no-header \
	--no-python-downloads --python-version $(2) $(3) pyproject.toml; } > $(1).new && mv $(1).new $(1)
lock:
	rm -rf .lock-venv && $(PYTHON_HEADS) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet uv
	$(call lock_stack,constraints-tfx116.txt,3.10,--extra tfx --extra test --extra kfp)
	# kfp 2.17 is what TFX 1.21 users install beside Kubeflow's SDK (kubeflow[pipelines] needs
	# it); left alone, uv settles on kfp 2.16 to keep a newer requests.
	$(call lock_stack,constraints-tfx121.txt,3.13,--python-platform x86_64-manylinux_2_39 --extra tfx --extra test --extra kfp --constraint <(echo 'kfp>=2.17'))
	$(call lock_stack,constraints-heads.txt,3.12,--extra test)
	rm -rf .lock-venv

clean:
	rm -rf $(VENV_TFX116) $(VENV_TFX121) $(VENV_HEADS) .pytest_cache
