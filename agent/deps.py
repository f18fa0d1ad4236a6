"""Objects the nodes use, passed to the graph as its runtime context (never built inside)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.backends.base import Backend
from agent.config import GraphConfig
from agent.sandbox import Sandbox

if TYPE_CHECKING:
    from memory import MemoryInterface, WriteBackThresholds


@dataclass(frozen=True)
class AgentDeps:
    """The backend, memory and configuration one graph run works with.

    Attributes:
        backend: The main model.
        config: Which techniques are on, and the budgets.
        memory: The memory store, or None to run without memory.
        thresholds: The write-back policy's thresholds (from the memory settings).
        ensemble: Extra backends by model name, for multi-model ensembles.
        max_question_chars: Longer questions are refused.
        source: Recorded with written-back paths (e.g. "api", "batch", "learn:seed=3").
        sandbox: Runs the programs of program paths (None: configurations without them).
        later: Takes work that can wait until the answer is out (write-back's confirmation
            draws; the job returns what memory did); None: such work runs in the graph.
    """

    backend: Backend
    config: GraphConfig
    memory: MemoryInterface | None = None
    thresholds: WriteBackThresholds | None = None
    ensemble: dict[str, Backend] = field(default_factory=dict)
    max_question_chars: int = 8000
    source: str = "agent"
    sandbox: Sandbox | None = None
    later: Callable[[Callable[[], dict[str, Any]]], None] | None = None
