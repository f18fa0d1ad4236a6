"""build_prompt: principles + worked analogs + earlier turns + the question."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.analogs import program_prompts, prose_analogs
from agent.deps import AgentDeps
from agent.focus import focus
from agent.nodes._timing import timed
from agent.prompts import build_messages
from agent.routing import routed, task_of
from agent.state import AgentState


@timed("build_prompt")
def build_prompt(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Assemble the sampling prompts; with nothing recalled, use the configured fallback.

    Prose paths are shown the recalled analogs solved in prose; program paths get their own
    prompts (``program_prompts``), whose worked examples are the analogs with a stored
    program: one prompt per analog when ``rotate_analogs`` is on.
    """
    cfg = routed(runtime.context.config, state.get("route"))
    task = task_of(cfg, state.get("route"))
    recalled = state.get("analogs") or []
    history = state.get("history") or []
    analogs = prose_analogs(recalled)
    style = cfg.prompt
    # A recalled fact list shows only the facts about this question's things (agent/focus.py).
    principles = [focus(p["text"], state["question"]) for p in state.get("principles") or []]
    if cfg.retrieval and not analogs and style == "cot":
        style = cfg.empty_memory_prompt
    messages = build_messages(
        state["question"],
        style=style,
        task=task,
        principle=state.get("principle"),
        principles=principles,
        analogs=analogs,
        history=history,
    )
    programs = []
    if cfg.paths != "prose":
        programs = program_prompts(
            state["question"],
            task=task,
            analogs=recalled,
            history=history,
            rotate=cfg.rotate_analogs,
            principles=principles,
        )
    return {"prompt": messages, "program_prompts": programs}
