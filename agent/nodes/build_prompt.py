"""build_prompt: principles + worked analogs + earlier turns + the question."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.nodes._timing import timed
from agent.prompts import build_messages, build_program_messages
from agent.state import AgentState


@timed("build_prompt")
def build_prompt(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Assemble the sampling prompts; with nothing recalled, use the configured fallback.

    Program paths get their own prompt (``program_prompt``) when the configuration draws any;
    its worked examples are the recalled analogs that have a stored program.
    """
    cfg = runtime.context.config
    analogs = state.get("analogs") or []
    style = cfg.prompt
    if cfg.retrieval and not analogs and style == "cot":
        style = cfg.empty_memory_prompt
    messages = build_messages(
        state["question"],
        style=style,
        task=cfg.task,
        principle=state.get("principle"),
        principles=[p["text"] for p in state.get("principles") or []],
        analogs=analogs,
        history=state.get("history") or [],
    )
    programs = []
    if cfg.paths != "prose":
        programs = build_program_messages(
            state["question"], task=cfg.task, analogs=analogs, history=state.get("history") or []
        )
    return {"prompt": messages, "program_prompt": programs}
