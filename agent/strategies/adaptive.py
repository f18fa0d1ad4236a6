"""Adaptive sampling: stop drawing paths once the vote is decided.

Pure functions over an ordered list of draws, so the same code serves two callers: the
sampling node, which asks ``should_stop`` after each round of live draws, and the evaluation,
which calls ``replay`` on the fixed list of draws it already made for fixed-n voting; the
adaptive result is then derived from the very same samples.

Rules:

- ``"unbeatable"``: stop when no other answer (nor a new one) can overtake or tie-and-win
  against the leader with the draws left in the budget. The answer is then exactly the one
  a full fixed-n vote would give.
- ``"beta"``: Adaptive-Consistency (Aggarwal et al., 2023). With ``v1`` votes for the leader
  and ``v2`` for the runner-up, the leader's share among the two is ``p ~ Beta(v1+1, v2+1)``
  under a uniform prior; stop when ``P(p > 1/2) > threshold``. With more than two answers
  the paper approximates its Dirichlet stopping criterion by the top two, as done here.
  The Beta tail is scipy's regularized incomplete beta function.
- ``"never"``: use the whole budget.

Any rule can also *give up*: stop once ``give_up_after`` draws have all disagreed. Beta and
unbeatable rules spend the whole budget exactly where it helps least, on questions beyond the
model whose draws scatter over many answers; giving up answers those with the first draw.
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy.special import betainc

from agent.paths import ReasoningPath, Verdict
from agent.strategies.config import StopRule, VoteConfig
from agent.strategies.tally import Bucket, leader, runner_up, tally, verdict_from

__all__ = [
    "aggregate",
    "beta_leader_probability",
    "replay",
    "should_stop",
]

NAME = "adaptive"


def beta_leader_probability(v1: float, v2: float) -> float:
    """Return ``P(p > 1/2)`` for ``p ~ Beta(v1 + 1, v2 + 1)``: the leader is the true majority.

    Args:
        v1: Votes for the leader.
        v2: Votes for the runner-up (0 when there is none).

    Returns:
        The posterior probability, increasing in ``v1`` and decreasing in ``v2``.
    """
    # I_x(a, b), the regularized incomplete beta function, is Beta(a, b)'s CDF at x.
    return 1.0 - float(betainc(v1 + 1.0, v2 + 1.0, 0.5))


def _unbeatable(buckets: Sequence[Bucket], first: Bucket, remaining: int) -> bool:
    # A rival wins if it can pass the leader, or tie it while having been drawn first
    # (ties go to first occurrence). A brand-new answer would be drawn after the leader.
    if remaining >= first.weight:
        return False
    for rival in buckets:
        if rival is first:
            continue
        best = rival.weight + remaining
        drawn_first = rival.members[0].index < first.members[0].index
        if best > first.weight or (best == first.weight and drawn_first):
            return False
    return True


def should_stop(
    paths_so_far: Sequence[ReasoningPath],
    max_n: int,
    rule: StopRule,
    *,
    threshold: float = 0.95,
    min_n: int = 1,
    give_up_after: int | None = None,
) -> bool:
    """Decide whether to stop sampling after the paths drawn so far.

    Args:
        paths_so_far: Every path drawn so far, in draw order (abstentions included: they
            spend budget without voting).
        max_n: The sampling budget.
        rule: The stopping rule.
        threshold: Posterior probability needed by the "beta" rule.
        min_n: Never stop early before this many draws.
        give_up_after: Also stop when this many draws have all disagreed (None: never).

    Returns:
        True when the budget is spent or the rule says the vote is decided.
    """
    drawn = len(paths_so_far)
    if drawn >= max_n:
        return True
    if rule == "never" or drawn < min_n:
        return False
    buckets = tally(paths_so_far)
    first = leader(buckets)
    if first is None:
        return False
    if give_up_after is not None and drawn >= give_up_after and len(first.members) == 1:
        return True
    if rule == "unbeatable":
        return _unbeatable(buckets, first, max_n - drawn)
    second = runner_up(buckets)
    return beta_leader_probability(first.weight, second.weight if second else 0.0) > threshold


def replay(
    paths: Sequence[ReasoningPath],
    max_n: int,
    rule: StopRule,
    *,
    round_size: int = 1,
    threshold: float = 0.95,
    min_n: int = 1,
    give_up_after: int | None = None,
) -> Verdict:
    """Walk a fixed, ordered list of draws and vote where the stopping rule would have stopped.

    Args:
        paths: Draws in order; only the first ``max_n`` are ever used.
        max_n: The sampling budget.
        rule: The stopping rule.
        round_size: Draws per round; the rule is checked after each full round.
        threshold: Posterior probability needed by the "beta" rule.
        min_n: Never stop early before this many draws.
        give_up_after: Also stop when this many draws have all disagreed (None: never).

    Returns:
        The majority verdict over the draws used; ``n_paths`` is how many were used and
        ``stopped_early`` whether the rule stopped before the budget.
    """
    if round_size < 1:
        raise ValueError("round_size must be at least 1")
    limit = min(max_n, len(paths))
    used, early = limit, False
    for end in [*range(round_size, limit, round_size), limit]:
        if should_stop(
            paths[:end], max_n, rule, threshold=threshold, min_n=min_n, give_up_after=give_up_after
        ):
            used, early = end, end < max_n
            break
    window = paths[:used]
    buckets = tally(window)
    first, second = leader(buckets), runner_up(buckets)
    posterior = (
        beta_leader_probability(first.weight, second.weight if second else 0.0) if first else 0.0
    )
    details = {"rule": rule, "max_n": max_n, "round_size": round_size, "posterior": posterior}
    return verdict_from(buckets, window, NAME, stopped_early=early, details=details)


def aggregate(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> Verdict:
    """Replay the draws under the configured stopping rule and budget.

    Args:
        paths: Draws in order.
        cfg: Vote configuration (``n``, ``stop_rule``, ``beta_threshold``, ``round_size``,
            ``min_n``, ``give_up_after``).

    Returns:
        The verdict over the draws the rule would have used.
    """
    return replay(
        paths,
        cfg.n,
        cfg.stop_rule,
        round_size=cfg.round_size,
        threshold=cfg.beta_threshold,
        min_n=cfg.min_n,
        give_up_after=cfg.give_up_after,
    )
