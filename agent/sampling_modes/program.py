"""Program sampling: the budget as Python programs the sandbox runs (``pot``, ``pot-sc@8``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.sampling import Sampler


def sample(sampler: Sampler) -> None:
    """Draw ``n`` programs (seeds from ``seed``; one prompt per analog: round robin)."""
    sampler.draw_programs(sampler.config.n)
