#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything the tests need (Debian packages, services, Python packages) and runs them all.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k context`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
exec python3 -m pytest "$@"
