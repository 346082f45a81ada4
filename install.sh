#!/bin/sh
# The one install step of the project's TFX environments: `make env` (.venv) and the container
# image (kubeflow/Dockerfile) both run it, so pipeline steps and the local environment get the
# same pinned stack (constraints.txt) the same way.
#
#   ./install.sh PYTHON EXTRAS [pip options]     e.g. ./install.sh .venv/bin/python tfx,kfp
#
# The pip options go before the package: `--editable` for a checkout, `--no-deps` to install
# the project alone over an installed stack.
set -eu
python="$1"
extras="$2"
shift 2
"$python" -m pip install --quiet --upgrade "pip<25"
"$python" -m pip install --quiet --constraint constraints.txt "$@" ".[$extras]"
