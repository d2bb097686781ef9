#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Static checks: ruff (lint, format), mypy, import-linter. Runs every check even after one fails,
# prints which failed and exits 1 if any did. `bash scripts/check.sh mypy` runs only the named ones
# (ruff, format, mypy, imports). Needs the dev extra: pip install -e '.[dev]'.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

# mypy cannot follow setuptools' editable finder or setup.py's package-dir mapping, so it reads the
# sources through a link tree slotwise/{gateway,models,connectors} -> the top-level folders
# (pyproject.toml [tool.mypy] mypy_path). Paths in its messages are mapped back to the real ones.
link_tree() {
    mkdir -p build/mypy-src/slotwise
    for root in gateway models connectors; do
        ln -sfn "../../../$root" "build/mypy-src/slotwise/$root"
    done
}

run_ruff() { "$PY" -m ruff check . --output-format concise; }
run_format() { "$PY" -m ruff format --check .; }
run_mypy() {
    link_tree
    "$PY" -m mypy | sed 's#^build/mypy-src/slotwise/##'
}
# import-linter has no `python -m` entry; call its console script's function with this Python.
run_imports() { "$PY" -c 'import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())' --no-cache; }

checks=("$@")
[ ${#checks[@]} -eq 0 ] && checks=(ruff format mypy imports)
failed=()
for check in "${checks[@]}"; do
    echo "== $check"
    if ! "run_$check"; then
        failed+=("$check")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED static checks: ${failed[*]}" >&2
    exit 1
fi
echo "static checks passed: ${checks[*]}"
