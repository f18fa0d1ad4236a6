"""Every program the model has written, run again: does the sandbox still run honest programs?

The draw cache (benchmarks/results/cache/draws.db) holds every completion the evaluations drew,
program paths among them. This replays each program that compiles through ``Sandbox.run`` in
one isolation mode and saves, per draw, what it printed and how it ended, with a summary by
status. Two result files (say, before and after a sandbox change) compare with ``--against``:
how many programs now end differently or print something else.

    python -m benchmarks.sandbox_corpus --isolation bwrap --out /tmp/after.json
    python -m benchmarks.sandbox_corpus --isolation bwrap --against /tmp/before.json
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import typer

from agent.programs import code_of
from agent.sandbox import Sandbox, SandboxLimits

RESULTS = Path(__file__).parent / "results"
CACHE = RESULTS / "cache" / "draws.db"


def programs(cache: Path) -> dict[str, str]:
    """Draw key -> program, for every cached completion that is a Python program."""
    found = {}
    with sqlite3.connect(cache) as db:
        for key, blob in db.execute("SELECT key, completion FROM draws ORDER BY key"):
            text = json.loads(zlib.decompress(blob) if isinstance(blob, bytes) else blob)["text"]
            code = code_of(text)
            if "print(" not in code:
                continue
            try:
                compile(code, "<program>", "exec")
            except (SyntaxError, ValueError):
                continue
            found[key] = code
    return found


def main(
    isolation: str = typer.Option("auto", help="auto, bwrap or rlimit."),
    out: Path = typer.Option(None, help="Where to write the per-draw results (JSON)."),
    against: Path = typer.Option(None, help="An earlier result file to compare with."),
    cache: Path = typer.Option(CACHE, help="The draw cache."),
) -> None:
    """Replay the cached programs; print the summary (and the comparison)."""
    box = Sandbox(SandboxLimits(isolation=isolation))
    codes = programs(cache)
    with ThreadPoolExecutor(2) as pool:
        runs = dict(zip(codes, pool.map(box.run, codes.values()), strict=True))
    results = {k: [r.status, r.stdout.strip()[:200], r.error] for k, r in runs.items()}
    summary = {
        "isolation": box.describe(),
        "programs": len(results),
        "statuses": dict(Counter(r[0] for r in results.values()).most_common()),
        "median_seconds": sorted(r.seconds for r in runs.values())[len(runs) // 2],
    }
    print(json.dumps(summary, indent=2))
    if out is not None:
        out.write_text(json.dumps({"summary": summary, "runs": results}, indent=1) + "\n")
    if against is not None:
        before = json.loads(against.read_text())["runs"]
        shared = sorted(set(before) & set(results))
        changed = [k for k in shared if before[k][:2] != results[k][:2]]
        print(f"{len(changed)} of {len(shared)} programs end or print differently")
        for k in changed[:20]:
            print(f"  {k[:12]}: {before[k]} -> {results[k]}")


if __name__ == "__main__":
    typer.run(main)
