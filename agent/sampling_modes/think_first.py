"""Think first: one prose path, and answer at once when it looks sure (prose modes only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.checks import check_arithmetic
from agent.strategies import decide

if TYPE_CHECKING:
    from agent.sampling import Sampler


def answered_first(sampler: Sampler) -> bool:
    """With ``think_first``, draw the first path (seed ``seed + 0``) and decide on it; True
    when it answers (or the budget is one path), so the mode draws nothing more."""
    cfg = sampler.config
    if not cfg.think_first:
        return False
    sampler.draw_prose(sampler.backend, 1, 0)
    first = sampler.draws.paths[0]
    decision = decide(first, cfg.vote, checks=check_arithmetic(first.text))
    sampler.draws.log["think"] = {"answer_now": decision.answer_now, "reason": decision.reason}
    return decision.answer_now or cfg.n == 1
