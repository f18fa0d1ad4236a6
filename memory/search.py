"""Vector search joined with SQLite filters, then diversified by maximal marginal relevance."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlite_utils import Database

from memory.indexes import from_blob
from retrieval.config import RetrievalConfig
from retrieval.index import VectorIndex
from retrieval.mmr import mmr_select

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

_MAX_PARAMS = 900


def ranked_rows(
    db: Database,
    table: str,
    index: VectorIndex,
    vector: NDArray[np.float32],
    *,
    k: int,
    where: list[str],
    params: list[Any],
    min_score: float,
    config: RetrievalConfig,
) -> list[tuple[dict[str, Any], float]]:
    """Search an index, keep rows that pass SQL filters and ``min_score``, then apply MMR.

    The index holds every row, so filtered searches fetch ``k * candidate_multiplier``
    candidates and widen the fetch (up to the whole index) until enough rows pass.
    Ids without a row (HNSW tombstones of deleted rows) drop out in the join.

    Args:
        db: The database.
        table: Table whose ids the index holds.
        index: The table's vector index.
        vector: Normalised query vector.
        k: Results wanted.
        where: Extra SQL conditions (ANDed).
        params: Parameters of ``where``.
        min_score: Lowest cosine similarity kept.
        config: Retrieval settings (candidate multiplier, MMR lambda, dedup threshold).

    Returns:
        Up to k ``(row, score)`` pairs, chosen by MMR, most relevant first.
    """
    total = index.ntotal
    if total == 0 or k <= 0:
        return []
    wanted = k * config.candidate_multiplier
    fetch = min(total, wanted)
    candidates: list[tuple[dict[str, Any], float]] = []
    while True:
        hits = index.search(vector, fetch)[0]
        kept = [(i, s) for i, s in hits if s >= min_score]
        candidates = _join(db, table, kept, where, params)
        exhausted = fetch >= total or len(kept) < len(hits)
        if len(candidates) >= wanted or exhausted:
            break
        fetch = min(total, fetch * 4)
    if not candidates:
        return []
    dim = index.dim
    matrix = np.stack([from_blob(row["embedding"], dim) for row, _ in candidates])
    order = mmr_select(
        vector, matrix, k, lambda_=config.mmr_lambda, dedup_cosine=config.dedup_cosine
    )
    logger.debug("search %s: %d candidates -> %d by MMR", table, len(candidates), len(order))
    return [candidates[i] for i in order]


def _join(
    db: Database,
    table: str,
    hits: list[tuple[int, float]],
    where: list[str],
    params: list[Any],
) -> list[tuple[dict[str, Any], float]]:
    """Rows for the hit ids that pass the filters, in hit order, with their scores."""
    if not hits:
        return []
    scores = dict(hits)
    ids = list(scores)
    by_id: dict[int, dict[str, Any]] = {}
    # Chunked so that a widened search never exceeds SQLite's bound-parameter limit.
    for start in range(0, len(ids), _MAX_PARAMS):
        chunk = ids[start : start + _MAX_PARAMS]
        clauses = [f"id IN ({','.join('?' * len(chunk))})", "embedding IS NOT NULL", *where]
        for row in db[table].rows_where(" AND ".join(clauses), [*chunk, *params]):
            by_id[int(row["id"])] = row
    return [(by_id[i], scores[i]) for i, _ in hits if i in by_id]
