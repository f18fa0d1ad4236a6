"""start: validate the question and clear the previous question's per-turn state."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.errors import InvalidRequest
from agent.state import AgentState


def start(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Refuse empty or oversized questions; reset per-question fields."""
    question = state.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InvalidRequest("the question is empty")
    limit = runtime.context.max_question_chars
    if len(question) > limit:
        raise InvalidRequest(f"the question has {len(question)} characters; the limit is {limit}")
    return {
        "question": question.strip(),
        "principle": None,
        "analogs": [],
        "principles": [],
        "prompt": [],
        "program_prompts": [],
        "paths": [],
        "sampling": {"started": time.monotonic()},
        "verdict": None,
        "verification": {},
        "memory": {},
        "usage": {"prompt_tokens": 0, "completion_tokens": 0},
        "timings": None,  # resets the reducer
        "answer": None,
        "content": "",
    }
