"""A decorator that times a node, reports its start and end on the custom stream and, when
tracing is on, wraps it in a span (``node <name>``) whose attributes are what it returned."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime

from agent import telemetry
from agent.deps import AgentDeps
from agent.events import NodeEnd, NodeStart
from agent.state import AgentState

Node = Callable[[AgentState, Runtime[AgentDeps]], dict[str, Any]]


def timed(name: str) -> Callable[[Node], Node]:
    """Wrap a node: add its wall time to ``timings[name]``, emit node_start/node_end, and
    trace it as a child of the request's span (``agent/telemetry.py``; nothing when off)."""

    def wrap(fn: Node) -> Node:
        @functools.wraps(fn)
        def node(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
            runtime.stream_writer(NodeStart(name))
            t0 = time.perf_counter()
            with telemetry.span(f"node {name}", **{"reason.node": name}) as span:
                update = fn(state, runtime)
                if span is not None:
                    span.set_attributes(telemetry.node_attributes(update))
            seconds = time.perf_counter() - t0
            timings = dict(update.get("timings") or {})
            timings[name] = timings.get(name, 0.0) + seconds
            runtime.stream_writer(NodeEnd(name, round(seconds, 4)))
            return {**update, "timings": timings}

        return node

    return wrap
