"""Mixed sampling: prose paths and programs pooled in one vote (``mixed@8``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.sampling import Sampler


def sample(sampler: Sampler) -> None:
    """Half the budget as sampled prose paths (``sc@8``'s first draws), the rest as programs
    (``pot-sc@8``'s first draws): each kind counts its own seeds."""
    budget = sampler.config.n
    prose = budget // 2
    if prose:
        sampler.draw_prose(sampler.backend, prose, 0)
    if budget - prose and not sampler.past_deadline():
        sampler.draw_programs(budget - prose)
