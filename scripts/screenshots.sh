#!/usr/bin/env bash
# Regenerate the web page's screenshots in the README (docs/img/web-*.png). The browser tests
# take them (tests/browser/test_web_page.py) and save them where REASON_SCREENSHOTS points.
# Needs Debian's chromium and chromium-driver (scripts/setup.sh installs them as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x "${REASON_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "screenshots: no chromium; install Debian's chromium and chromium-driver" >&2
  exit 1
fi
mkdir -p docs/img
REASON_SCREENSHOTS=docs/img .venv/bin/python -m pytest tests/browser -m browser -q "$@"
ls -l docs/img/web-*.png
