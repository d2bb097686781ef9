#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything the tests need (Debian packages, services, Python packages), runs the static
# checks (scripts/check.sh: ruff, ruff format, mypy, import-linter) and then all tests.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k context`; SLOTWISE_CHECKS=0 skips
# the static checks (CI never does).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
if [ "${SLOTWISE_CHECKS:-1}" != 0 ]; then
    PYTHON=python3 bash scripts/check.sh
fi
exec python3 -m pytest "$@"
