"""Choose program_first's thresholds on development questions, from cached draws only.

``full`` draws a round of programs, asks one greedy prose path when they disagree, and draws
the rest of the programs when nothing agrees (agent/sampling.py). Its knobs: the first
round's size, how many programs must agree to answer at once, and the prose path's vote
weight. Every variant draws a prefix of the same programs (seeds 0..n-1) and the same greedy
prose path, so once ``reason eval -c pot-sc@8 -c cot`` has run on the development range,
this grid replays through the draw cache without running the model (a variant that would
need a new draw fails loudly instead).

Development questions are chosen apart from the questions the README reports on:
    python -m benchmarks.tune_program_first --start 0 --size 28
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TypedDict

import typer

from agent.backends.caching import CachingBackend
from agent.config import named_config
from evaluation.evaluate import DRAW_CACHE, RESULTS_DIR, load_questions, wilson
from service.compose import Ask, build_service
from service.settings import Settings


class _Variant(TypedDict):
    """One grid point's accuracy (with its 95% interval) and cost per question."""

    program_round: int
    program_agree: int
    prose_weight: float
    accuracy: float
    ci95: list[float]
    completion_tokens: float
    paths: float


class _NoNewDraws:
    """The draw cache's inner backend when tuning: any cache miss is a mistake."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def generate(self, *args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("a tuning variant needs a draw that is not cached: run reason eval")

    def close(self) -> None:
        """Nothing to release."""


def main(
    start: int = typer.Option(0, help="First development question."),
    size: int = typer.Option(28, help="Development questions."),
    seed: int = typer.Option(42, help="Evaluation seed of the split."),
    dataset: str = typer.Option("gsm_symbolic"),
    output: Path = typer.Option(RESULTS_DIR / "tune-program-first.json"),
) -> None:
    """Replay the grid and print accuracy and cost per variant, best first."""
    settings = Settings()
    backend = CachingBackend(_NoNewDraws(settings.model), DRAW_CACHE)  # type: ignore[arg-type]  # generate only: misses raise
    service = build_service(settings, memory=False, threads=False, backend=backend, source="bench")
    questions, scorer = load_questions(dataset, size, seed, start)
    rows: list[_Variant] = []
    grid = itertools.product((2, 3, 4, 5), (2, 3, 4), (1.0, 1.5, 2.0))
    for first_round, agree, prose_weight in grid:
        if agree > first_round:
            continue
        cfg = named_config(
            "mixed-adaptive@8",
            program_round=first_round,
            program_agree=agree,
            vote={"strategy": "mixed", "kind_weights": {"prose": prose_weight}},
        )
        right = tokens = paths = 0
        for q in questions:
            ans = service.answer(Ask(q.question, cfg, source="bench"))
            right += bool(ans.answer is not None and scorer(ans.answer, q.entry) >= 1.0)
            tokens += ans.usage.get("completion_tokens", 0)
            paths += len(ans.trace["paths"])
        lo, hi = wilson(right, len(questions))
        rows.append(
            {
                "program_round": first_round,
                "program_agree": agree,
                "prose_weight": prose_weight,
                "accuracy": right / len(questions),
                "ci95": [round(lo, 3), round(hi, 3)],
                "completion_tokens": tokens / len(questions),
                "paths": paths / len(questions),
            }
        )
    rows.sort(key=lambda r: (-r["accuracy"], r["completion_tokens"]))
    for r in rows:
        print(
            f"round {r['program_round']} agree {r['program_agree']} prose x{r['prose_weight']}: "
            f"{r['accuracy']:.1%} {r['completion_tokens']:.0f} tok/q {r['paths']:.2f} paths"
        )
    meta = {"dataset": dataset, "seed": seed, "start": start, "size": size}
    output.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    service.close()
    backend.close()


if __name__ == "__main__":
    typer.run(main)
