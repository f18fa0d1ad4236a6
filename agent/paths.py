"""Reasoning paths and verdicts: the values that flow from sampling to aggregation.

A ``ReasoningPath`` is one sampled completion with its extracted final answer. Strategies in
``agent/strategies`` turn a sequence of paths into one ``Verdict``. Both are plain frozen
dataclasses so that they can sit in LangGraph state, be compared in tests and be stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agent.backends.base import Completion, FinishReason
from agent.confidence import answer_confidence
from agent.extract import Extracted

if TYPE_CHECKING:
    from agent.programs import Execution

__all__ = ["Extractor", "PathKind", "ReasoningPath", "Verdict", "from_completion"]

PathKind = Literal["prose", "program"]
"""prose: a chain of thought with a final answer; program: Python the sandbox ran."""

Extractor = Callable[[str], Extracted | None]
"""Turns a reasoning text into its final answer, or None to abstain (see agent/extract.py)."""


@dataclass(frozen=True)
class ReasoningPath:
    """One sampled reasoning path and its final answer.

    Attributes:
        index: Draw order (0 = first sample). Votes count paths in list order, which is
            draw order (ties go to the lower index) except in the views plan's plan order.
        text: The full reasoning text the model produced.
        answer: Canonical answer string, or None when the path abstains (no answer found).
        raw_answer: The answer as written in the text, before normalisation.
        confidence: Answer confidence in [0, 1] (CoT-decoding margin), None when unknown.
        seed: The sampling seed, for reproducing the draw.
        completion_tokens: Tokens the path cost.
        finish_reason: "length" means the path was cut off by the token cap.
        model: Name of the model that produced the path (ensembles pool several).
        weight: Per-model vote weight; 1.0 unless an ensemble says otherwise.
        answer_span: Character span of ``raw_answer`` in ``text``, when known.
        kind: ``prose`` or ``program`` (see ``agent/programs.py``).
        execution: For a program path, its code and what running it gave.
        analog: Id of the recalled analog the path's prompt showed, None when none.
        copied: Numbers the path took from that analog's question and not from its own.
    """

    index: int
    text: str
    answer: str | None
    raw_answer: str | None = None
    confidence: float | None = None
    seed: int | None = None
    completion_tokens: int = 0
    finish_reason: FinishReason = "stop"
    model: str = ""
    weight: float = 1.0
    answer_span: tuple[int, int] | None = None
    kind: PathKind = "prose"
    execution: Execution | None = None
    analog: str | None = None
    copied: tuple[str, ...] = ()

    @property
    def abstained(self) -> bool:
        """True when no final answer could be extracted from the path."""
        return self.answer is None


def from_completion(
    c: Completion,
    index: int,
    extractor: Extractor,
    *,
    weight: float = 1.0,
    model: str | None = None,
    confidence: float | None = None,
) -> ReasoningPath:
    """Build a path from a backend completion.

    The answer confidence is computed from the completion's token log-probs over the
    answer's span unless ``confidence`` is given; it stays None without log-probs.

    Args:
        c: The completion returned by a backend.
        index: Draw order of this completion among its siblings.
        extractor: Final-answer extractor, e.g. ``functools.partial(extract_answer, kind=...)``.
        weight: Vote weight of the model that produced it.
        model: Model name; defaults to ``c.model``.
        confidence: An externally computed confidence that overrides the log-prob one.

    Returns:
        The reasoning path; ``answer`` is None when the extractor abstains.
    """
    found = extractor(c.text)
    if confidence is None and found is not None and found.span is not None:
        confidence = answer_confidence(c.logprobs, c.text, found.span)
    return ReasoningPath(
        index=index,
        text=c.text,
        answer=found.canonical if found else None,
        raw_answer=found.raw if found else None,
        confidence=confidence,
        seed=c.seed,
        completion_tokens=c.completion_tokens,
        finish_reason=c.finish_reason,
        model=c.model if model is None else model,
        weight=weight,
        answer_span=found.span if found else None,
    )


@dataclass(frozen=True)
class Verdict:
    """The aggregated answer over a set of paths, and how it was reached.

    Attributes:
        answer: The winning answer (the first-seen spelling of its bucket), or None when
            every path abstained.
        share: Winner's vote weight divided by all voting weight (0.0 when nobody voted).
        votes: Answer -> vote weight (a count for plain majority), in first-seen order.
        agreeing: Indices of the paths whose answer equals the winner.
        n_paths: Number of paths the strategy looked at (after adaptive stopping).
        abstentions: Paths among those that had no answer.
        strategy: Registry name of the strategy that produced the verdict.
        stopped_early: True when adaptive sampling stopped before its budget.
        chosen: Index of the representative path to show (highest confidence among the
            agreeing paths, the medoid for USC), or None.
        details: Strategy-specific extras (posterior probability, clusters, fallbacks).
    """

    answer: str | None
    share: float
    votes: dict[str, float]
    agreeing: tuple[int, ...]
    n_paths: int
    abstentions: int
    strategy: str
    stopped_early: bool = False
    chosen: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n_votes(self) -> int:
        """Number of paths that produced an answer (and so took part in the vote)."""
        return self.n_paths - self.abstentions
