#!/usr/bin/env bash
# Create .venv with everything the service needs. Idempotent and cache-friendly: it does
# nothing when pyproject.toml and constraints.txt have not changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$PY" -m venv .venv

# bubblewrap gives the program sandbox (agent/sandbox.py) its namespaces; optional, so a
# failed install never fails setup.
if ! command -v bwrap >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq bubblewrap >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; } \
    || echo "setup: bubblewrap not installed; the sandbox uses rlimits and audit hooks only"
fi

# Debian's Chromium and its driver run the web page's browser tests (tests/browser, the third
# run of scripts/test.sh); optional too: without them those tests skip.
if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } \
  && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 \
      && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; } \
    || echo "setup: chromium not installed; the browser tests (tests/browser) will skip"
fi

# Debian's HAProxy: the round-robin load balancer in front of two replicas in the
# load-balanced replica tests (tests/integration/test_replicas_lb.py, with docker/haproxy.cfg,
# the file docker/compose.yaml runs); optional too: without it those tests skip.
if ! { command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ]; } \
  && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq haproxy >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq haproxy >/dev/null 2>&1; } \
    || echo "setup: haproxy not installed; the load-balanced replica tests will skip"
fi

# llama.cpp's CPU backend, built for this CPU but without Intel AMX: on hosts that advertise
# AMX its matmul crashed every decode (SIGSEGV in ggml_backend_amx_mul_mat, seen 2026-12-02 on
# these machines). Built without pip's cache, which may hold a wheel built with AMX; a marker
# with the flags keeps later runs from building it again.
llama_flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
if [ "$(cat .venv/.llama-cpp-flags 2>/dev/null)" != "$llama_flags" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  CMAKE_ARGS="-DCMAKE_C_FLAGS='$llama_flags' -DCMAKE_CXX_FLAGS='$llama_flags'" \
    .venv/bin/python -m pip install --quiet --no-cache-dir --force-reinstall --no-deps \
    -c constraints.txt "llama-cpp-python[server]"
  echo "$llama_flags" > .venv/.llama-cpp-flags
fi

stamp=.venv/.setup-stamp
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: .venv is up to date"
  exit 0
fi

.venv/bin/python -m pip install --quiet --upgrade pip
# torch first and exactly 2.13.0: that CPU build lies on the project's machines; any other
# request makes pip download a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet torch==2.13.0
# llama-cpp-python is in place already (above); this installs its server extra's packages.
# The ray extra too: the tests run `reason batch --ray` on a local cluster (tests/integration/test_batch_ray.py, tests/unit/api/test_batch_ray_rules.py).
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev,ray]"
echo "$want" > "$stamp"
echo "setup: done"
