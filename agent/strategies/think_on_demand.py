"""Think on demand: answer from the first path when it is trustworthy, else sample more.

Most questions an assistant gets are easy, and one confident path is enough; paying for n
paths on each of them wastes the budget that hard questions need. The decision uses only
signals that cost no model call: whether the first path has an answer and finished, its
answer confidence (CoT-decoding margin, ``agent/confidence.py``), and its arithmetic checks
(``agent/checks.py``). This is a decision helper for the graph's routing, not a vote.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.checks import CheckReport
from agent.paths import ReasoningPath
from agent.strategies.config import VoteConfig

__all__ = ["ThinkDecision", "decide"]


@dataclass(frozen=True)
class ThinkDecision:
    """Whether to answer now, and why (the reason goes into the trace).

    Attributes:
        answer_now: True to answer with the first path; False to sample more paths.
        reason: One short phrase explaining the decision.
        confidence: The confidence the decision used, when known.
    """

    answer_now: bool
    reason: str
    confidence: float | None = None


def decide(
    first: ReasoningPath,
    cfg: VoteConfig,
    *,
    confidence: float | None = None,
    checks: CheckReport | None = None,
) -> ThinkDecision:
    """Decide whether the first path can be answered at once.

    The first path must have an answer, must not have been cut off by the token cap, must
    pass its arithmetic checks (when ``cfg.think_require_checks``) and must be at least
    ``cfg.think_threshold`` confident. Unknown confidence means "think more", unless the
    threshold is 0, since a backend without log-probs gives no evidence either way.

    Args:
        first: The first sampled path.
        cfg: Vote configuration (``think_threshold``, ``think_require_checks``).
        confidence: Overrides ``first.confidence`` (e.g. a verifier's score).
        checks: The path's arithmetic check report, when computed.

    Returns:
        The decision and its reason.
    """
    conf = first.confidence if confidence is None else confidence
    if first.answer is None:
        return ThinkDecision(False, "no answer in the first path", conf)
    if first.finish_reason == "length":
        return ThinkDecision(False, "first path was cut off by the token cap", conf)
    if cfg.think_require_checks and checks is not None and not checks.ok:
        return ThinkDecision(False, f"{len(checks.failed)} arithmetic claim(s) failed", conf)
    if cfg.think_threshold <= 0.0:
        return ThinkDecision(True, "no confidence required", conf)
    if conf is None:
        return ThinkDecision(False, "confidence unknown", conf)
    if conf >= cfg.think_threshold:
        return ThinkDecision(True, f"confidence {conf:.2f} >= {cfg.think_threshold:.2f}", conf)
    return ThinkDecision(False, f"confidence {conf:.2f} < {cfg.think_threshold:.2f}", conf)
