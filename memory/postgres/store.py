"""``PostgresMemoryStore``: the memory in PostgreSQL + pgvector, shared by service replicas.

The same interface and semantics as the SQLite ``MemoryStore`` (what they share is in
``memory.interface.MemoryInterface``), with rows, principles, evidence and vectors all in the
database and an HNSW (cosine) index per table, so every replica reads what any replica wrote
the moment it commits.

No process lock: each operation is one transaction on a pooled connection. Near-duplicate
merging, the one read-then-write decision, runs under a transaction-scoped advisory lock on
the normalised answer (rows merge only when their answers agree), so two replicas storing
the same question take turns and the second merges into the first's row; the unique content
hash is the backstop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from memory.errors import REBUILD_COMMAND, EmbeddingMismatch, MemoryNotWritable, MemoryStoreError
from memory.interface import VECTOR_TABLES, MemoryInterface
from memory.postgres import rows as pg
from memory.postgres.migrations import (
    LOCK_NAMESPACE,
    drop_other_vector_indexes,
    ensure_vector_index,
    prepare_schema,
    vector_index_name,
)
from memory.ranking import Scored, Search
from memory.rows import Cursor, Run, now_iso

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Connections per store; API threads hold one only for a query or a short write.
POOL_SIZE = 8
CONNECT_TIMEOUT_S = 10

_NOT_WRITABLE = (pg_errors.ReadOnlySqlTransaction, pg_errors.InsufficientPrivilege,
                 pg_errors.DiskFull)  # fmt: skip


def redact(url: str) -> str:
    """The URL without its password, for logs and ``stats``."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _configure(conn: psycopg.Connection) -> None:
    """Set up each pooled connection: vector adapter and pgvector's iterative scan."""
    register_vector(conn)
    # strict_order: a filtered HNSW search keeps scanning until LIMIT rows pass the filter,
    # still in exact distance order.
    conn.execute("SET hnsw.iterative_scan = strict_order")
    conn.commit()


