"""The weak-agreement rule, measured: `full` before and after, paired question by question.

``program_first`` used to stop as soon as 2 of its 3 first programs agreed, and called the
answer verified. With ``weak_check`` those 2 stand only when the greedy prose path agrees;
otherwise the remaining programs are drawn. Both runs share the draw cache, so the first
round is the same draws and only the rule differs. This reads two ``reason eval`` result
files of the same questions (before: an earlier run; after: this code) and reports, for
``full``: accuracy with a 95% interval, paired wins and losses, paths and generated tokens
per question, how each run stopped (and how often it was right there), and the precision of
what each run called verified (what write-back may store).

    python -m benchmarks.weak_agreement BEFORE.json AFTER.json --out RESULT.json
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import typer

from evaluation.evaluate import wilson


def summary(results: dict[str, Any], config: str, questions: list[str]) -> dict[str, Any]:
    """Accuracy, cost, stops and verified precision of ``config`` on ``questions``."""
    rows = [results[q][config] for q in questions]
    right = sum(r["correct"] for r in rows)
    low, high = wilson(right, len(rows))
    stops: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        stops[r["stop"] or "none"][0] += 1
        stops[r["stop"] or "none"][1] += int(r["correct"])
    verified = [r for r in rows if r["verified"]]
    return {
        "accuracy": round(right / len(rows), 4),
        "right": right,
        "ci95": [round(low, 4), round(high, 4)],
        "paths_per_question": round(statistics.mean(r["n_paths"] for r in rows), 2),
        "tokens_per_question": round(statistics.mean(r["completion_tokens"] for r in rows), 1),
        "median_model_seconds": round(statistics.median(r["model_seconds"] for r in rows), 1),
        "stops": {k: {"questions": v[0], "right": v[1]} for k, v in sorted(stops.items())},
        "verified": len(verified),
        "verified_right": sum(r["correct"] for r in verified),
        "verified_precision": round(sum(r["correct"] for r in verified) / len(verified), 4)
        if verified
        else None,
    }


def compare(before: Path, after: Path, config: str = "full") -> dict[str, Any]:
    """The side-by-side report of ``config`` in two result files of the same questions."""
    a = json.loads(before.read_text())
    b = json.loads(after.read_text())
    ra, rb = a["results"], b["results"]
    common = sorted((q for q in ra if config in ra[q] and config in rb.get(q, {})), key=int)
    won = [q for q in common if rb[q][config]["correct"] and not ra[q][config]["correct"]]
    lost = [q for q in common if ra[q][config]["correct"] and not rb[q][config]["correct"]]
    return {
        "config": config,
        "dataset": b["meta"]["dataset"],
        "seed": b["meta"]["seed"],
        "start": b["meta"]["start"],
        "questions": len(common),
        "before": {"file": before.name, "git_commit": a["meta"].get("git_commit")}
        | summary(ra, config, common),
        "after": {"file": after.name, "git_commit": b["meta"].get("git_commit")}
        | summary(rb, config, common),
        "paired": {"won": won, "lost": lost},
    }


def main(
    before: Path = typer.Argument(..., help="reason eval results without the rule."),
    after: Path = typer.Argument(..., help="reason eval results with it (same questions)."),
    config: str = typer.Option("full", help="Configuration to compare."),
    out: Path = typer.Option(None, help="Where to write the report (JSON)."),
) -> None:
    """Print (and save) the comparison."""
    report = compare(before, after, config)
    text = json.dumps(report, indent=2)
    print(text)
    if out is not None:
        out.write_text(text + "\n")


if __name__ == "__main__":
    typer.run(main)
