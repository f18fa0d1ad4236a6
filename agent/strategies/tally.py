"""Shared vote counting: bucket equivalent answers, weigh them, pick the leader.

Every voting strategy differs only in the weight a path brings to its answer's bucket, so the
bucketing, the first-occurrence tie-break and the ``Verdict`` construction live here once
(the shape of search-and-learn's ``find_majority_answer`` plus ``aggregate_scores``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.extract import canonical_key, same_answer
from agent.paths import ReasoningPath, Verdict

__all__ = ["Bucket", "counts_by", "leader", "runner_up", "tally", "verdict_from"]

WeightFn = Callable[[ReasoningPath], float]


@dataclass
class Bucket:
    """Paths whose answers are equivalent.

    Attributes:
        answer: The answer as the first path in the bucket spelled it.
        key: Its canonical key (see ``agent.extract.canonical_key``).
        members: The paths, in draw order.
        weight: Sum of the members' vote weights.
    """

    answer: str
    key: str
    members: list[ReasoningPath] = field(default_factory=list)
    weight: float = 0.0


def tally(paths: Sequence[ReasoningPath], weight: WeightFn | None = None) -> list[Bucket]:
    """Group the paths' answers into buckets of equivalent answers, in first-seen order.

    Abstaining paths (answer None) are left out. Equal keys match at once; different keys
    are compared with ``same_answer`` against each bucket's first answer: numbers within
    tolerance (float noise, rounded decimals: ``agent/numeric.py``), expressions through
    math-verify.

    Args:
        paths: Paths in draw order.
        weight: Vote weight of one path; 1 per path when omitted.

    Returns:
        The buckets in the order their first member was drawn.
    """
    buckets: list[Bucket] = []
    by_key: dict[str, Bucket] = {}
    for path in paths:
        if path.answer is None:
            continue
        key = canonical_key(path.answer)
        bucket = by_key.get(key)
        if bucket is None:
            bucket = next((b for b in buckets if same_answer(b.key, key)), None)
            if bucket is None:
                bucket = Bucket(answer=path.answer, key=key)
                buckets.append(bucket)
            by_key[key] = bucket
        bucket.members.append(path)
        bucket.weight += 1.0 if weight is None else weight(path)
    return buckets


def leader(buckets: Sequence[Bucket]) -> Bucket | None:
    """Return the heaviest bucket; on a tie, the one seen first."""
    best: Bucket | None = None
    for bucket in buckets:
        if best is None or bucket.weight > best.weight:  # strict: earlier bucket keeps a tie
            best = bucket
    return best


def runner_up(buckets: Sequence[Bucket]) -> Bucket | None:
    """Return the heaviest bucket other than the leader, or None when there is only one."""
    first = leader(buckets)
    return leader([b for b in buckets if b is not first])


def counts_by(
    buckets: Sequence[Bucket], group: Callable[[ReasoningPath], str]
) -> dict[str, dict[str, int]]:
    """How many paths of each group (a model, a path kind) voted for each answer."""
    out: dict[str, dict[str, int]] = {}
    for bucket in buckets:
        for p in bucket.members:
            counts = out.setdefault(group(p), {})
            counts[bucket.answer] = counts.get(bucket.answer, 0) + 1
    return out


def _representative(members: Sequence[ReasoningPath]) -> ReasoningPath:
    # Show the most confident agreeing path; without confidences (or on a tie), the first
    # listed: the first drawn, except in the views plan, which lists its paths in plan order.
    return max(members, key=lambda p: p.confidence if p.confidence is not None else -1.0)


def verdict_from(
    buckets: Sequence[Bucket],
    paths: Sequence[ReasoningPath],
    strategy: str,
    *,
    winner: Bucket | None = None,
    chosen: int | None = None,
    stopped_early: bool = False,
    details: dict[str, Any] | None = None,
) -> Verdict:
    """Build the verdict for a finished vote.

    Args:
        buckets: The tally.
        paths: Every path considered, abstentions included.
        strategy: Registry name to record.
        winner: The winning bucket; the ``leader`` when omitted.
        chosen: Index of the path to show; the winner's most confident member when omitted.
        stopped_early: Whether adaptive sampling stopped before its budget.
        details: Strategy-specific extras.

    Returns:
        The verdict; its answer is None when every path abstained.
    """
    winner = winner if winner is not None else leader(buckets)
    total = sum(b.weight for b in buckets)
    if winner is not None and chosen is None:
        chosen = _representative(winner.members).index
    return Verdict(
        answer=winner.answer if winner else None,
        share=winner.weight / total if winner and total > 0 else 0.0,
        votes={b.answer: b.weight for b in buckets},
        agreeing=tuple(p.index for p in winner.members) if winner else (),
        n_paths=len(paths),
        abstentions=sum(1 for p in paths if p.answer is None),
        strategy=strategy,
        stopped_early=stopped_early,
        chosen=chosen,
        details=details or {},
    )
