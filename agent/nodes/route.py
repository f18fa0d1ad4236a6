"""route: the question's answer kind and the paths drawn for it (``agent/routing.py``)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.nodes._timing import timed
from agent.routing import decide_route
from agent.state import AgentState


@timed("route")
def route(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Decide the route once; later nodes read ``routed(config, state["route"])``."""
    return {"route": decide_route(runtime.context.config, state["question"])}
