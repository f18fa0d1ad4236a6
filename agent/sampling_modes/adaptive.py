"""Adaptive sampling: prose paths in rounds until the vote is decided (``adaptive@8``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.sampling_modes.think_first import answered_first
from agent.strategies.adaptive import should_stop

if TYPE_CHECKING:
    from agent.sampling import Sampler


def sample(sampler: Sampler) -> None:
    """Draw ``min_n`` paths (less what is drawn), then ``round_size`` at a time, until the
    stop rule says the leader stands or the budget is spent; seeds continue the drawn ones."""
    if answered_first(sampler):
        return
    budget = sampler.config.n
    vote = sampler.config.vote
    paths = sampler.draws.paths
    rounds = 0
    while not should_stop(
        paths,
        budget,
        vote.stop_rule,
        threshold=vote.beta_threshold,
        min_n=vote.min_n,
        give_up_after=vote.give_up_after,
    ):
        if sampler.past_deadline():
            break
        drawn = len(paths)
        size = max(vote.min_n - drawn, vote.round_size) if rounds == 0 else vote.round_size
        sampler.draw_prose(sampler.backend, min(size, budget - drawn), drawn)
        rounds += 1
    sampler.draws.log["rounds"] = rounds
    sampler.draws.log["stopped_early"] = len(paths) < budget
