"""Throughput: questions per minute of ``reason batch`` and batched vs separate path draws.

Both measurements run on the raw backend, never the draw cache: cached draws cost nothing
and would make any rate meaningless.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

from agent.backends.base import Backend, Message
from agent.config import GraphConfig, named_config
from agent.errors import ReasonerError
from agent.extract import TaskKind, same_answer
from agent.prompts import system_prompt
from agent.reasoner import Answer
from service.compose import Ask, Service, build_service

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
    """Questions per minute of the service at each number of questions in flight.

    The questions go through ``Service.submit``, the work queue every way in uses, ``k`` at
    a time: what ``reason batch --concurrency k`` sends it (the JSONL reading and writing
    around it costs nothing next to a model call). benchmarks/ never imports api/.

    Args:
        backend: The model backend (shared; not closed here).
        settings: ``service.settings.Settings`` for the service around the backend.
        questions: ``{"id", "question", "answer"}`` lines.
        work_dir: Where each concurrency's answers are written (``answers-k<k>.jsonl``).
        config: Graph configuration every question is answered with.
        overrides: GraphConfig overrides (max_tokens, task).
        concurrencies: Questions in flight at once.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    cfg = named_config(config, write_back=False, **overrides)
    # Workers for the largest concurrency; each run keeps its own k questions in flight.
    most = max(concurrencies)
    settings = settings.model_copy(update={"max_concurrency": most, "queue_size": most})
    service = build_service(settings, memory=False, threads=False, backend=backend, source="bench")
    rows = []
    try:
        for k in concurrencies:
            t0 = time.perf_counter()
            records = _answer_all(service, questions, cfg, k)
            seconds = time.perf_counter() - t0
            output = work_dir / f"answers-k{k}.jsonl"
            output.write_text("".join(json.dumps(r) + "\n" for r in records))
            answered = [r for r in records if r["error"] is None]
            rows.append(
                {
                    "concurrency": k,
                    "questions": len(answered),
                    "errors": len(records) - len(answered),
                    "seconds": round(seconds, 3),
                    "questions_per_minute": round(60 * len(answered) / seconds, 3)
                    if seconds
                    else None,
                    "accuracy": sum(r["correct"] for r in answered) / len(answered)
                    if answered
                    else None,
                }
            )
            logger.info("batch k=%d: %d questions in %.1fs", k, len(answered), seconds)
    finally:
        service.close()
    return rows


def _answer_all(
    service: Service, questions: Sequence[dict[str, str]], cfg: GraphConfig, k: int
) -> list[dict[str, Any]]:
    """Answer every question through the service, ``k`` in flight; one record each."""
    records: list[dict[str, Any]] = []
    waiting = list(reversed(questions))
    in_flight: dict[Future[Answer], dict[str, str]] = {}
    while waiting or in_flight:
        while waiting and len(in_flight) < k:
            line = waiting.pop()
            in_flight[service.submit(Ask(line["question"], cfg, source="bench"))] = line
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            line = in_flight.pop(future)
            record: dict[str, Any] = {"id": line.get("id"), "expected": line.get("answer")}
            try:
                answer = future.result().answer
            except ReasonerError as ex:
                records.append({**record, "answer": None, "correct": False, "error": str(ex)})
                continue
            correct = same_answer(answer, line.get("answer"))
            records.append({**record, "answer": answer, "correct": correct, "error": None})
    return records


def batched_vs_separate(
    backend: Backend,
    question: str,
    *,
    n: int = 8,
    max_tokens: int = 64,
    temperature: float = 0.7,
    seed: int = 0,
    task: TaskKind = "math",
) -> dict[str, Any]:
    """One ``generate(n=n)`` call against ``n`` calls of ``generate(n=1)`` with the same seeds.

    Sample ``i`` uses seed ``seed + i`` in both, so the two runs draw comparable tokens; the
    rates compare tokens per second, which is fair even where the token counts differ.
    """
    system = system_prompt("cot", task)
    assert system is not None  # only the "plain" style has no system message
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": question},
    ]
    t0 = time.perf_counter()
    batched = backend.generate(
        messages, n=n, seed=seed, temperature=temperature, max_tokens=max_tokens
    )
    batched_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    separate = [
        backend.generate(
            messages, n=1, seed=seed + i, temperature=temperature, max_tokens=max_tokens
        )[0]
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
        result: dict[str, Any] = json.loads(saved.read_text())
        return result
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
            task=overrides.get("task", "math"),
        ),
    }
    work_dir.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(result, indent=1))
    return result
