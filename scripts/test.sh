#!/usr/bin/env bash
# Run the test suite: unit tests (no model), then integration tests (the real small model,
# real FAISS/SQLite, real servers on localhost), then the web page in headless Chromium
# (tests/browser; they skip without Debian's chromium). Pass extra pytest arguments through.
# The real-vLLM tests (marker vllm) are not here: scripts/vllm/check.sh runs them.
set -uo pipefail
cd "$(dirname "$0")/.."

run() {
  .venv/bin/python -m pytest "$@"
  rc=$?
  # pytest exits 5 when it collected no tests: that is not a failure of the suite.
  if [ "$rc" -eq 5 ]; then return 0; fi
  return "$rc"
}

run -m "not integration and not gpu and not network and not browser and not vllm" tests "$@" || exit $?
run -m "integration and not gpu and not network and not browser and not vllm" tests "$@" || exit $?
run -m "browser and not gpu and not network and not vllm" tests "$@" || exit $?
