"""The trace returned with every answer: what each step saw and decided, and what it cost.

The trace is JSON (the API's ``x_trace``, batch output lines, evaluation records), so its
types are ``TypedDict``s: the type checker knows every key the surfaces read, and the
object is the same plain dict the API has always returned. The parts the nodes write
(sampling, verification, memory) are defined in ``agent/trace_parts.py``.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from agent.config import GraphConfig
from agent.extract import same_answer
from agent.paths import ReasoningPath
from agent.programs import Execution
from agent.state import AgentState
from agent.trace_parts import (
    CheckCounts,
    Confirmation,
    MemoryLog,
    ProgramCounts,
    Route,
    SamplingLog,
    SamplingState,
    ThinkDecision,
    Verification,
)

__all__ = [
    "EXTERNAL",
    "CheckCounts",
    "Confirmation",
    "Hit",
    "MemoryLog",
    "ProgramCounts",
    "Retrieved",
    "SamplingLog",
    "ThinkDecision",
    "Trace",
    "TracePath",
    "Verification",
    "Vote",
    "answer_program",
    "build_trace",
]

# Time spent waiting on the model, on embedding + vector search, or on running programs in the
# sandbox; the rest is graph overhead.
EXTERNAL = ("model", "embed_search", "sandbox")


class Hit(TypedDict):
    """A recalled analog (id, score) or principle (and its text)."""

    id: int
    score: float
    text: NotRequired[str]


class Retrieved(TypedDict):
    """What retrieval recalled."""

    analogs: list[Hit]
    principles: list[Hit]


class TracePath(TypedDict):
    """One drawn path; program paths add what running the program gave."""

    index: int
    answer: str | None
    confidence: float | None
    seed: int | None
    tokens: int
    finish: str
    model: str
    kind: str
    program: NotRequired[str]
    stdout: NotRequired[str]
    error: NotRequired[str | None]
    status: NotRequired[str]
    run_seconds: NotRequired[float]
    analog: NotRequired[str]
    copied: NotRequired[list[str]]


class Vote(TypedDict):
    """The aggregation's verdict."""

    strategy: str
    answer: str | None
    votes: dict[str, float]
    share: float
    paths: int
    abstentions: int


class Trace(TypedDict):
    """One run, step by step (``build_trace``)."""

    config: str
    #: The answer kind and the paths drawn for this question, and why (agent/routing.py).
    route: Route
    history_turns: int
    principle: str | None
    retrieved: Retrieved
    paths: list[TracePath]
    vote: Vote | None
    sampling: SamplingLog
    #: The verify step's evidence (see agent/nodes/verify.py).
    verification: Verification
    #: What write-back did: stored, id, action, or reason.
    memory: MemoryLog
    usage: dict[str, int]
    timings: dict[str, float]
    seconds: float
    overhead_share: float


def _path(p: ReasoningPath) -> TracePath:
    out: TracePath = {
        "index": p.index,
        "answer": p.answer,
        "confidence": None if p.confidence is None else round(p.confidence, 4),
        "seed": p.seed,
        "tokens": p.completion_tokens,
        "finish": p.finish_reason,
        "model": p.model,
        "kind": p.kind,
    }
    if p.execution is not None:
        run: Execution = p.execution
        out["program"] = run.code
        out["stdout"] = run.stdout
        out["error"] = run.error
        out["status"] = run.status
        out["run_seconds"] = round(run.seconds, 4)
    if p.analog:
        out["analog"] = p.analog
        out["copied"] = list(p.copied)
    return out


def _sampling(sampling: SamplingState) -> SamplingLog:
    # The start time is the state's bookkeeping, not part of the account.
    out = sampling.copy()
    out.pop("started", None)
    return out


def build_trace(state: AgentState, config: GraphConfig, seconds: float) -> Trace:
    """A JSON-ready account of one run."""
    verdict = state.get("verdict")
    timings = dict(state.get("timings") or {})
    external = sum(timings.get(k, 0.0) for k in EXTERNAL)
    return {
        "config": config.name,
        "route": state.get("route") or {},
        "history_turns": len(state.get("history") or []) // 2,
        "principle": state.get("principle"),
        "retrieved": {
            "analogs": [{"id": a["id"], "score": a["score"]} for a in state.get("analogs") or []],
            "principles": [
                {"id": p["id"], "score": p["score"], "text": p["text"]}
                for p in state.get("principles") or []
            ],
        },
        "paths": [_path(p) for p in state.get("paths") or []],
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
        "sampling": _sampling(state.get("sampling") or {}),
        "verification": state.get("verification") or {},
        "memory": state.get("memory") or {},
        "usage": state.get("usage") or {},
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "seconds": round(seconds, 4),
        "overhead_share": round(max(0.0, seconds - external) / seconds, 4) if seconds else 0.0,
    }


def answer_program(trace: Trace, answer: str | None) -> tuple[str, str] | None:
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
