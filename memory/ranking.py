"""Ranking of search candidates, whichever store found them: score floor, then MMR.

A store finds ``k * candidate_multiplier`` candidate rows nearest to the query that pass
the search's SQL filters (FAISS plus a join in SQLite, an HNSW ``ORDER BY`` in PostgreSQL);
what is kept and in which order is decided here, so both stores answer alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.config import RetrievalConfig
from retrieval.mmr import mmr_select

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: A candidate: the row (its columns plus ``embedding``) and its cosine similarity.
Scored = tuple[dict[str, Any], float]


@dataclass(frozen=True)
class Search:
    """What a store's vector search is asked for.

    Attributes:
        table: ``problems`` or ``principles``.
        columns: Columns to read (the store adds ``embedding``).
        vector: Normalised query vector.
        wanted: Candidates wanted (``k * candidate_multiplier``).
        where: SQL conditions (ANDed), with ``?`` placeholders.
        params: Parameters of ``where``.
        min_score: Lowest cosine similarity worth fetching.
    """

    table: str
    columns: str
    vector: NDArray[np.float32]
    wanted: int
    where: list[str]
    params: list[Any]
    min_score: float


def rank(
    candidates: Sequence[Scored],
    search: Search,
    *,
    k: int,
    config: RetrievalConfig,
    vector_of: Callable[[Any], NDArray[np.float32]],
) -> list[Scored]:
    """Keep candidates at or above the search's ``min_score``, then choose ``k`` by MMR.

    Args:
        candidates: Rows nearest to the query, nearest first.
        search: The search they were found by.
        k: Results wanted.
        config: Retrieval settings (MMR lambda, dedup threshold).
        vector_of: Turns a row's stored ``embedding`` value into a vector.

    Returns:
        Up to k ``(row, score)`` pairs, chosen by MMR, most relevant first.
    """
    vector, table = search.vector, search.table
    kept = [(row, score) for row, score in candidates if score >= search.min_score]
    if not kept or k <= 0:
        return []
    matrix = np.stack([vector_of(row["embedding"]) for row, _ in kept])
    order = mmr_select(
        vector, matrix, k, lambda_=config.mmr_lambda, dedup_cosine=config.dedup_cosine
    )
    logger.debug("search %s: %d candidates -> %d by MMR", table, len(kept), len(order))
    return [kept[i] for i in order]
