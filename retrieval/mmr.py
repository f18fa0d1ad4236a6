"""Maximal marginal relevance: choose k results that are relevant and unlike each other."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)


def mmr_select(
    query: NDArray[np.float32],
    candidates: NDArray[np.float32],
    k: int,
    *,
    lambda_: float = 0.7,
    dedup_cosine: float = 1.01,
) -> list[int]:
    """Pick up to k candidate positions by maximal marginal relevance.

    Each step takes the candidate maximising
    ``lambda_ * sim(query, c) - (1 - lambda_) * max(sim(c, chosen))``
    (Carbonell and Goldstein, 1998). Candidates at least ``dedup_cosine`` similar to an
    already chosen one are never taken, so near-copies cannot fill the k slots.

    Args:
        query: Normalised query vector, shape ``(dim,)``.
        candidates: Normalised candidate vectors, shape ``(n, dim)``.
        k: How many to choose.
        lambda_: 1.0 ranks by relevance only; 0.0 by novelty only.
        dedup_cosine: Similarity at or above which a candidate counts as a copy.

    Returns:
        Positions into ``candidates``, in the order chosen (most relevant first).
    """
    n = len(candidates)
    if n == 0 or k <= 0:
        return []
    relevance = candidates @ query.reshape(-1)
    pairwise = candidates @ candidates.T
    chosen: list[int] = []
    # Highest similarity of each candidate to anything chosen so far.
    max_sim = np.full(n, -np.inf, dtype=np.float32)
    available = np.ones(n, dtype=bool)
    while len(chosen) < k and available.any():
        redundancy = np.where(np.isfinite(max_sim), max_sim, 0.0)
        scores = lambda_ * relevance - (1.0 - lambda_) * redundancy
        scores[~available] = -np.inf
        best = int(np.argmax(scores))
        chosen.append(best)
        available[best] = False
        max_sim = np.maximum(max_sim, pairwise[best])
        available &= max_sim < dedup_cosine
    return chosen
