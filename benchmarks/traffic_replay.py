"""Replay the served part of a traffic stream from the draw cache, model-free.

The ``memory-traffic`` suite serves a training stream to ``full`` as a user's traffic; an
interrupted build keeps its draws in the cache but not its memory. This replays the stream
with a backend that has no model: every draw must come from the cache, and the replay stops
at the first one that does not. The memory is rebuilt exactly (same prompts, same recalls),
so the figures of the served prefix (answers right, stored, stored right) are those of the
run, and they can be checked again at any later commit:

    python -m benchmarks.traffic_replay --size 100
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import typer

from agent.backends.base import Completion, GenerationStats, Message
from agent.backends.caching import CachingBackend
from agent.config import named_config
from agent.reasoner import Reasoner
from evaluation.evaluate import DRAW_CACHE, RESULTS_DIR, git_commit, wilson
from evaluation.learn import HELD_OUT_EVAL_SIZE
from evaluation.traffic import serve_stream
from memory import MemoryConfig, open_store
from retrieval import RetrievalConfig
from service.compose import Service


class NotCached(Exception):
    """The replay reached a draw the cache does not hold: the served prefix ends here."""


class NoModel:
    """A backend that refuses every call, so a ``CachingBackend`` around it only replays."""

    last_stats = GenerationStats()

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def generate(self, messages: Sequence[Message], **kw: Any) -> list[Completion]:
        raise NotCached

    def stream(self, messages: Sequence[Message], **kw: Any) -> Iterator[str]:
        raise NotCached

    def close(self) -> None:
        pass


def replay(
    cache: Path, *, dataset: str, size: int, seed: int, model: str, config: str
) -> dict[str, Any]:
    """Serve the stream from ``cache`` until a draw is missing; the figures of that prefix."""
    marks: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        backend = CachingBackend(NoModel(model), cache)
        store = open_store(Path(tmp), MemoryConfig(), RetrievalConfig())
        store.seed_principles()
        service = Service(Reasoner(backend, memory=store))
        try:
            serve_stream(
                service, named_config(config, task="math"), dataset=dataset, size=size,
                seed=seed, exclude_eval_size=HELD_OUT_EVAL_SIZE,
                on_step=lambda _i, mark: marks.append(mark),
            )  # fmt: skip
        except NotCached:
            pass
        finally:
            service.close()
            store.close()
            backend.close()
    served = "".join(marks)
    stored = served.count("S") + served.count("X")
    right = served.count("S") + served.count("r")
    low, high = wilson(served.count("S"), stored) if stored else (None, None)
    halves = [served[: len(served) // 2], served[len(served) // 2 :]]
    return {
        "date": date.today().isoformat(),
        "git_commit": git_commit(),
        "dataset": dataset,
        "seed": seed,
        "config": config,
        "model": model,
        "labels": False,
        "served": len(served),
        "right": right,
        "stored": stored,
        "stored_right": served.count("S"),
        "stored_precision": round(served.count("S") / stored, 4) if stored else None,
        "stored_precision_ci95": [low, high],
        "right_by_half": [h.count("S") + h.count("r") for h in halves],
        "marks": served,
        "marks_legend": "S stored right, X stored wrong, r right not stored, w wrong not stored",
    }


def main(
    size: int = typer.Option(100, help="Questions of the stream to replay at most."),
    seed: int = typer.Option(1, help="Stream seed (the memory-traffic suite's is 1)."),
    dataset: str = typer.Option("gsm_symbolic"),
    model: str = typer.Option("qwen2.5-1.5b", help="Model name the draws were cached under."),
    config: str = typer.Option("full"),
    cache: Path = typer.Option(DRAW_CACHE, help="The draw cache."),
    output: Path | None = typer.Option(None, help="Where to write the JSON (default: dated)."),
) -> None:
    """Replay the served prefix and print and save its figures."""
    result = replay(cache, dataset=dataset, size=size, seed=seed, model=model, config=config)
    out = output or RESULTS_DIR / f"traffic-stream-{result['date']}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    typer.echo(
        f"served {result['served']}: {result['right']} right; stored {result['stored']}, "
        f"{result['stored_right']} right ({result['stored_precision']}); wrote {out}"
    )


if __name__ == "__main__":
    typer.run(main)