class _Runner:
    """``run(sql, params)`` on one connection: the shared ``?`` placeholders become ``%s``."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def __call__(self, sql: str, params: Sequence[Any]) -> Cursor:
        return self.conn.execute(sql.replace("?", "%s"), params)


class PostgresMemoryStore(MemoryInterface):
    """Store and search verified reasoning paths and principles in PostgreSQL."""

    writable_again = "the database accepts writes and the service restarted"

    def _open(self, location: str, *, reembed: bool) -> None:
        """Migrate the database at the URL (unless its server is read-only), open a pool."""
        self.url = url = location
        self.db_path = redact(url)
        self.read_only = prepare_schema(url, self.db_path, CONNECT_TIMEOUT_S)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            open=False,
            configure=_configure,
            # A connection broken by a server restart is replaced at checkout, not failed on.
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            timeout=30.0,
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            self._check_model(reembed)
        except PoolTimeout as ex:
            self._pool.close()
            raise MemoryStoreError(f"cannot reach memory database {self.db_path}: {ex}") from None
        except MemoryStoreError:
            self._pool.close()
            raise

    def _check_model(self, reembed: bool) -> None:
        """Record the embedder on first open; refuse another one unless re-embedding."""
        mine = (self.embedder.name, self.embedder.dim)
        with self.transaction() as conn:
            if not self.read_only and not reembed:
                # Two replicas opening an empty memory: the first row wins, the other checks.
                conn.execute(
                    "INSERT INTO embedding_meta (id, model, dim, updated_at) "
                    "VALUES (1, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    [mine[0], mine[1], now_iso()],
                )
            row = conn.execute("SELECT model, dim FROM embedding_meta WHERE id = 1").fetchone()
        stored = None if row is None else (str(row[0]), int(row[1]))
        if reembed:
            self.rebuild_index(reembed=True)
            return
        if stored is not None and stored != mine:
            raise EmbeddingMismatch(
                f"memory {self.db_path} was embedded with {stored[0]} ({stored[1]}-d) but the "
                f"configured embedder is {mine[0]} ({mine[1]}-d); run `{REBUILD_COMMAND}` to "
                "re-embed it, or configure the original model"
            )
        if not self.read_only:
            self.ensure_indexes()

    def ensure_indexes(self) -> None:
        """Create the HNSW index of each table for the embedder's dimension, if missing."""
        with self.transaction() as conn:
            conn.commit()  # ensure_vector_index opens its own transaction
            for table, _ in VECTOR_TABLES:
                ensure_vector_index(
                    conn,
                    table,
                    self.embedder.dim,
                    m=self.retrieval.hnsw_m,
                    ef_construction=self.retrieval.hnsw_ef_construction,
                )

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in one transaction (committed at the end); errors made ours."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except _NOT_WRITABLE as ex:
            raise MemoryNotWritable(
                f"memory {self.db_path} cannot be written ({ex}): answers are still served, "
                "nothing is stored until the database accepts writes again"
            ) from None
        except PoolTimeout as ex:
            raise MemoryStoreError(f"memory database {self.db_path} unreachable: {ex}") from None
        except psycopg.Error as ex:  # connection lost, deadlock victim, server error
            raise MemoryStoreError(f"memory database {self.db_path} failed: {ex}") from None

    def writable(self) -> str | None:
        """None when memory can be written, else why not (a read-only server)."""
        return "read-only" if self.read_only else None

    # -------------------------------------------------- MemoryInterface's hooks

    @contextmanager
    def _read(self) -> Iterator[Run]:
        with self.transaction() as conn:
            yield _Runner(conn)

    @contextmanager
    def _write(self) -> Iterator[Run]:
        self._check_writable()
        with self.transaction() as conn:
            yield _Runner(conn)

    @contextmanager
    def _snapshot(self) -> Iterator[Run]:
        with self.transaction() as conn:
            # One REPEATABLE READ snapshot: rows written meanwhile by other replicas are
            # either all in the export or all out of it.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield _Runner(conn)

    def _lock_answer(self, run: Run, answer_norm: str) -> None:
        # Held to commit: a writer of the same answer waits here, then its next statement
        # (a new READ COMMITTED snapshot) sees the row this one adds.
        run("SELECT pg_advisory_xact_lock(?, ?)", [LOCK_NAMESPACE, pg.answer_lock_key(answer_norm)])

    def _vector_param(self, vector: NDArray[np.float32]) -> object:
        return vector

    def _vector_of(self, value: Any) -> NDArray[np.float32]:
        return cast("NDArray[np.float32]", value.to_numpy())

    def _candidates(self, run: Run, search: Search) -> list[Scored]:
        conn = cast(_Runner, run).conn
        return pg.candidates(conn, search, self.embedder.dim, self.retrieval.hnsw_ef_search)

    def _near_duplicate(
        self, run: Run, vector: NDArray[np.float32], answer_norm: str
    ) -> tuple[int, float] | None:
        threshold = self.memory.near_duplicate_cosine
        conn = cast(_Runner, run).conn
        return pg.near_duplicate(conn, vector, answer_norm, threshold, self.embedder.dim)

    def _index_sizes(self, run: Run) -> tuple[str, int, int]:
        sizes = [
            int(run(f"SELECT count(*) FROM {t} WHERE embedding IS NOT NULL", []).fetchone()[0])
            for t, _ in VECTOR_TABLES
        ]
        return "pgvector-hnsw", sizes[0], sizes[1]

    def _db_bytes(self, run: Run) -> int:
        return int(run("SELECT pg_database_size(current_database())", []).fetchone()[0])

    def rebuild_index(self, *, reembed: bool = False) -> dict[str, int]:
        """Rebuild both HNSW indexes from the rows (re-embedding them first if asked)."""
        self._check_writable()
        if reembed:
            for table, column in VECTOR_TABLES:
                with self.transaction() as conn:
                    conn.commit()  # the drop runs in a transaction of its own
                    drop_other_vector_indexes(conn, table, self.embedder.dim)
                self._reembed(table, column)
            with self.transaction() as conn:
                conn.execute(
                    "INSERT INTO embedding_meta (id, model, dim, updated_at) "
                    "VALUES (1, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET model = "
                    "excluded.model, dim = excluded.dim, updated_at = excluded.updated_at",
                    [self.embedder.name, self.embedder.dim, now_iso()],
                )
        self.ensure_indexes()
        with self.transaction() as conn:
            for table, _ in VECTOR_TABLES:
                conn.execute(f"REINDEX INDEX {vector_index_name(table, self.embedder.dim)}")
            run = _Runner(conn)
            _, problems, principles = self._index_sizes(run)
        return {"problems": problems, "principles": principles}

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()
