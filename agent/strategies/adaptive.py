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
  The Beta tail is computed without scipy: an exact binomial sum for integer counts and a
  continued fraction (Numerical Recipes' ``betacf``) otherwise.
- ``"never"``: use the whole budget.

Any rule can also *give up*: stop once ``give_up_after`` draws have all disagreed. Beta and
unbeatable rules spend the whole budget exactly where it helps least, on questions beyond the
model whose draws scatter over many answers; giving up answers those with the first draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from agent.paths import ReasoningPath, Verdict
from agent.strategies.config import StopRule, VoteConfig
from agent.strategies.tally import Bucket, leader, runner_up, tally, verdict_from

__all__ = [
    "aggregate",
    "beta_leader_probability",
    "regularized_beta",
    "replay",
    "should_stop",
]

NAME = "adaptive"


def regularized_beta(x: float, a: float, b: float) -> float:
    """Return the regularized incomplete beta function ``I_x(a, b)``.

    Args:
        x: Upper integration limit in [0, 1].
        a: First shape parameter (> 0).
        b: Second shape parameter (> 0).

    Returns:
        ``P(X <= x)`` for ``X ~ Beta(a, b)``.
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if float(a).is_integer() and float(b).is_integer() and a + b < 2000:
        # I_x(a, b) = P(Binomial(a+b-1, x) >= a), exact in rationals.
        n, k = int(a + b - 1), int(a)
        q = Fraction(x)
        total = sum(math.comb(n, j) * q**j * (1 - q) ** (n - j) for j in range(k, n + 1))
        return float(total)
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The continued fraction converges fast for x < (a+1)/(a+b+2); use symmetry otherwise.
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_cf(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_cf(1.0 - x, b, a) / b


def _beta_cf(x: float, a: float, b: float, *, max_iter: int = 300, eps: float = 3e-16) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def beta_leader_probability(v1: float, v2: float) -> float:
    """Return ``P(p > 1/2)`` for ``p ~ Beta(v1 + 1, v2 + 1)``: the leader is the true majority.

    Args:
        v1: Votes for the leader.
        v2: Votes for the runner-up (0 when there is none).

    Returns:
        The posterior probability, increasing in ``v1`` and decreasing in ``v2``.
    """
    return 1.0 - regularized_beta(0.5, v1 + 1.0, v2 + 1.0)


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
