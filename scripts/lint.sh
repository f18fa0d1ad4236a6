#!/usr/bin/env bash
# Lint: ruff's checks, its formatter (check only) and mypy. CI runs it before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check agent api benchmarks memory retrieval tests
.venv/bin/ruff format --check agent api benchmarks memory retrieval tests
# Types: agent/, memory/, retrieval/ (settings in pyproject.toml [tool.mypy]).
.venv/bin/mypy
