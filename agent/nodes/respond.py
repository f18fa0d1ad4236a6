"""respond: the answer shown to the user, and the turn appended to the thread's history."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.deps import AgentDeps
from agent.nodes._timing import timed
from agent.numeric import shown
from agent.state import AgentState

NO_ANSWER = "I could not find a confident answer to this question."


@timed("respond")
def respond(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Phrase the final answer; remember the turn for follow-up questions."""
    verdict = state.get("verdict")
    ev = state.get("verification") or {}
    answer = ev.get("answer", verdict.answer if verdict else None)
    # The text is rounded as the question asks; ``answer`` stays the voted canonical value.
    content = shown(answer, state["question"]) if answer is not None else NO_ANSWER
    return {
        "answer": answer,
        "content": content,
        "history": [
            {"role": "user", "content": state["question"]},
            {"role": "assistant", "content": content},
        ],
    }
