"""Wiring only: which nodes run, in which order, for a given configuration.

    start ─> route ─> [step_back] ─> [retrieve] ─> build_prompt ─> sample ─> aggregate ─> verify
          ─> [write_back] ─> respond

Bracketed nodes are left out of the graph when the configuration turns them off, so the
graph itself shows what a configuration does (``graph.get_graph().draw_mermaid()``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agent.config import GraphConfig
from agent.deps import AgentDeps
from agent.nodes.aggregate import aggregate
from agent.nodes.build_prompt import build_prompt
from agent.nodes.respond import respond
from agent.nodes.retrieve import retrieve
from agent.nodes.route import route
from agent.nodes.sample import sample
from agent.nodes.start import start
from agent.nodes.step_back import step_back
from agent.nodes.verify import verify
from agent.nodes.write_back import write_back
from agent.state import AgentState, InputState

Node = Callable[[AgentState, Runtime[AgentDeps]], dict[str, Any]]
"""A graph node: reads the state and the run's dependencies, returns the fields it sets."""


def build_graph(
    config: GraphConfig, *, checkpointer: BaseCheckpointSaver[str] | None = None
) -> CompiledStateGraph[AgentState, AgentDeps, InputState, AgentState]:
    """Compile the reasoning graph for one configuration (a fresh graph per call)."""
    steps: list[tuple[str, Node]] = [("start", start), ("route", route)]
    if config.step_back:
        steps.append(("step_back", step_back))
    if config.retrieval:
        steps.append(("retrieve", retrieve))
    steps += [
        ("build_prompt", build_prompt),
        ("sample", sample),
        ("aggregate", aggregate),
        ("verify", verify),
    ]
    if config.write_back:
        steps.append(("write_back", write_back))
    steps.append(("respond", respond))

    builder = StateGraph(AgentState, context_schema=AgentDeps, input_schema=InputState)
    previous = START
    for name, node in steps:
        # LangGraph's node protocols match runtime only as a keyword-only parameter.
        builder.add_node(name, node)  # type: ignore[call-overload]  # runtime is positional
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=checkpointer, name=f"reason-{config.name}")
