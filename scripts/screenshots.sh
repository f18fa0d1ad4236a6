#!/usr/bin/env bash
# Retake the web page's screenshots in the README and docs/usage.md (docs/img/web-*.png):
# scripts/screenshots.py runs `reason serve` on the default model (qwen2.5-1.5b, from
# indexes/models) with a throwaway memory and asks a word problem in headless Chromium.
# Arguments go to it: --model smollm2-135m, --question "...", --out DIR (see --help).
# Needs Debian's chromium and chromium-driver (scripts/setup.sh installs them as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x "${REASON_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "screenshots: no chromium; install Debian's chromium and chromium-driver" >&2
  exit 1
fi
.venv/bin/python scripts/screenshots.py "$@"
