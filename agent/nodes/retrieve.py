"""retrieve: recall analogous verified problems and principles from memory."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.events import Recalled
from agent.nodes._timing import timed
from agent.state import AgentState


@timed("retrieve")
def retrieve(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Top-k analogs by the question, principles by the step-back principle (or question).

    An empty memory, or nothing above the score floor, is fine: the prompt falls back.
    """
    deps = runtime.context
    cfg = deps.config
    if deps.memory is None:
        return {"analogs": [], "principles": []}
    t0 = time.perf_counter()
    question = state["question"]
    analogs: list[dict[str, Any]] = (
        [
            {
                "id": hit.record.id,
                "question": hit.record.question,
                "answer": hit.record.answer,
                "path": hit.record.path,
                "program": hit.record.program,  # None for problems solved in prose only
                "score": round(hit.score, 4),
            }
            for hit in deps.memory.search_problems(question, cfg.k_analogs, min_score=cfg.min_score)
            if hit.record.question.strip() != question  # never show the question its own answer
        ]
        if cfg.k_analogs
        else []
    )
    query = state.get("principle") or question
    principles: list[dict[str, Any]] = (
        [
            {"id": hit.record.id, "text": hit.record.text, "score": round(hit.score, 4)}
            for hit in deps.memory.search_principles(
                query, cfg.k_principles, min_score=cfg.principle_min_score
            )
        ]
        if cfg.k_principles
        else []
    )
    runtime.stream_writer(
        Recalled(
            analogs=[a["id"] for a in analogs],
            principles=[p["id"] for p in principles],
            analog_hits=[
                {"id": a["id"], "score": a["score"], "question": a["question"]} for a in analogs
            ],
            principle_hits=principles,
        )
    )
    return {
        "analogs": analogs,
        "principles": principles,
        "timings": {"embed_search": time.perf_counter() - t0},
    }
