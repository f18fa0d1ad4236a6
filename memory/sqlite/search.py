"""Search candidates of the SQLite store: FAISS nearest ids joined with the SQL filters.

The FAISS index holds every row, so a filtered search fetches ``wanted`` ids and widens the
fetch (up to the whole index) until enough rows pass; ``memory.ranking`` then chooses.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from memory.ranking import Scored, Search
from memory.rows import dict_rows
from retrieval.index import VectorIndex

_MAX_PARAMS = 900


def candidates(db: Database, index: VectorIndex, search: Search) -> list[Scored]:
    """Up to about ``search.wanted`` rows nearest to its vector that pass its filters,
    nearest first, from the FAISS ``index`` of its table.

    Ids without a row (HNSW tombstones of deleted rows) drop out in the join.
    """
    total = index.ntotal
    fetch = min(total, search.wanted)
    found: list[Scored] = []
    while fetch > 0:
        hits = index.search(search.vector, fetch)[0]
        kept = [(i, s) for i, s in hits if s >= search.min_score]
        found = _join(db, search, kept)
        if len(found) >= search.wanted or fetch >= total or len(kept) < len(hits):
            break
        fetch = min(total, fetch * 4)
    return found


def _join(db: Database, search: Search, hits: list[tuple[int, float]]) -> list[Scored]:
    """Rows for the hit ids that pass the filters, in hit order, with their scores."""
    scores = dict(hits)
    ids = list(scores)
    by_id: dict[int, dict[str, Any]] = {}
    # Chunked so that a widened search never exceeds SQLite's bound-parameter limit.
    for start in range(0, len(ids), _MAX_PARAMS):
        chunk = ids[start : start + _MAX_PARAMS]
        marks = ",".join("?" * len(chunk))
        clauses = " AND ".join([f"id IN ({marks})", "embedding IS NOT NULL", *search.where])
        sql = f"SELECT {search.columns}, embedding FROM {search.table} WHERE {clauses}"
        for row in dict_rows(db.execute(sql, [*chunk, *search.params])):
            by_id[int(row["id"])] = row
    return [(by_id[i], scores[i]) for i, _ in hits if i in by_id]
