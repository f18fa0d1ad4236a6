"""aggregate: turn the paths into one verdict with the configured strategy."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.events import Voted
from agent.nodes._timing import timed
from agent.routing import routed
from agent.state import AgentState
from agent.strategies import get_strategy


@timed("aggregate")
def aggregate(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Vote over the paths (abstentions do not vote)."""
    cfg = routed(runtime.context.config, state.get("route"))
    paths = state.get("paths") or []
    verdict = get_strategy(cfg.vote.strategy)(paths, cfg.vote)
    runtime.stream_writer(
        Voted(verdict.answer, dict(verdict.votes), round(verdict.share, 4), verdict.n_paths)
    )
    return {"verdict": verdict}
