#!/usr/bin/env bash
# Lint: ruff's checks and its formatter (check only). CI runs it before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check agent api benchmarks memory retrieval tests
.venv/bin/ruff format --check agent api benchmarks memory retrieval tests
