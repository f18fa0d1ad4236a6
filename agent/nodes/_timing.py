"""A decorator that times a node and reports its start and end on the custom stream."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.events import NodeEnd, NodeStart
from agent.state import AgentState

Node = Callable[[AgentState, Runtime[AgentDeps]], dict[str, Any]]


def timed(name: str) -> Callable[[Node], Node]:
    """Wrap a node: add its wall time to ``timings[name]`` and emit node_start/node_end."""

    def wrap(fn: Node) -> Node:
        @functools.wraps(fn)
        def node(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
            runtime.stream_writer(NodeStart(name))
            t0 = time.perf_counter()
            update = fn(state, runtime)
            seconds = time.perf_counter() - t0
            timings = dict(update.get("timings") or {})
            timings[name] = timings.get(name, 0.0) + seconds
            runtime.stream_writer(NodeEnd(name, round(seconds, 4)))
            return {**update, "timings": timings}

        return node

    return wrap
