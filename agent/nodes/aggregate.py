"""aggregate: turn the paths into one verdict with the configured strategy."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.nodes._timing import timed
from agent.state import AgentState
from agent.strategies import get_strategy


@timed("aggregate")
def aggregate(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Vote over the paths (abstentions do not vote)."""
    cfg = runtime.context.config
    paths = state.get("paths") or []
    verdict = get_strategy(cfg.vote.strategy)(paths, cfg.vote)
    runtime.stream_writer(
        {
            "type": "vote",
            "answer": verdict.answer,
            "votes": verdict.votes,
            "share": verdict.share,
            "paths": verdict.n_paths,
        }
    )
    return {"verdict": verdict}
