"""Which answers may memory store without labels? Storage rules scored on recorded runs.

Each rule decides from a run's paths alone (kinds, answers, the final answer) whether the
answer would be stored; the data set's truth then says how many stored answers were right
(precision) and how many answers were stored (coverage). The inputs are committed evaluation
files of ``full`` with an empty memory, so nothing is sampled again:

    python -m benchmarks.storage_rules

The write-back policy (``memory/writeback.py``) took the adopted rule from the development
rows; the precision of what the policy stores on unseen traffic is measured by
the ``memory-traffic`` report suite, not here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from agent.extract import same_answer
from evaluation.evaluate import RESULTS_DIR, wilson

FILES = {
    # q0-27 of seed 42 chose the program_first rules: the development part.
    "dev": RESULTS_DIR / "eval-gsm_symbolic-qwen2.5-1.5b-seed42-dev.json",
    # q28-127: held out from those choices.
    "heldout": RESULTS_DIR / "eval-gsm_symbolic-qwen2.5-1.5b-seed42-heldout-2026-12-02.json",
}
# The greedy prose path of each question (``cot``), where ``full`` did not draw it: full's
# prose path is that very draw (same prompt, seed and length; equal wherever both exist).
GREEDY_PROSE = {
    "dev": RESULTS_DIR / "eval-gsm_symbolic-qwen2.5-1.5b-seed42-dev.json",
    "heldout": RESULTS_DIR / "eval-gsm_symbolic-qwen2.5-1.5b-seed42-heldout.json",
}


@dataclass(frozen=True)
class Features:
    """What a storage rule may look at: how the run's paths relate to its answer."""

    agreeing_programs: int
    prose_agrees: bool
    dissenting: int
    verified: bool
    greedy_prose_agrees: bool


def features(record: dict[str, Any], greedy_prose: str | None) -> Features:
    """The features of one evaluation record of ``full`` (and its question's greedy prose)."""
    answer = record["answer"]
    paths = record.get("paths") or []
    return Features(
        agreeing_programs=sum(1 for p in paths if p["kind"] == "program" and p["answer"] == answer),
        prose_agrees=any(p["kind"] == "prose" and p["answer"] == answer for p in paths),
        dissenting=sum(1 for p in paths if p["answer"] not in (None, answer)),
        verified=bool(record.get("verified")),
        greedy_prose_agrees=greedy_prose is not None and same_answer(greedy_prose, answer),
    )


RULES: dict[str, Callable[[Features], bool]] = {
    "verified (the answer's flag)": lambda f: f.verified,
    "a program and the prose path agree": lambda f: f.agreeing_programs >= 1 and f.prose_agrees,
    ">= 3 agreeing programs": lambda f: f.agreeing_programs >= 3,
    ">= 3 agreeing programs, no dissent": lambda f: f.agreeing_programs >= 3 and f.dissenting == 0,
    "... and the greedy prose path agrees (adopted)": lambda f: (
        f.agreeing_programs >= 3 and f.dissenting == 0 and f.greedy_prose_agrees
    ),
}


def score(path: Path, prose_path: Path) -> dict[str, Any]:
    """Coverage and precision of every rule on one evaluation file."""
    results = json.loads(path.read_text())["results"]
    greedy = json.loads(prose_path.read_text())["results"]
    rows = [
        (
            features(v["full"], (greedy.get(q, {}).get("cot") or {}).get("answer")),
            v["full"]["correct"],
        )
        for q, v in results.items()
        if "full" in v
    ]
    out: dict[str, Any] = {"file": path.name, "questions": len(rows), "rules": {}}
    for name, rule in RULES.items():
        kept = [right for f, right in rows if rule(f)]
        low, high = wilson(sum(kept), len(kept)) if kept else (None, None)
        out["rules"][name] = {
            "stored": len(kept),
            "right": sum(kept),
            "precision": round(sum(kept) / len(kept), 4) if kept else None,
            "precision_ci95": [low, high],
        }
    return out


def main(output: Path = typer.Option(RESULTS_DIR / "storage-rules.json")) -> None:
    """Score every rule on the development and held-out files; print and save a table."""
    report = {part: score(path, GREEDY_PROSE[part]) for part, path in FILES.items()}
    for part, rows in report.items():
        typer.echo(f"{part} ({rows['questions']} questions, {rows['file']})")
        for name, r in rows["rules"].items():
            precision = "—" if r["precision"] is None else f"{r['precision']:.1%}"
            typer.echo(f"  {name:48s} stored {r['stored']:3d}  right {r['right']:3d}  {precision}")
    output.write_text(json.dumps(report, indent=1) + "\n")
    typer.echo(f"wrote {output}")


if __name__ == "__main__":
    typer.run(main)
