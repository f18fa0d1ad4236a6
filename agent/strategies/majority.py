"""Self-consistency: a plain majority vote over the paths' canonical answers.

Wang et al. (2023), "Self-Consistency Improves Chain of Thought Reasoning in Language
Models": sample several reasoning paths and answer with the most frequent final answer.
Abstaining paths do not vote; a tie goes to the answer drawn first.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.paths import ReasoningPath, Verdict
from agent.strategies.config import VoteConfig
from agent.strategies.tally import tally, verdict_from

__all__ = ["aggregate"]

NAME = "majority"


def aggregate(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> Verdict:
    """Return the most frequent answer among the paths.

    Args:
        paths: Paths in draw order.
        cfg: Vote configuration (unused by the plain vote; part of the common signature).

    Returns:
        The verdict; ``votes`` holds counts.
    """
    del cfg  # the plain vote has no knobs
    return verdict_from(tally(paths), paths, NAME)
