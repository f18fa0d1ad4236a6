"""SQL of the PostgreSQL memory: inserting, merging, finding near-duplicates, searching.

Helpers of ``PostgresMemoryStore``; each runs on a connection inside the caller's
transaction. Vectors travel as numpy arrays (the ``pgvector`` adapter); distances are
cosine (``<=>``), so ``1 - distance`` is the cosine similarity FAISS's inner product gives
for the normalised vectors the embedders return.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
from psycopg.rows import dict_row

from memory.migrations import now_iso
from memory.records import text_hash
from memory.writeback import VerifiedPath
from retrieval.config import RetrievalConfig
from retrieval.mmr import mmr_select

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Columns of a ``problems`` row as ``ProblemRecord.from_row`` and the export read them.
PROBLEM_COLUMNS = (
    "id, question, answer, path, domain, principle, verified, verified_by, "
    "evidence::text AS evidence, ground_truth, source, model, created_at, use_count, "
    "success_count, content_hash, extra::text AS extra, program, program_output"
)
PRINCIPLE_COLUMNS = "id, text, domain, source, created_at"

_INSERTED = (
    "question", "question_norm", "domain", "answer", "answer_norm", "path", "principle",
    "verified", "verified_by", "evidence", "ground_truth", "source", "model", "created_at",
    "use_count", "success_count", "content_hash", "extra", "program", "program_output",
)  # fmt: skip
_INSERT_PROBLEM = (
    f"INSERT INTO problems ({', '.join(_INSERTED)}, embedding) VALUES ("
    + ", ".join(f"%({c})s::jsonb" if c in ("evidence", "extra") else f"%({c})s" for c in _INSERTED)
    + ", %(embedding)s) ON CONFLICT (content_hash) DO NOTHING RETURNING id"
)
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


def insert_problem(
    conn: psycopg.Connection, row: dict[str, Any], vector: NDArray[np.float32]
) -> int | None:
    """Insert a problem row (from ``new_row`` or ``problem_row``) unless its hash is stored.

    Returns:
        The new id, or None when a row with the same content hash exists.
    """
    values = {name: row.get(name) for name in _INSERTED}
    values["verified"] = bool(row["verified"])
    values["evidence"] = row.get("evidence") or "{}"
    values["extra"] = row.get("extra") or "{}"
    found = conn.execute(_INSERT_PROBLEM, {**values, "embedding": vector}).fetchone()
    return None if found is None else int(found[0])


def merge_into(conn: psycopg.Connection, row_id: int, path: VerifiedPath) -> None:
    """Count one more verified solve of a stored problem (as ``memory.problems.merge_into``)."""
    conn.execute(
        "UPDATE problems SET use_count = use_count + 1, success_count = success_count + 1 "
        "WHERE id = %s",
        [row_id],
    )
    if path.verified_by == "ground_truth":
        conn.execute(
            "UPDATE problems SET verified = true, verified_by = 'ground_truth', "
            "ground_truth = coalesce(ground_truth, %s) "
            "WHERE id = %s AND verified_by IS DISTINCT FROM 'feedback'",
            [path.evidence.ground_truth, row_id],
        )
    ev = path.evidence
    if ev.program:
        conn.execute(
            "UPDATE problems SET program = %s, program_output = %s "
            "WHERE id = %s AND program IS NULL",
            [ev.program, ev.program_output, row_id],
        )


def find_duplicate(
    conn: psycopg.Connection,
    key: str,
    vector: NDArray[np.float32],
    answer_norm: str,
    threshold: float,
    dim: int,
) -> tuple[int, float] | None:
    """The row a new verified path merges into: the identical one, else the most similar
    row with the same normalised answer at or above ``threshold``; None when there is none.

    Run it under the answer's advisory lock (see ``answer_lock_key``) so that no other
    writer can add a row this search would have found.
    """
    found = conn.execute("SELECT id FROM problems WHERE content_hash = %s", [key]).fetchone()
    if found:
        return int(found[0]), 1.0
    nearest = conn.execute(
        f"SELECT id, 1 - ({distance(dim)}) FROM problems "
        f"WHERE answer_norm = %s AND embedding IS NOT NULL ORDER BY {distance(dim)} LIMIT 1",
        [vector, answer_norm, vector],
    ).fetchone()
    if nearest is None or float(nearest[1]) < threshold:
        return None
    return int(nearest[0]), float(nearest[1])


def upsert_principle(
    conn: psycopg.Connection,
    text: str,
    domain: str | None,
    source: str | None,
    vector: NDArray[np.float32],
) -> tuple[int, bool]:
    """Insert a principle unless its text is known; safe against concurrent writers.

    ``ON CONFLICT DO NOTHING`` waits for a concurrent insert of the same text and then
    skips; the following SELECT (a new snapshot under READ COMMITTED) sees that row.

    Returns:
        The id and whether the row is new.
    """
    key = text_hash(text)
    new = conn.execute(
        "INSERT INTO principles (text, text_hash, domain, source, created_at, embedding) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (text_hash) DO NOTHING RETURNING id",
        [text.strip(), key, domain, source, now_iso(), vector],
    ).fetchone()
    if new is not None:
        return int(new[0]), True
    found = conn.execute("SELECT id FROM principles WHERE text_hash = %s", [key]).fetchone()
    if found is None:  # only if the row was deleted in between; principles never are
        raise RuntimeError(f"principle {key} vanished while being linked")
    return int(found[0]), False


def link_principle(conn: psycopg.Connection, problem_id: int, principle_id: int) -> None:
    """Link a problem to a principle (idempotent)."""
    conn.execute(
        "INSERT INTO problem_principles (problem_id, principle_id) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING",
        [problem_id, principle_id],
    )


def ranked_rows(
    conn: psycopg.Connection,
    table: str,
    columns: str,
    vector: NDArray[np.float32],
    *,
    dim: int,
    k: int,
    where: list[str],
    params: list[Any],
    min_score: float,
    config: RetrievalConfig,
) -> list[tuple[dict[str, Any], float]]:
    """Nearest rows that pass SQL filters and ``min_score``, then diversified by MMR.

    The HNSW index answers the ORDER BY ... LIMIT; pgvector's iterative scan (set per
    connection) keeps scanning while filters drop candidates, so a filtered search still
    fills its ``k * candidate_multiplier`` candidates, as the SQLite store's widening does.

    Returns:
        Up to k ``(row, score)`` pairs, chosen by MMR, most relevant first.
    """
    if k <= 0:
        return []
    wanted = k * config.candidate_multiplier
    ef_search = min(_MAX_EF_SEARCH, max(config.hnsw_ef_search, wanted))
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
    clauses = " ".join(f"AND {c}" for c in where)
    cursor = conn.cursor(row_factory=dict_row)
    rows = cursor.execute(
        f"SELECT {columns}, embedding, 1 - ({distance(dim)}) AS score FROM {table} "
        f"WHERE embedding IS NOT NULL {clauses} ORDER BY {distance(dim)} LIMIT %s",
        [vector, *params, vector, wanted],
    ).fetchall()
    candidates = [(row, float(row["score"])) for row in rows if float(row["score"]) >= min_score]
    if not candidates:
        return []
    matrix = np.stack([row["embedding"].to_numpy() for row, _ in candidates])
    order = mmr_select(
        vector, matrix, k, lambda_=config.mmr_lambda, dedup_cosine=config.dedup_cosine
    )
    logger.debug("search %s: %d candidates -> %d by MMR", table, len(candidates), len(order))
    return [candidates[i] for i in order]
