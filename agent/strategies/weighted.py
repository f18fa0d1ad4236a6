"""Confidence-weighted vote: each path votes with ``confidence * weight``.

Paths carry the CoT-decoding answer confidence (``agent/confidence.py``) when the backend
returned log-probs. A path without one weighs, by ``cfg.missing_confidence``:

- ``"mean"`` (default): the mean confidence of the paths that have one. A path whose
  confidence is unknown is then neither silenced nor allowed to outvote confident paths,
  which full weight 1.0 would do since confidences are margins below 1. When no path has a
  confidence, every path weighs 1 and the vote is the plain majority.
- ``"zero"``: it does not vote.
- ``"one"``: full weight.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.paths import ReasoningPath, Verdict
from agent.strategies.config import VoteConfig
from agent.strategies.tally import tally, verdict_from

__all__ = ["aggregate", "path_weights"]

NAME = "weighted"


def path_weights(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> dict[int, float]:
    """Return each path's vote weight (path index -> confidence * per-model weight).

    Args:
        paths: The paths.
        cfg: Vote configuration; ``missing_confidence`` decides paths without confidence.

    Returns:
        The weight of every path, abstentions included.
    """
    known = [p.confidence for p in paths if p.confidence is not None and p.answer is not None]
    fill = {
        "mean": sum(known) / len(known) if known else 1.0,
        "zero": 0.0,
        "one": 1.0,
    }[cfg.missing_confidence]
    return {p.index: (p.confidence if p.confidence is not None else fill) * p.weight for p in paths}


def aggregate(paths: Sequence[ReasoningPath], cfg: VoteConfig) -> Verdict:
    """Return the answer with the largest summed confidence-times-weight.

    Args:
        paths: Paths in draw order.
        cfg: Vote configuration.

    Returns:
        The verdict; ``votes`` holds summed weights.
    """
    weights = path_weights(paths, cfg)
    buckets = tally(paths, lambda p: weights[p.index])
    return verdict_from(
        buckets, paths, NAME, details={"missing_confidence": cfg.missing_confidence}
    )
