"""Bulk operations of the PostgreSQL memory: JSONL export and import, index rebuilds.

Functions of ``PostgresMemoryStore`` kept out of its module to keep both small; the store's
methods of the same names call them. Export and import go through ``memory.transfer``'s one
writer and one reader, so a file moves between the SQLite and the PostgreSQL store unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from psycopg.rows import dict_row

from memory import pg_rows, transfer
from memory.migrations import now_iso
from memory.pg_migrations import drop_other_vector_indexes, vector_index_name
from memory.records import ImportReport

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from memory.postgres import PostgresMemoryStore

logger = logging.getLogger(__name__)

#: The tables with vectors, and the text column each embeds.
TABLES = (("problems", "question"), ("principles", "text"))


def export_jsonl(store: PostgresMemoryStore, path: Path) -> int:
    """Write every principle and problem as JSON lines; returns the line count."""
    with store.transaction() as conn:
        # One REPEATABLE READ snapshot: rows written meanwhile by other replicas are
        # either all in the file or all out of it.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor = conn.cursor(row_factory=dict_row)
        principles = cursor.execute(
            f"SELECT {pg_rows.PRINCIPLE_COLUMNS} FROM principles ORDER BY id"
        ).fetchall()
        problems = cursor.execute(
            f"SELECT {pg_rows.PROBLEM_COLUMNS} FROM problems ORDER BY id"
        ).fetchall()
        links = conn.execute(
            "SELECT pp.problem_id, p.text FROM problem_principles pp "
            "JOIN principles p ON p.id = pp.principle_id ORDER BY pp.problem_id, p.id"
        ).fetchall()
    return transfer.write_export(path, principles, problems, links)


def import_jsonl(store: PostgresMemoryStore, path: Path) -> ImportReport:
    """Import JSON lines (as written by either store's ``export_jsonl``)."""
    store.check_writable()

    def add_principle(text: str, domain: str | None, source: str | None) -> int:
        return int(store.add_principles([(text, domain)], source=source)[0][1])

    max_chars = min(store.memory.max_text_chars, store.retrieval.max_text_chars)

    def insert(rows: Sequence[dict[str, Any]], principles: Sequence[list[str]]) -> list[int | None]:
        return insert_rows(store, rows, principles)

    return transfer.read_jsonl(path, max_chars, add_principle, insert)


def insert_rows(
    store: PostgresMemoryStore, rows: Sequence[dict[str, Any]], principles: Sequence[list[str]]
) -> list[int | None]:
    """Insert imported rows in one transaction; None for a row whose hash is stored."""
    vectors = store.embedder.embed([row["question"] for row in rows])
    texts = sorted({t for group in principles for t in group})
    pvecs = dict(zip(texts, store.embedder.embed(texts), strict=True)) if texts else {}
    ids: list[int | None] = []
    with store.transaction() as conn:
        for row, vector, group in zip(rows, vectors, principles, strict=True):
            row_id = pg_rows.insert_problem(conn, row, vector)
            ids.append(row_id)
            if row_id is None:
                continue
            for text in group:
                principle_id, _ = pg_rows.upsert_principle(
                    conn, text, row.get("domain"), row.get("source"), pvecs[text]
                )
                pg_rows.link_principle(conn, row_id, principle_id)
    return ids


def rebuild_index(store: PostgresMemoryStore, *, reembed: bool = False) -> dict[str, int]:
    """Rebuild both HNSW indexes from the rows (re-embedding them first if asked).

    Returns:
        Vectors indexed per table.
    """
    store.check_writable()
    if reembed:
        for table, column in TABLES:
            with store.transaction() as conn:
                conn.commit()  # the drop runs in a transaction of its own
                drop_other_vector_indexes(conn, table, store.embedder.dim)
            _reembed(store, table, column)
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO embedding_meta (id, model, dim, updated_at) "
                "VALUES (1, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET model = "
                "excluded.model, dim = excluded.dim, updated_at = excluded.updated_at",
                [store.embedder.name, store.embedder.dim, now_iso()],
            )
    store.ensure_indexes()
    counts: dict[str, int] = {}
    with store.transaction() as conn:
        for table, _ in TABLES:
            conn.execute(f"REINDEX INDEX {vector_index_name(table, store.embedder.dim)}")
            row = conn.execute(
                f"SELECT count(*) FROM {table} WHERE embedding IS NOT NULL"
            ).fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def _reembed(store: PostgresMemoryStore, table: str, column: str, chunk: int = 512) -> int:
    """Recompute every row's vector of one table, ``chunk`` rows per transaction."""
    with store.transaction() as conn:
        rows = conn.execute(f"SELECT id, {column} FROM {table} ORDER BY id").fetchall()
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        vectors: NDArray[np.float32] = store.embedder.embed([r[1] for r in part])
        with store.transaction() as conn, conn.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET embedding = %s WHERE id = %s",
                [(vector, row_id) for (row_id, _), vector in zip(part, vectors, strict=True)],
            )
    logger.info("re-embedded %d %s rows with %s", len(rows), table, store.embedder.name)
    return len(rows)
