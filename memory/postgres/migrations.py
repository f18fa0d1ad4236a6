"""Append-only schema migrations of the PostgreSQL memory, recorded in ``_migrations``.

The same shape as ``memory.sqlite.migrations``: each migration is a function registered
with ``@migration``, applied once, in order, in one transaction together with its record.
Never edit or reorder a released migration: add a new one.

Replicas start together, so ``migrate`` first takes a transaction-scoped advisory lock: the
first replica migrates, the others wait for it and then find nothing pending.

The HNSW index is not a migration: its dimension is the configured embedder's, known only
when a store opens, so ``ensure_vector_index`` creates it then (under the same lock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg
from psycopg import sql

from memory.errors import MemoryNotWritable, MemoryStoreError
from memory.rows import now_iso

logger = logging.getLogger(__name__)

PgMigration = Callable[[psycopg.Connection], None]
PG_MIGRATIONS: list[PgMigration] = []
MIGRATIONS_TABLE = "_migrations"

#: First key of every advisory lock this package takes (an arbitrary constant, "REAS").
LOCK_NAMESPACE = 0x52454153
#: Second keys: schema changes; problem writes use a hash of the answer (see rows.py).
SCHEMA_LOCK = 0


def migration(fn: PgMigration) -> PgMigration:
    """Register ``fn`` as the next migration (decorator)."""
    if any(m.__name__ == fn.__name__ for m in PG_MIGRATIONS):
        raise ValueError(f"migration {fn.__name__} registered twice")
    PG_MIGRATIONS.append(fn)
    return fn


def schema_lock(conn: psycopg.Connection) -> None:
    """Hold the schema lock until the current transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, SCHEMA_LOCK])


def applied(conn: psycopg.Connection) -> list[str]:
    """Names of the migrations already applied, oldest first."""
    exists = conn.execute("SELECT to_regclass(%s)", [MIGRATIONS_TABLE]).fetchone()
    if exists is None or exists[0] is None:
        return []
    rows = conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY applied_order").fetchall()
    return [str(r[0]) for r in rows]


def pending(conn: psycopg.Connection) -> list[str]:
    """Names of the migrations not applied yet."""
    done = set(applied(conn))
    return [fn.__name__ for fn in PG_MIGRATIONS if fn.__name__ not in done]


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply every pending migration (serialised across replicas by the schema lock).

    Args:
        conn: A connection not inside a transaction.

    Returns:
        The names of the migrations applied by this call.
    """
    with conn.transaction():
        schema_lock(conn)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
            "name TEXT PRIMARY KEY, applied_at TEXT NOT NULL, "
            "applied_order INTEGER GENERATED ALWAYS AS IDENTITY)"
        )
        todo = [fn for fn in PG_MIGRATIONS if fn.__name__ in set(pending(conn))]
        for fn in todo:
            fn(conn)
            conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (%s, %s)",
                [fn.__name__, now_iso()],
            )
            logger.info("applied postgres migration %s", fn.__name__)
    return [fn.__name__ for fn in todo]


def prepare_schema(url: str, label: str, timeout_s: int) -> bool:
    """Migrate the database at ``url``; return whether its server only allows reading.

    Args:
        url: Connection URL.
        label: The URL without its password, for messages.
        timeout_s: Connection timeout.

    Raises:
        MemoryStoreError: The server cannot be reached or the schema not created.
        MemoryNotWritable: A read-only server whose schema needs migrations.
    """
    try:
        with psycopg.connect(url, connect_timeout=timeout_s) as conn:
            row = conn.execute("SHOW transaction_read_only").fetchone()
            conn.rollback()
            if row is None or row[0] != "on":
                migrate(conn)
                return False
            todo = pending(conn)
            if todo:
                raise MemoryNotWritable(
                    f"memory {label} is read-only and needs migrations {', '.join(todo)}; "
                    "open it once where it can be written"
                )
            logger.warning("memory %s is read-only: answers are served, nothing is stored", label)
            return True
    except psycopg.OperationalError as ex:
        raise MemoryStoreError(f"cannot reach memory database {label}: {ex}") from None
    except psycopg.Error as ex:  # e.g. no right to create the vector extension
        raise MemoryStoreError(f"cannot prepare memory database {label}: {ex}") from None


def vector_index_name(table: str, dim: int) -> str:
    """Name of a table's HNSW index for vectors of ``dim`` values."""
    return f"{table}_embedding_hnsw_{dim}"


