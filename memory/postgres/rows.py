"""The PostgreSQL-only SQL of the memory: vector distance, near-duplicates, candidates.

Helpers of ``PostgresMemoryStore``; each runs on a connection inside the caller's
transaction (the statements both stores share are in ``memory.rows``). Vectors travel as
numpy arrays (the ``pgvector`` adapter); distances are cosine (``<=>``), so
``1 - distance`` is the cosine similarity FAISS's inner product gives for the normalised
vectors the embedders return.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
import psycopg
from psycopg.rows import dict_row

from memory.ranking import Scored, Search

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: pgvector's largest ``hnsw.ef_search``.
_MAX_EF_SEARCH = 1000


def distance(dim: int) -> str:
    """The cosine distance expression the HNSW index serves (see ``ensure_vector_index``)."""
    return f"(embedding::vector({int(dim)})) <=> %s::vector({int(dim)})"


def answer_lock_key(answer_norm: str) -> int:
    """A 32-bit advisory-lock key for one normalised answer.

    Only rows with the same normalised answer can merge, so writers of different answers
    never wait for each other; a hash collision only makes two writers take turns.
    """
    return int.from_bytes(hashlib.sha256(answer_norm.encode()).digest()[:4], "big", signed=True)


def near_duplicate(
    conn: psycopg.Connection,
    vector: NDArray[np.float32],
    answer_norm: str,
    threshold: float,
    dim: int,
) -> tuple[int, float] | None:
    """The most similar row with the same normalised answer at or above ``threshold``.

    Run it under the answer's advisory lock (see ``answer_lock_key``) so that no other
    writer can add a row this search would have found.
    """
    nearest = conn.execute(
        f"SELECT id, 1 - ({distance(dim)}) FROM problems "
        f"WHERE answer_norm = %s AND embedding IS NOT NULL ORDER BY {distance(dim)} LIMIT 1",
        [vector, answer_norm, vector],
    ).fetchone()
    if nearest is None or float(nearest[1]) < threshold:
        return None
    return int(nearest[0]), float(nearest[1])


def candidates(conn: psycopg.Connection, search: Search, dim: int, ef_search: int) -> list[Scored]:
    """The ``search.wanted`` rows nearest to its vector that pass its filters.

    The HNSW index answers the ORDER BY ... LIMIT; pgvector's iterative scan (set per
    connection) keeps scanning while filters drop candidates, so a filtered search still
    fills its candidates, as the SQLite store's widening does.
    """
    ef = min(_MAX_EF_SEARCH, max(ef_search, search.wanted))
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef)])
    clauses = " ".join(f"AND {c}" for c in search.where).replace("?", "%s")
    cursor = conn.cursor(row_factory=dict_row)
    rows = cursor.execute(
        f"SELECT {search.columns}, embedding, 1 - ({distance(dim)}) AS score FROM "
        f"{search.table} WHERE embedding IS NOT NULL {clauses} ORDER BY {distance(dim)} LIMIT %s",
        [search.vector, *search.params, search.vector, search.wanted],
    ).fetchall()
    return [(row, float(row["score"])) for row in rows]
