#!/usr/bin/env bash
# Lint: ruff's checks, its formatter (check only) and mypy. CI runs it before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=(agent api benchmarks evaluation memory retrieval service scripts tests)
.venv/bin/ruff check "${PYTHON[@]}"
.venv/bin/ruff format --check "${PYTHON[@]}"
# Types: mypy --strict over the packages named in pyproject.toml [tool.mypy] files.
.venv/bin/mypy
