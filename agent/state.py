"""The graph's state: what a question carries from node to node.

``InputState`` is the public surface (what a caller passes in); ``AgentState`` adds what the
nodes produce. Per-question fields are overwritten by the node that owns them; the ``start``
node clears them, so a thread's next question never sees the previous question's paths.
``history`` and ``timings`` have reducers because several nodes (or turns) add to them.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from agent.analogs import ProgramPrompt
from agent.backends.base import Message
from agent.paths import ReasoningPath, Verdict
from agent.trace_parts import MemoryLog, Route, SamplingState, Verification


def merge_timings(old: dict[str, float] | None, new: dict[str, float] | None) -> dict[str, float]:
    """Add per-node seconds; ``None`` resets (the start of a new question)."""
    if new is None:
        return {}
    merged = dict(old or {})
    for key, value in new.items():
        merged[key] = merged.get(key, 0.0) + value
    return merged


class InputState(TypedDict, total=False):
    """What a caller passes to the graph."""

    question: str
    """The user's question (the last user message)."""
    ground_truth: str | None
    """The known right answer, when the caller has one (labelled batch, learning)."""
    history: Annotated[list[Message], operator.add]
    """Earlier turns as chat messages: kept by the checkpointer in a thread, or passed in."""


class AgentState(InputState, total=False):
    """Everything the nodes know about the current question."""

    route: Route
    """The question's answer kind and the paths drawn for it (``agent/routing.py``)."""
    principle: str | None
    """The principle the step-back call named, or None when step-back is off."""
    analogs: list[dict[str, Any]]
    """Recalled solved problems: id, question, answer, path, score."""
    principles: list[dict[str, Any]]
    """Recalled principles: id, text, score."""
    prompt: list[Message]
    """The chat messages sent to the model for sampling (prose paths)."""
    program_prompts: list[ProgramPrompt]
    """The prompts program paths are drawn from, one per shown analog (empty: no programs)."""
    paths: list[ReasoningPath]
    """Every sampled path, in draw order."""
    sampling: SamplingState
    """How sampling went: rounds, early stop, think-on-demand decision, deadline."""
    verdict: Verdict | None
    """The aggregated answer."""
    verification: Verification
    """Evidence about the verdict and whether it counts as verified."""
    memory: MemoryLog
    """What the write-back policy did with the answer."""
    usage: dict[str, int]
    """Prompt and completion tokens spent on this question, all model calls together."""
    timings: Annotated[dict[str, float], merge_timings]
    """Seconds per node for this question."""
    answer: str | None
    """The final answer (None when no confident answer was found)."""
    content: str
    """The message shown to the user."""