def _vector_indexes(conn: psycopg.Connection, table: str) -> set[str]:
    rows = conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = %s AND indexname LIKE %s",
        [table, f"{table}_embedding_hnsw_%"],
    ).fetchall()
    return {str(r[0]) for r in rows}


def drop_other_vector_indexes(conn: psycopg.Connection, table: str, dim: int) -> None:
    """Drop a table's HNSW indexes for any dimension but ``dim`` (before re-embedding:
    an index on ``vector(64)`` refuses a 32-d row)."""
    with conn.transaction():
        schema_lock(conn)
        for stale in _vector_indexes(conn, table) - {vector_index_name(table, dim)}:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(stale)))
            logger.info("dropped vector index %s (another embedding dimension)", stale)


def ensure_vector_index(
    conn: psycopg.Connection, table: str, dim: int, *, m: int, ef_construction: int
) -> bool:
    """Create the table's HNSW cosine index for ``dim``-d vectors unless it exists.

    The column is an untyped ``vector`` (the dimension follows the embedder); pgvector
    indexes a cast to ``vector(dim)``, and queries must order by that same expression.

    Returns:
        Whether the index was created now.
    """
    wanted = vector_index_name(table, dim)
    with conn.transaction():
        schema_lock(conn)
        if wanted in _vector_indexes(conn, table):
            return False
        conn.execute(
            sql.SQL(
                "CREATE INDEX {} ON {} USING hnsw ((embedding::vector({})) vector_cosine_ops) "
                "WITH (m = {}, ef_construction = {})"
            ).format(
                sql.Identifier(wanted),
                sql.Identifier(table),
                sql.Literal(dim),
                sql.Literal(m),
                sql.Literal(ef_construction),
            )
        )
    logger.info("created vector index %s", wanted)
    return True


@migration
def m001_vector_extension(conn: psycopg.Connection) -> None:
    """pgvector (needs a superuser once, or an administrator who created it already)."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def _create_table_with_identity(conn: psycopg.Connection, table: str, columns: str) -> None:
    """``CREATE TABLE`` whose first column is an identity id.

    Identity ids are never reused after a delete, like SQLite's AUTOINCREMENT here.
    """
    conn.execute(
        f"CREATE TABLE {table} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {columns})"
    )


@migration
def m002_problems(conn: psycopg.Connection) -> None:
    """Solved problems with their reasoning path, evidence, program and embedding."""
    # Texts stay TEXT (created_at included) so that rows read and export exactly as SQLite's do.
    _create_table_with_identity(
        conn,
        "problems",
        """
        question TEXT NOT NULL, question_norm TEXT NOT NULL, domain TEXT,
        answer TEXT NOT NULL, answer_norm TEXT NOT NULL, path TEXT NOT NULL, principle TEXT,
        verified BOOLEAN NOT NULL DEFAULT false, verified_by TEXT,
        evidence JSONB NOT NULL DEFAULT '{}', ground_truth TEXT,
        source TEXT, model TEXT, created_at TEXT NOT NULL,
        use_count INTEGER NOT NULL DEFAULT 0, success_count INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT NOT NULL UNIQUE, extra JSONB NOT NULL DEFAULT '{}',
        embedding vector, program TEXT, program_output TEXT
        """,
    )
    conn.execute("CREATE INDEX problems_domain ON problems (domain)")
    conn.execute("CREATE INDEX problems_verified ON problems (verified)")
    # Near-duplicates are looked for among rows with the same answer.
    conn.execute("CREATE INDEX problems_answer_norm ON problems (answer_norm)")


@migration
def m003_principles(conn: psycopg.Connection) -> None:
    """Principles, and which problems rely on which principles."""
    _create_table_with_identity(
        conn,
        "principles",
        "text TEXT NOT NULL, text_hash TEXT NOT NULL UNIQUE,"
        " domain TEXT, source TEXT, created_at TEXT NOT NULL, embedding vector",
    )
    conn.execute(
        """
        CREATE TABLE problem_principles (
            problem_id BIGINT NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
            principle_id BIGINT NOT NULL REFERENCES principles(id) ON DELETE CASCADE,
            PRIMARY KEY (problem_id, principle_id)
        )
        """
    )
    conn.execute("CREATE INDEX problem_principles_principle ON problem_principles (principle_id)")


@migration
def m004_embedding_meta(conn: psycopg.Connection) -> None:
    """The embedding model and dimension every stored vector comes from (one row)."""
    conn.execute(
        "CREATE TABLE embedding_meta (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "model TEXT NOT NULL, dim INTEGER NOT NULL, updated_at TEXT NOT NULL)"
    )
