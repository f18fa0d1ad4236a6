"""``reason bench reliability``: faults an operator meets, run against a real ``reason serve``.

Each case starts the service as its own process on loopback with the small model, does
something unkind to it, and checks what a user would check afterwards. Every case is
bounded and stops by itself; the figures go to ``benchmarks/results/reliability-<date>.json``
and RELIABILITY.md (``table.py``). ``server.py`` starts the processes, ``cases.py`` holds
the cases.

Cases:
  kill     ``reason serve`` answering and taking ``/v1/feedback`` from several clients is
           SIGKILLed at random moments and restarted, ``rounds`` times. Afterwards every
           feedback acknowledged with HTTP 200 is in memory, SQLite's integrity check
           passes, the FAISS index holds exactly the SQLite rows, and no record is stored
           twice.
  overload ``clients`` concurrent chat requests against one worker and a short waiting line:
           only 200 or 429 (with Retry-After) may come back; the p50/p99 latency of the
           admitted ones and the server's memory before and after are reported.
  model-server  the service runs on the openai backend against a llama.cpp server, which is
           SIGKILLed mid-answer: the request ends with a 5xx in OpenAI's shape within the
           backend timeout, the service stays up, and answers again once the server is back.
  disk     the data directory on a small tmpfs, filled while serving, then read-only: answers
           are served, writes are a 503 saying why, /readyz says so, nothing is corrupted,
           storing resumes when space or write access is back.
  soak     8 clients send mixed traffic (chat, stream, feedback, memory search) for 20
           minutes: the server's memory, file descriptors and threads per minute, and the
           latency p50/p99 per minute; no growth after the warm-up minute beyond a bound.
  security API keys (missing, wrong, user vs admin; compared in constant time), each
           request limit refused with its status and parameter, Slack requests forged, old
           or replayed, path traversal through the API and the CLI, prompt injection through
           poisoned memory records; then every log the suite wrote is searched for the keys.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.reliability.cases import (
    disk_full_and_read_only,
    kill_during_writeback,
    model_server_dies,
    overload,
)
from benchmarks.reliability.security import security_cases
from benchmarks.reliability.server import Progress
from benchmarks.reliability.soak import mixed_traffic_soak
from benchmarks.reliability.table import OTHER_CASES, render_table

__all__ = [
    "CASES",
    "OTHER_CASES",
    "disk_full_and_read_only",
    "kill_during_writeback",
    "model_server_dies",
    "overload",
    "render_table",
    "run_reliability",
    "mixed_traffic_soak",
    "security_cases",
]

CASES = ("kill", "overload", "model-server", "disk", "soak", "security")


def run_reliability(
    work: Path, model: str, *, cases: tuple[str, ...] = CASES, rounds: int = 20,
    soak_minutes: float = 20.0, injection_model: str | None = None,
    output: Path | None = None, table: Path | None = None, on_progress: Progress = print,
) -> dict[str, Any]:  # fmt: skip
    """Run the chosen cases; write and return their figures, and the table to ``table``.

    The cases not run this time keep their figures from an earlier run in ``output``.
    """
    results: dict[str, Any] = {}
    if output is not None and output.exists():
        results = json.loads(output.read_text())
    results.update(date=date.today().isoformat(), model=model)
    if "kill" in cases:
        results["kill"] = kill_during_writeback(work, model, rounds=rounds, on_progress=on_progress)
    if "disk" in cases:
        results["disk"] = disk_full_and_read_only(work, model, on_progress=on_progress)
    if "model-server" in cases:
        results["model_server"] = model_server_dies(work, model, on_progress=on_progress)
    if "overload" in cases:
        results["overload"] = [overload(work, model, clients=k, on_progress=on_progress)
                               for k in (64, 256)]  # fmt: skip
    if "soak" in cases:
        results["soak"] = mixed_traffic_soak(
            work, model, minutes=soak_minutes, on_progress=on_progress
        )
    if "security" in cases:
        # last: its log check reads every log the cases before it wrote too
        results["security"] = security_cases(
            work, model, injection_model=injection_model, on_progress=on_progress
        )
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=1))
    if table is not None:
        table.write_text(render_table(results))
    return results
