"""Ensemble vote: pool paths sampled from several models, each model with its own weight.

A path's vote is ``cfg.model_weights[path.model]`` when the configuration names its model,
else ``path.weight`` (set when the path was built, see ``agent.paths.from_completion``). A
stronger model can so outvote a cheaper one without discarding the cheaper model's paths.
``details["by_model"]`` records each model's own vote counts for the trace.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.paths import ReasoningPath, Verdict
from agent.strategies.config import VoteConfig
from agent.strategies.tally import counts_by, tally, verdict_from

__all__ = ["aggregate", "model_weight"]

NAME = "ensemble"


def model_weight(path: ReasoningPath, cfg: VoteConfig) -> float:
    """Return the vote weight of a path's model."""
    return cfg.model_weights.get(path.model, path.weight)


def aggregate(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> Verdict:
    """Return the answer with the largest summed per-model weight.

    Args:
        paths: Paths from every model, in draw order.
        cfg: Vote configuration; ``model_weights`` overrides per-path weights.

    Returns:
        The verdict; ``votes`` holds summed weights, ``details["by_model"]`` the count of
        each answer per model.
    """
    buckets = tally(paths, lambda p: model_weight(p, cfg))
    by_model = counts_by(buckets, lambda p: p.model)
    return verdict_from(buckets, paths, NAME, details={"by_model": by_model})
