"""Would more blind programs tell a split answer's right cases from its wrong ones?

Write-back refuses every traffic answer a path dissents from (``max_dissenting_paths`` 0), and
no group of such answers is right often enough to store (``benchmarks.traffic_evidence``: 2 of
3 programs agreeing were right 24 times in 46). Confirmation draws now run after the answer is
returned, so drawing more for split answers costs the next question, not this one. This
measures whether it would pay: for every answer with a dissenting path in a replayed stream
(``traffic-evidence-seed1.json``), ``--extra`` more programs are drawn from the plain prompt
(seeds after the first round's, through the draw cache) and the rule "the next k all print the
answer" is scored against the data set for each k:

    python -m benchmarks.split_confirmation --extra 4

The stream is the development stream (seed 1): a rule chosen here must be reported on another.
Every draw goes through the cache, so a stopped run resumes where it stopped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from agent.analogs import program_prompts
from agent.backends import build_backend
from agent.backends.caching import CachingBackend
from agent.config import named_config
from agent.extract import same_answer
from agent.sampling import Sampler
from agent.sandbox import Sandbox
from evaluation.evaluate import RESULTS_DIR, wilson
from service.settings import Settings

# The first round drew the plain prompt's programs 0-2 (an empty memory), and an answer that
# went on to every path drew 3-8: the extra programs continue there, so those are cached.
FIRST_EXTRA_SEED = 3


def extra_answers(rows: list[dict[str, Any]], extra: int, draws: Path) -> list[list[str | None]]:
    """For each row, the answers of ``extra`` more programs from its question's plain prompt."""
    backend = CachingBackend(build_backend(Settings().backend_config()), draws)
    config = named_config("full", task="math")
    sandbox = Sandbox()
    out = []
    try:
        for i, row in enumerate(rows, 1):
            if i % 10 == 0:
                typer.echo(f"  {i}/{len(rows)} questions")
            (plain,) = program_prompts(row["question"], task="math")
            sampler = Sampler(backend, config, [], program_prompts=[plain], sandbox=sandbox)
            paths = sampler.more_programs(plain, extra, FIRST_EXTRA_SEED)
            out.append([p.answer for p in paths])
    finally:
        backend.close()
    return out


def score(rows: list[dict[str, Any]], answers: list[list[str | None]], k: int) -> dict[str, Any]:
    """The rule "the next ``k`` programs all print the answer", by evidence group and overall."""
    groups: dict[str, list[bool]] = {}
    for row, more in zip(rows, answers, strict=True):
        if all(same_answer(a, row["answer"]) for a in more[:k]):
            groups.setdefault(row["evidence"], []).append(bool(row["right"]))
            groups.setdefault("all split answers", []).append(bool(row["right"]))
    out = {}
    for name, kept in groups.items():
        low, high = wilson(sum(kept), len(kept))
        out[name] = {"stored": len(kept), "right": sum(kept), "ci95": [low, high]}
    return out


def main(
    extra: int = typer.Option(4, help="More programs drawn for each split answer."),
    evidence: Path = typer.Option(RESULTS_DIR / "traffic-evidence-seed1.json"),
    draws: Path = typer.Option(RESULTS_DIR / "cache" / "draws.db", help="The draw cache."),
    output: Path = typer.Option(RESULTS_DIR / "split-confirmation-seed1.json"),
) -> None:
    """Draw the extra programs, print each rule's precision, and save them."""
    from benchmarks.traffic_evidence import evidence_kind

    report = json.loads(evidence.read_text())
    rows = [{**r, "evidence": evidence_kind(r)} for r in report["answers"] if r["dissenting"]]
    answers = extra_answers(rows, extra, draws)
    totals = {"answers": len(rows), "right": sum(bool(r["right"]) for r in rows)}
    typer.echo(f"{totals['answers']} split answers, {totals['right']} right")
    rules = {}
    for k in range(1, extra + 1):
        rules[f"next {k} agree"] = score(rows, answers, k)
        every = rules[f"next {k} agree"].get("all split answers", {"stored": 0, "right": 0})
        typer.echo(f"  next {k} programs agree: stored {every['stored']}, right {every['right']}")
    output.write_text(
        json.dumps(
            {
                "source": evidence.name,
                "extra": extra,
                **totals,
                "rules": rules,
                "answers": [
                    {
                        "question": r["question"],
                        "answer": r["answer"],
                        "right": r["right"],
                        "evidence": r["evidence"],
                        "extra": a,
                    }
                    for r, a in zip(rows, answers, strict=True)
                ],  # fmt: skip
            },
            indent=1,
        )
        + "\n"
    )
    typer.echo(f"wrote {output}")


if __name__ == "__main__":
    typer.run(main)
