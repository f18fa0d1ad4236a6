#!/usr/bin/env bash
# Make Open WebUI's own environment (.venv-openwebui), apart from the app's .venv.
#
# open-webui pins ~100 packages of its own (fastapi, openai, transformers, chromadb...) and
# pulls in torch through sentence-transformers and accelerate: it never shares the app's venv.
# torch 2.13.0 (CPU) goes in first and alone: that build lies on the project's machines, and
# asking for it first keeps pip off a multi-GB CUDA download (FACTS.md). About 3 minutes and
# 2.8 GB here.
#
# Usage: scripts/openwebui/env.sh   Idempotent: a stamped, matching venv is left as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."

OPEN_WEBUI_VERSION=${OPEN_WEBUI_VERSION:-0.12.4}
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=.venv-openwebui

stamp=$VENV/.openwebui-stamp
want="open-webui==$OPEN_WEBUI_VERSION torch==2.13.0"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "openwebui-env: $VENV is up to date ($want)"
  exit 0
fi
[ -x $VENV/bin/python ] || "$PY" -m venv $VENV
$VENV/bin/python -m pip install --quiet --upgrade pip
$VENV/bin/python -m pip install --quiet torch==2.13.0
$VENV/bin/python -m pip install --quiet "open-webui==$OPEN_WEBUI_VERSION"
$VENV/bin/open-webui --help >/dev/null
echo "$want" > "$stamp"
echo "openwebui-env: $VENV ready: open-webui $OPEN_WEBUI_VERSION"
