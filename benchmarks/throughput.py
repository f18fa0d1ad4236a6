"""Throughput: questions per minute of ``reason batch`` and batched vs separate path draws.

Both measurements run on the raw backend, never the draw cache: cached draws cost nothing
and would make any rate meaningless.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.backends.base import Backend
from agent.config import named_config
from agent.prompts import system_prompt

logger = logging.getLogger(__name__)


def batch_rate(
    backend: Backend,
    settings: Any,
    questions: Sequence[dict[str, str]],
    work_dir: Path,
    *,
    config: str,
    overrides: dict[str, Any],
    concurrencies: Sequence[int] = (1, 2, 4),
) -> list[dict[str, Any]]:
    """Questions per minute of the batch runner (``reason batch``) at each concurrency.

    Args:
        backend: The model backend (shared; not closed here).
        settings: ``service.settings.Settings`` for the service around the backend.
        questions: ``{"id", "question", "answer"}`` lines.
        work_dir: Where the input and the per-concurrency outputs go.
        config: Graph configuration every line is answered with.
        overrides: GraphConfig overrides (max_tokens, task).
        concurrencies: Questions in flight at once.
    """
    from api.batch import run_batch
    from service.compose import build_service

    work_dir.mkdir(parents=True, exist_ok=True)
    source = work_dir / "batch-in.jsonl"
    source.write_text("".join(json.dumps(q) + "\n" for q in questions))
    cfg = named_config(config, write_back=False, **overrides)
    # Workers for the largest concurrency; each run keeps its own k questions in flight.
    most = max(concurrencies)
    settings = settings.model_copy(update={"max_concurrency": most, "queue_size": most})
    service = build_service(settings, memory=False, threads=False, backend=backend, source="bench")
    rows = []
    try:
        for k in concurrencies:
            output = work_dir / f"batch-out-k{k}.jsonl"
            output.unlink(missing_ok=True)  # a rate needs every line answered now
            t0 = time.perf_counter()
            report = run_batch(service, source, output, cfg, concurrency=k)
            seconds = time.perf_counter() - t0
            rows.append(
                {
                    "concurrency": k,
                    "questions": report.answered,
                    "errors": report.errors,
                    "seconds": round(seconds, 3),
                    "questions_per_minute": round(60 * report.answered / seconds, 3)
                    if seconds
                    else None,
                    "accuracy": report.accuracy,
                }
            )
            logger.info("batch k=%d: %d questions in %.1fs", k, report.answered, seconds)
    finally:
        service.close()
    return rows


def batched_vs_separate(
    backend: Backend,
    question: str,
    *,
    n: int = 8,
    max_tokens: int = 64,
    temperature: float = 0.7,
    seed: int = 0,
    task: str = "math",
) -> dict[str, Any]:
    """One ``generate(n=n)`` call against ``n`` calls of ``generate(n=1)`` with the same seeds.

    Sample ``i`` uses seed ``seed + i`` in both, so the two runs draw comparable tokens; the
    rates compare tokens per second, which is fair even where the token counts differ.
    """
    messages = [
        {"role": "system", "content": system_prompt("cot", task)},  # type: ignore[arg-type]
        {"role": "user", "content": question},
    ]
    common = {"temperature": temperature, "max_tokens": max_tokens}
    t0 = time.perf_counter()
    batched = backend.generate(messages, n=n, seed=seed, **common)  # type: ignore[arg-type]
    batched_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    separate = [
        backend.generate(messages, n=1, seed=seed + i, **common)[0]  # type: ignore[arg-type]
        for i in range(n)
    ]
    separate_s = time.perf_counter() - t0
    b_tok = sum(c.completion_tokens for c in batched)
    s_tok = sum(c.completion_tokens for c in separate)
    same = sum(1 for a, b in zip(batched, separate, strict=True) if a.text == b.text)
    return {
        "n": n,
        "max_tokens": max_tokens,
        "batched": {
            "seconds": round(batched_s, 3),
            "completion_tokens": b_tok,
            "tokens_per_second": round(b_tok / batched_s, 2) if batched_s else None,
        },
        "separate": {
            "seconds": round(separate_s, 3),
            "completion_tokens": s_tok,
            "tokens_per_second": round(s_tok / separate_s, 2) if separate_s else None,
        },
        "speedup": round((b_tok / batched_s) / (s_tok / separate_s), 3)
        if batched_s and separate_s and s_tok
        else None,
        "identical_texts": same,
    }


def run_throughput(
    backend: Backend,
    settings: Any,
    questions: Sequence[dict[str, str]],
    work_dir: Path,
    *,
    config: str,
    overrides: dict[str, Any],
    concurrencies: Sequence[int],
    n: int,
    resume: bool,
) -> dict[str, Any]:
    """Both throughput measurements, saved to ``work_dir/throughput.json`` (reused on resume)."""
    saved = work_dir / "throughput.json"
    if resume and saved.exists():
        return json.loads(saved.read_text())
    result = {
        "model": backend.model_name,
        "config": config,
        "overrides": overrides,
        "batch": batch_rate(
            backend,
            settings,
            questions,
            work_dir / "batch",
            config=config,
            overrides=overrides,
            concurrencies=concurrencies,
        ),
        "paths": batched_vs_separate(
            backend,
            questions[0]["question"],
            n=n,
            max_tokens=int(overrides.get("max_tokens", 64)),
            task=str(overrides.get("task", "math")),
        ),
    }
    work_dir.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(result, indent=1))
    return result
