#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (Ubuntu 22.04, the
# default base image): a Python 3.11 virtual environment with the harness's dependencies at the
# versions in requirements.txt, the ones it was built and tested with.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"

if ! command -v python3.11 >/dev/null; then
    apt-get update
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
fi
python3.11 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --no-cache-dir --upgrade pip
"$ROOT/venv/bin/python" -m pip install --no-cache-dir -r "$ROOT/source/requirements.txt"
