"""What evidence did write-back see for each answer of a traffic stream, and was it right?

Replays ``memory-traffic``'s stream (``evaluation.traffic.serve_stream``, ``full`` with
write-back on, no ground truth) into a fresh memory through the committed draw cache, records
every decision of the write-back policy (``memory.decide``), and scores the answers against
the data set afterwards. Grouping the answers by their evidence says whether a looser rule
could store the right answers the policy refuses:

    python -m benchmarks.traffic_evidence --size 190

Cached draws replay in minutes; draws the cache lacks are sampled (slow on CPU) and cached.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

import agent.nodes.write_back as write_back
from agent.backends import build_backend
from agent.backends.caching import CachingBackend
from agent.config import named_config
from agent.extract import same_answer
from agent.reasoner import Reasoner
from evaluation.datasets import open_dataset
from evaluation.evaluate import RESULTS_DIR, wilson
from evaluation.learn import HELD_OUT_EVAL_SIZE
from evaluation.traffic import serve_stream
from memory import Evidence, MemoryConfig, Rejection, VerifiedPath, WriteBackThresholds, open_store
from retrieval import RetrievalConfig
from service.compose import Service
from service.settings import Settings


def replay(dataset: str, size: int, seed: int, draws: Path) -> list[dict[str, Any]]:
    """The last write-back decision for each served question, in stream order."""
    decided: dict[str, dict[str, Any]] = {}
    # The node calls its module's ``decide``: record each decision on the way through.
    policy: Callable[[Evidence, WriteBackThresholds], VerifiedPath | Rejection]
    policy = vars(write_back)["decide"]

    def recording(evidence: Evidence, t: WriteBackThresholds) -> VerifiedPath | Rejection:
        decision = policy(evidence, t)
        # Decided again after confirmation draws: the later decision is the one that counts.
        decided[evidence.question] = {
            "answer": evidence.answer,
            "agreeing": evidence.agreeing_paths,
            "paths": evidence.total_paths,
            "dissenting": evidence.dissenting_paths,
            "program_and_prose": evidence.independent_agreement,
            "checks_hold": all(evidence.checks.values()),
            "stored": isinstance(decision, VerifiedPath),
            "reason": getattr(decision, "reason", None),
        }
        return decision

    backend = CachingBackend(build_backend(Settings().backend_config()), draws)
    vars(write_back)["decide"] = recording
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp), MemoryConfig(), RetrievalConfig())
        store.seed_principles()
        service = Service(Reasoner(backend, memory=store))
        try:
            serve_stream(
                service,
                named_config("full", task="math"),
                dataset=dataset,
                size=size,
                seed=seed,
                exclude_eval_size=HELD_OUT_EVAL_SIZE,
            )
        finally:
            vars(write_back)["decide"] = policy
            service.close()
            store.close()
            backend.close()
    truth = {e["question"]: str(e["answer"]) for e in open_dataset(dataset, size=size, seed=seed)}
    return [
        {"question": q, **row, "truth": truth[q], "right": same_answer(row["answer"], truth[q])}
        for q, row in decided.items()
        if q in truth
    ]


def evidence_kind(row: dict[str, Any]) -> str:
    """A short name for the evidence an answer had (what a storage rule can see)."""
    if not row["dissenting"]:
        return "no dissenting path"
    agree = f"{row['agreeing']} of {row['paths']} paths"
    if row["program_and_prose"]:
        return f"{agree}, a program and a prose path among them"
    return f"{agree}, no prose path among them"


def main(
    size: int = typer.Option(190, help="Stream questions served (the overlap guard skips some)."),
    seed: int = typer.Option(1, help="Stream seed (1: the development stream)."),
    dataset: str = typer.Option("gsm_symbolic"),
    draws: Path = typer.Option(RESULTS_DIR / "cache" / "draws.db", help="The draw cache."),
    output: Path = typer.Option(RESULTS_DIR / "traffic-evidence.json"),
) -> None:
    """Replay the stream, print answers and right ones by evidence, and save them."""
    rows = replay(dataset, size, seed, draws)
    groups: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for row in rows:
        groups[evidence_kind(row)] += 1
        right[evidence_kind(row)] += row["right"]
    typer.echo(f"{dataset} seed {seed}: {len(rows)} answers, {sum(r['right'] for r in rows)} right")
    table = []
    for kind, n in groups.most_common():
        low, high = wilson(right[kind], n)
        table.append({"evidence": kind, "answers": n, "right": right[kind], "ci95": [low, high]})
        typer.echo(f"  {kind:56s} {n:4d} answers  {right[kind]:4d} right")
    stored = [r for r in rows if r["stored"]]
    refused = Counter(r["reason"] for r in rows if r["right"] and not r["stored"])
    typer.echo(f"stored {len(stored)}, right {sum(r['right'] for r in stored)}")
    typer.echo(f"right answers refused, by reason: {dict(refused.most_common())}")
    report = {
        "dataset": dataset,
        "seed": seed,
        "size": size,
        "by_evidence": table,
        "stored": len(stored),
        "stored_right": sum(r["right"] for r in stored),
        "right_refused_by_reason": dict(refused.most_common()),
        "answers": rows,
    }
    output.write_text(json.dumps(report, indent=1) + "\n")
    typer.echo(f"wrote {output}")


if __name__ == "__main__":
    typer.run(main)
