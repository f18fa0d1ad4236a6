"""The trace returned with every answer: what each step saw and decided, and what it cost."""

from __future__ import annotations

from typing import Any

from agent.config import GraphConfig
from agent.extract import same_answer
from agent.programs import Execution

# Time spent waiting on the model, on embedding + vector search, or on running programs in the
# sandbox; the rest is graph overhead.
EXTERNAL = ("model", "embed_search", "sandbox")


def _program(execution: Execution) -> dict[str, Any]:
    return {
        "program": execution.code,
        "stdout": execution.stdout,
        "error": execution.error,
        "status": execution.status,
        "run_seconds": round(execution.seconds, 4),
    }


def build_trace(state: dict[str, Any], config: GraphConfig, seconds: float) -> dict[str, Any]:
    """A JSON-ready account of one run."""
    verdict = state.get("verdict")
    timings = dict(state.get("timings") or {})
    external = sum(timings.get(k, 0.0) for k in EXTERNAL)
    return {
        "config": config.name,
        "history_turns": len(state.get("history") or []) // 2,
        "principle": state.get("principle"),
        "retrieved": {
            "analogs": [{"id": a["id"], "score": a["score"]} for a in state.get("analogs") or []],
            "principles": [
                {"id": p["id"], "score": p["score"], "text": p["text"]}
                for p in state.get("principles") or []
            ],
        },
        "paths": [
            {
                "index": p.index,
                "answer": p.answer,
                "confidence": None if p.confidence is None else round(p.confidence, 4),
                "seed": p.seed,
                "tokens": p.completion_tokens,
                "finish": p.finish_reason,
                "model": p.model,
                "kind": p.kind,
                **(_program(p.execution) if p.execution else {}),
                **({"analog": p.analog, "copied": list(p.copied)} if p.analog else {}),
            }
            for p in state.get("paths") or []
        ],
        "vote": None
        if verdict is None
        else {
            "strategy": verdict.strategy,
            "answer": verdict.answer,
            "votes": verdict.votes,
            "share": round(verdict.share, 4),
            "paths": verdict.n_paths,
            "abstentions": verdict.abstentions,
        },
        "sampling": {k: v for k, v in (state.get("sampling") or {}).items() if k != "started"},
        "verification": state.get("verification") or {},
        "memory": state.get("memory") or {},
        "usage": state.get("usage") or {},
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "seconds": round(seconds, 4),
        "overhead_share": round(max(0.0, seconds - external) / seconds, 4) if seconds else 0.0,
    }


def answer_program(trace: dict[str, Any], answer: str | None) -> tuple[str, str] | None:
    """The first program in a trace that ran and printed ``answer``: (code, what it printed).

    Args:
        trace: A trace from ``build_trace``.
        answer: The final answer.

    Returns:
        The program's code and output, or None when no program that ran printed ``answer``.
    """
    for p in trace.get("paths") or []:
        if p.get("kind") == "program" and p.get("status") == "ok":
            if same_answer(p.get("answer"), answer):
                return p["program"], p["stdout"]
    return None
