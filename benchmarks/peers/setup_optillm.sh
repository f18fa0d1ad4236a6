#!/usr/bin/env bash
# Create .venv-optillm/ with optillm 0.4.0, apart from the app's venv (its deps are heavy and
# pin their own versions). Idempotent: re-running skips what is already installed.
# torch is installed first and alone so that pip takes the CPU build on this disk, not CUDA.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${OPTILLM_VENV:-$root/.venv-optillm}"
python="${PYTHON:-python3.11}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    # keep the venv out of git without touching the project's .gitignore
    echo '*' > "$venv/.gitignore"
    "$venv/bin/pip" install --quiet --upgrade pip
fi
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    "$venv/bin/pip" install 'torch==2.13.0'
fi
if ! "$venv/bin/python" -c 'import importlib.metadata as m; assert m.version("optillm") == "0.4.0"' 2>/dev/null; then
    "$venv/bin/pip" install 'optillm==0.4.0'
fi
"$venv/bin/optillm" --help >/dev/null
echo "optillm ready: $venv/bin/optillm"
