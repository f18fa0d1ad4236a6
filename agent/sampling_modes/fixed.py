"""Fixed sampling: the budget of prose paths in one batched call (``sc@8``, ``cot``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.sampling_modes.think_first import answered_first

if TYPE_CHECKING:
    from agent.sampling import Sampler


def sample(sampler: Sampler) -> None:
    """Draw the paths the budget has left (after a think-first path) with seeds continuing
    the drawn ones; an ensemble splits them, the main model keeping the larger share."""
    if answered_first(sampler):
        return
    remaining = sampler.config.n - len(sampler.draws.paths)
    if remaining <= 0 or sampler.past_deadline():
        return
    extras = list(sampler.config.ensemble.items())
    shares = {name: remaining // (len(extras) + 1) for name, _ in extras}
    main = remaining - sum(shares.values())
    sampler.draw_prose(sampler.backend, main, len(sampler.draws.paths))
    for name, weight in extras:
        if shares[name] and not sampler.past_deadline():
            sampler.draw_prose(
                sampler.ensemble[name], shares[name], len(sampler.draws.paths), weight
            )
