#!/usr/bin/env bash
# The Open WebUI check: make .venv-openwebui (when missing), make sure the model is on disk,
# then benchmarks/openwebui_check.py: reason serve + Open WebUI + headless Chromium, one
# question to reason-full, dated results in benchmarks/results/openwebui-check-<date>.json and
# the screenshot docs/img/openwebui-answer.png.
#
# Not part of CI (the venv is 2.8 GB; one answer of the default model takes minutes on 2
# cores). Usage: scripts/openwebui/check.sh [--model NAME] [--no-check-answer] [--keep] ...
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/openwebui/env.sh
model=qwen2.5-1.5b
args=("$@")
for i in "${!args[@]}"; do
  if [ "${args[$i]}" = "--model" ]; then model=${args[$((i + 1))]}; fi
done
.venv/bin/reason models pull "$model" >&2
exec .venv/bin/python -m benchmarks.openwebui_check "$@"
