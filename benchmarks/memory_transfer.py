"""Does a memory learned on one data set reach into another? Recall on unrelated questions.

``full`` shows a recalled program only above its cosine floor (``min_score``). On a data
set whose questions share no template with the training stream, a question with nothing
above the floor gets exactly the prompts of the empty memory, hence (same seeds, draw
cache) exactly its answer: memory can change the answer only where it recalls something.
This counts, per data set, the evaluation questions that would recall an analog from a
learned memory, and the highest score seen, without sampling anything.

    python -m benchmarks.memory_transfer --memory DIR --datasets leg_counting,basic_arithmetic
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agent.config import named_config
from evaluation.evaluate import load_questions
from memory import MemoryConfig, open_store
from retrieval import RetrievalConfig


def recall_counts(
    memory_dir: Path, datasets: list[str], *, size: int, seed: int, config: str = "full"
) -> dict[str, dict[str, float | int]]:
    """Per data set: questions, those with an analog above ``config``'s floor, top score."""
    cfg = named_config(config)
    store = open_store(memory_dir, MemoryConfig(), RetrievalConfig())
    out: dict[str, dict[str, float | int]] = {}
    try:
        for name in datasets:
            questions, _ = load_questions(name, size, seed)
            recalled, top = 0, -1.0
            for q in questions:
                hits = store.search_problems(q.question, max(cfg.k_analogs, 1), min_score=-1.0)
                best = max((h.score for h in hits), default=-1.0)
                top = max(top, best)
                recalled += int(best >= cfg.min_score)
            out[name] = {
                "questions": len(questions),
                "recalled": recalled,
                "top_score": round(top, 4),
                "min_score": cfg.min_score,
                "memory_problems": store.count(),
            }
    finally:
        store.close()
    return out


def main(
    memory: Path = typer.Option(..., help="A learned memory's data directory."),
    datasets: str = typer.Option("leg_counting,basic_arithmetic", help="Data sets to probe."),
    size: int = typer.Option(100, help="Evaluation questions per data set."),
    seed: int = typer.Option(42, help="Evaluation seed."),
    output: Path | None = typer.Option(None, help="Also write the counts here (JSON)."),
) -> None:
    """Print the counts as JSON."""
    counts = recall_counts(memory, datasets.split(","), size=size, seed=seed)
    text = json.dumps(counts, indent=1)
    print(text)
    if output is not None:
        output.write_text(text)


if __name__ == "__main__":
    typer.run(main)
