#!/bin/sh
# The one install step of the project's TFX environments: `make env-tfx116` / `make env-tfx121`
# and the container image (kubeflow/Dockerfile) all run it, so pipeline steps and the local
# environments get a pinned stack (constraints-tfx116.txt or constraints-tfx121.txt) the same way.
#
#   ./install.sh PYTHON CONSTRAINTS EXTRAS [pip options]
#   e.g. ./install.sh .venv/bin/python constraints-tfx116.txt tfx,kfp
#
# The pip options go before the package: `--editable` for a checkout, `--no-deps` to install
# the project alone over an installed stack.
set -eu
python="$1"
constraints="$2"
extras="$3"
shift 3
"$python" -m pip install --quiet --upgrade "pip<25"
"$python" -m pip install --quiet --constraint "$constraints" "$@" ".[$extras]"
