"""Mixed vote: program paths and prose paths pooled in one vote, each kind with its weight.

A program the sandbox ran and a chain of thought reach an answer by different routes (code
executed by Python, arithmetic written by the model), so their agreement is stronger
evidence than two paths of one kind agreeing: ``details["independent"]`` says whether the
winner is backed by both kinds, and verification, early stopping and the write-back policy
use it. ``cfg.kind_weights`` gives each kind its vote weight (missing kinds weigh 1.0); the
representative path is the winner's first prose path (a reader follows prose more easily;
the program is in the trace), else its first program.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.paths import ReasoningPath, Verdict
from agent.strategies.config import VoteConfig
from agent.strategies.tally import counts_by, leader, tally, verdict_from

__all__ = ["aggregate", "independent_agreement", "kind_weight"]

NAME = "mixed"


def kind_weight(path: ReasoningPath, cfg: VoteConfig) -> float:
    """Return the vote weight of a path's kind."""
    return cfg.kind_weights.get(path.kind, 1.0)


def independent_agreement(members: Sequence[ReasoningPath]) -> bool:
    """Whether an answer is backed by at least one program and one prose path."""
    kinds = {p.kind for p in members if p.answer is not None}
    return {"program", "prose"} <= kinds


def aggregate(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> Verdict:
    """Return the answer with the largest summed kind weight.

    Args:
        paths: Programs and prose paths in draw order.
        cfg: Vote configuration (``kind_weights``).

    Returns:
        The verdict; ``details`` holds each kind's vote counts (``by_kind``) and whether the
        winner is backed by both kinds (``independent``).
    """
    buckets = tally(paths, lambda p: kind_weight(p, cfg))
    winner = leader(buckets)
    chosen = None
    if winner is not None:
        prose = [p for p in winner.members if p.kind == "prose"]
        chosen = (prose or list(winner.members))[0].index
    details = {
        "by_kind": counts_by(buckets, lambda p: p.kind),
        "independent": bool(winner and independent_agreement(winner.members)),
    }
    return verdict_from(buckets, paths, NAME, chosen=chosen, details=details)
