"""Aggregation of CoT-decoding branches by summed answer confidence.

Wang & Zhou (2024), "Chain-of-Thought Reasoning Without Prompting": branch on the top-k
first tokens, decode each branch greedily, and score each branch by its answer confidence
(mean top-1/top-2 margin on the answer tokens). Their aggregated variant sums the confidence
of all branches that reach the same answer, which is what this strategy does.

A branch without a confidence adds nothing. When no branch has one (the backend returned no
log-probs) the strategy falls back to counting branches, and says so in ``details``.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.paths import ReasoningPath, Verdict
from agent.strategies.config import VoteConfig
from agent.strategies.tally import tally, verdict_from

__all__ = ["aggregate"]

NAME = "cot_decoding"


def aggregate(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> Verdict:
    """Return the answer with the highest summed confidence over the branches.

    Args:
        paths: Branches in branch order (branch 0 = the greedy path).
        cfg: Vote configuration (no knobs used).

    Returns:
        The verdict; ``votes`` holds summed confidences.
    """
    del cfg
    if not any(p.confidence is not None for p in paths if p.answer is not None):
        return verdict_from(tally(paths), paths, NAME, details={"fallback": "count"})
    buckets = tally(paths, lambda p: p.confidence or 0.0)
    return verdict_from(buckets, paths, NAME)
