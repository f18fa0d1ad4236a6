"""How well the embedding finds problems of the same kind: the floor for recalled analogs.

gsm_symbolic questions come from templates; a question's template is the set of variable
names in its metadata. On the training stream alone (no evaluation question is read), embed
every question, and for each pair report whether they share a template: the share of
questions whose nearest neighbour shares theirs, and the precision and recall of "cosine at
least t" as a test for "same template". ``full``'s ``min_score`` is chosen here.

    python -m benchmarks.analog_threshold --size 400 --seed 1
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from benchmarks.memory_analysis import template
from evaluation.learn import check_training_seed
from retrieval import RetrievalConfig
from retrieval.embedder import build_embedder

RESULTS = Path(__file__).parent / "results"


def main(
    size: int = typer.Option(400, help="Training questions."),
    seed: int = typer.Option(1, help="Training seed (never an evaluation seed)."),
    thresholds: str = typer.Option("0.6,0.65,0.7,0.75,0.8,0.85", help="Cosine floors."),
) -> None:
    """Print and save the table (benchmarks/results/analog-threshold.json)."""
    import reasoning_gym

    check_training_seed(seed)
    entries = list(reasoning_gym.create_dataset("gsm_symbolic", size=size, seed=seed))
    names = [template(e) for e in entries]
    vectors = build_embedder(RetrievalConfig()).embed([e["question"] for e in entries])
    sims = vectors @ vectors.T
    same = np.array([[a == b for b in names] for a in names])
    off = ~np.eye(len(entries), dtype=bool)
    sims = np.where(off, sims, -2.0)
    top = sims.argmax(1)
    floors: list[dict[str, float]] = []
    report = {
        "size": size,
        "seed": seed,
        "templates": len(set(names)),
        "top1_same_template": float(np.mean([same[i, top[i]] for i in range(len(entries))])),
        "floors": floors,
    }
    pairs = same & off
    for t in (float(x) for x in thresholds.split(",")):
        kept = (sims >= t) & off
        floors.append(
            {
                "min_score": t,
                "precision": float((pairs & kept).sum() / max(1, kept.sum())),
                "recall": float((pairs & kept).sum() / pairs.sum()),
            }
        )
    print(json.dumps(report, indent=1))
    (RESULTS / "analog-threshold.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    typer.run(main)
