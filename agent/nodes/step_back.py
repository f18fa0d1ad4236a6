"""step_back: ask the model which principle the question needs (one short greedy call)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.events import PrincipleFound
from agent.nodes._timing import timed
from agent.prompts import STEP_BACK_PROMPT
from agent.state import AgentState

MAX_PRINCIPLE_TOKENS = 64


@timed("step_back")
def step_back(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Name the principle behind the question; it guides retrieval and the prompt."""
    backend = runtime.context.backend
    t0 = time.perf_counter()
    (c,) = backend.generate(
        [{"role": "user", "content": STEP_BACK_PROMPT.format(question=state["question"])}],
        n=1,
        temperature=0.0,
        max_tokens=MAX_PRINCIPLE_TOKENS,
        stop=["\n\n"],
    )
    model_s = time.perf_counter() - t0
    principle = " ".join(c.text.split()) or None
    runtime.stream_writer(PrincipleFound(principle))
    usage = dict(state.get("usage") or {})
    usage["prompt_tokens"] = usage.get("prompt_tokens", 0) + c.prompt_tokens
    usage["completion_tokens"] = usage.get("completion_tokens", 0) + c.completion_tokens
    return {"principle": principle, "usage": usage, "timings": {"model": model_s}}
