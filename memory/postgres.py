"""``PostgresMemoryStore``: the memory in PostgreSQL + pgvector, shared by service replicas.

The same interface and semantics as the SQLite ``MemoryStore`` (see ``memory.interface``),
with rows, principles, evidence and vectors all in the database and an HNSW (cosine) index
per table, so every replica reads what any replica wrote the moment it commits.

No process lock: each operation is one transaction on a pooled connection. Near-duplicate
merging, the one read-then-write decision, runs under a transaction-scoped advisory lock on
the normalised answer (rows merge only when their answers agree), so two replicas storing
the same question take turns and the second merges into the first's row; the unique content
hash is the backstop.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from pgvector.psycopg import register_vector
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from memory import pg_bulk, pg_rows
from memory.config import MemoryConfig
from memory.errors import (
    REBUILD_COMMAND,
    EmbeddingMismatch,
    MemoryNotWritable,
    MemoryStoreError,
    RecordNotFound,
    RecordTooLarge,
)
from memory.migrations import now_iso
from memory.pg_migrations import (
    LOCK_NAMESPACE,
    ensure_vector_index,
    prepare_schema,
)
from memory.principles import SEED_PRINCIPLES
from memory.problems import check_path_sizes, new_row
from memory.records import (
    AddResult,
    ImportReport,
    PrincipleHit,
    PrincipleRecord,
    ProblemHit,
    ProblemRecord,
    StoreStats,
    content_hash,
    normalize_answer,
)
from memory.writeback import VerifiedPath
from retrieval.config import RetrievalConfig
from retrieval.embedder import Embedder

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


class PostgresMemoryStore:
    """Store and search verified reasoning paths and principles in PostgreSQL."""

    def __init__(
        self,
        url: str,
        embedder: Embedder,
        memory: MemoryConfig,
        retrieval: RetrievalConfig,
        *,
        reembed: bool = False,
    ) -> None:
        """Connect, migrate (unless the server is read-only) and check the embedding model.

        Args:
            url: ``postgresql://`` URL of the database.
            embedder: Turns questions and principles into vectors.
            memory: Memory settings.
            retrieval: Retrieval settings (search defaults, HNSW parameters).
            reembed: Re-embed every row with ``embedder`` now.

        Raises:
            MemoryStoreError: The database cannot be reached.
            MemoryNotWritable: A read-only server whose schema needs migrations.
            EmbeddingMismatch: The rows were embedded with another model or dimension.
        """
        self.memory = memory
        self.retrieval = retrieval
        self.embedder = embedder
        self.url = url
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
            for table, _ in pg_bulk.TABLES:
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

    def check_writable(self) -> None:
        """Raise ``MemoryNotWritable`` on a read-only server."""
        if self.read_only:
            raise MemoryNotWritable(
                f"memory {self.db_path} is read-only: answers are still served, nothing is "
                "stored until the database accepts writes and the service restarted"
            )

    def writable(self) -> str | None:
        """None when memory can be written, else why not (a read-only server)."""
        return "read-only" if self.read_only else None

    # ---------------------------------------------------------------- writes

    def add_problem(self, path: VerifiedPath) -> AddResult:
        """Store a verified path, or merge it into a near-duplicate with the same answer.

        Raises:
            TypeError: ``path`` is not a ``VerifiedPath``.
            RecordTooLarge: A text is over ``max_text_chars``.
            MemoryNotWritable: The database does not accept writes.
        """
        if not isinstance(path, VerifiedPath):
            raise TypeError("MemoryStore.add_problem accepts only a VerifiedPath from decide()")
        ev = path.evidence
        check_path_sizes(path, self.memory.max_text_chars)
        self.check_writable()
        vector = self.embedder.embed([ev.question])[0]
        pvec = self.embedder.embed([ev.principle])[0] if ev.principle else None
        key = content_hash(ev.question, ev.answer)
        answer_norm = normalize_answer(ev.answer)
        dim = self.embedder.dim
        with self.transaction() as conn:
            # Held to commit: a writer of the same answer waits here, then its next statement
            # (a new READ COMMITTED snapshot) sees the row this one adds.
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [LOCK_NAMESPACE, pg_rows.answer_lock_key(answer_norm)],
            )
            match = pg_rows.find_duplicate(
                conn, key, vector, answer_norm, self.memory.near_duplicate_cosine, dim
            )
            if match is not None:
                row_id = match[0]
                pg_rows.merge_into(conn, row_id, path)
            else:
                inserted = pg_rows.insert_problem(conn, new_row(path, key, vector), vector)
                if inserted is None:  # unreachable under the lock; the unique hash says so
                    raise MemoryStoreError(f"problem {key} was stored concurrently")
                row_id = inserted
            if ev.principle and pvec is not None:
                principle_id, _ = pg_rows.upsert_principle(
                    conn, ev.principle, ev.domain, ev.source, pvec
                )
                pg_rows.link_principle(conn, row_id, principle_id)
        if match is not None:
            logger.debug("merged into problem %d (similarity %.3f)", row_id, match[1])
            return AddResult(row_id, "merged", match[1])
        logger.debug("added problem %d domain=%s", row_id, ev.domain)
        return AddResult(row_id, "added")

    def add_principle(self, text: str, domain: str | None = None, source: str | None = None) -> int:
        """Store a principle unless the same text is stored; returns its id."""
        return self.add_principles([(text, domain)], source=source)[0][0]

    def add_principles(
        self, items: Sequence[tuple[str, str | None]], *, source: str | None
    ) -> list[tuple[int, bool]]:
        """Store ``(text, domain)`` principles in one transaction: ``(id, new)`` of each."""
        for text, _ in items:
            if len(text) > self.memory.max_text_chars:
                raise RecordTooLarge(
                    f"principle has {len(text)} characters, limit is {self.memory.max_text_chars}"
                )
        self.check_writable()
        if not items:
            return []
        vectors = self.embedder.embed([text for text, _ in items])
        with self.transaction() as conn:
            return [
                pg_rows.upsert_principle(conn, text, domain, source, vector)
                for (text, domain), vector in zip(items, vectors, strict=True)
            ]

    def seed_principles(self, path: Path = SEED_PRINCIPLES) -> int:
        """Load the shipped principles (idempotent); returns how many were new."""
        lines = path.read_text("utf-8").splitlines()
        items = [json.loads(line) for line in lines if line.strip()]
        added = self.add_principles(
            [(i["principle"], i.get("domain")) for i in items], source="seed"
        )
        count = sum(1 for _, new in added if new)
        logger.info("seeded %d new principles from %s", count, path)
        return count

    def confirm(
        self, problem_id: int, correct: bool, true_answer: str | None = None
    ) -> ProblemRecord:
        """Record feedback on a stored answer: verify it, or reject it from retrieval.

        Raises:
            RecordNotFound: No such id.
        """
        self.check_writable()
        with self.transaction() as conn:
            found = conn.execute(
                "UPDATE problems SET verified = %s, verified_by = 'feedback', "
                "use_count = use_count + 1, success_count = success_count + %s, "
                "ground_truth = coalesce(%s, ground_truth) WHERE id = %s RETURNING id",
                [correct, int(correct), true_answer, problem_id],
            ).fetchone()
        if found is None:
            raise RecordNotFound(f"no problem with id {problem_id}")
        return self.get(problem_id)

    def delete(self, problem_id: int) -> None:
        """Delete a problem (its principle links go with it; principles stay).

        Raises:
            RecordNotFound: No such id.
        """
        self.check_writable()
        with self.transaction() as conn:
            found = conn.execute(
                "DELETE FROM problems WHERE id = %s RETURNING id", [problem_id]
            ).fetchone()
        if found is None:
            raise RecordNotFound(f"no problem with id {problem_id}")

    # ----------------------------------------------------------------- reads

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.transaction() as conn:
            return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()

    def get(self, problem_id: int) -> ProblemRecord:
        """Return one problem by id.

        Raises:
            RecordNotFound: No such id.
        """
        rows = self._rows(
            f"SELECT {pg_rows.PROBLEM_COLUMNS} FROM problems WHERE id = %s", [problem_id]
        )
        if not rows:
            raise RecordNotFound(f"no problem with id {problem_id}")
        return ProblemRecord.from_row(rows[0])

    def principles_of(self, problem_id: int) -> list[PrincipleRecord]:
        """Principles linked to a problem, oldest first."""
        rows = self._rows(
            "SELECT p.id, p.text, p.domain, p.source, p.created_at FROM principles p "
            "JOIN problem_principles pp ON pp.principle_id = p.id "
            "WHERE pp.problem_id = %s ORDER BY p.id",
            [problem_id],
        )
        return [PrincipleRecord.from_row(row) for row in rows]

    def _search(
        self,
        table: str,
        columns: str,
        query: str,
        k: int | None,
        where: list[str],
        params: list[Any],
        min_score: float | None,
    ) -> list[tuple[dict[str, Any], float]]:
        vector = self.embedder.embed([query])[0]
        cfg = self.retrieval
        with self.transaction() as conn:
            return pg_rows.ranked_rows(
                conn,
                table,
                columns,
                vector,
                dim=self.embedder.dim,
                k=k or cfg.default_k,
                where=where,
                params=params,
                min_score=cfg.min_score if min_score is None else min_score,
                config=cfg,
            )

    def search_problems(
        self,
        query: str,
        k: int | None = None,
        *,
        domain: str | None = None,
        min_score: float | None = None,
        verified_only: bool = True,
    ) -> list[ProblemHit]:
        """Find stored problems similar to a question, diversified by MMR.

        Args:
            query: The question.
            k: Results wanted (default ``RetrievalConfig.default_k``).
            domain: Only problems with this task tag.
            min_score: Lowest cosine similarity (default ``RetrievalConfig.min_score``).
            verified_only: Skip problems rejected by feedback or imported unverified.

        Returns:
            Up to k hits, most relevant first, no two near-copies.
        """
        where: list[str] = []
        params: list[Any] = []
        if domain is not None:
            where.append("domain = %s")
            params.append(domain)
        if verified_only:
            where.append("verified")
        rows = self._search("problems", pg_rows.PROBLEM_COLUMNS, query, k, where, params, min_score)
        return [ProblemHit(ProblemRecord.from_row(row), score) for row, score in rows]

    def search_principles(
        self,
        query: str,
        k: int | None = None,
        *,
        domain: str | None = None,
        min_score: float | None = None,
    ) -> list[PrincipleHit]:
        """Principles relevant to a question (a domain filter keeps untagged ones too)."""
        where: list[str] = []
        params: list[Any] = []
        if domain is not None:
            where.append("(domain = %s OR domain IS NULL OR domain = 'general')")
            params.append(domain)
        rows = self._search(
            "principles", pg_rows.PRINCIPLE_COLUMNS, query, k, where, params, min_score
        )
        return [PrincipleHit(PrincipleRecord.from_row(row), score) for row, score in rows]

    def count(self, *, verified_only: bool = False) -> int:
        """Number of stored problems."""
        where = " WHERE verified" if verified_only else ""
        return int(self._rows(f"SELECT count(*) AS n FROM problems{where}")[0]["n"])

    def stats(self) -> StoreStats:
        """Counts by status and domain, embedding model and index sizes."""
        with self.transaction() as conn:
            by_domain = {
                str(domain): int(n)
                for domain, n in conn.execute(
                    "SELECT coalesce(domain, '-'), count(*) FROM problems GROUP BY 1 "
                    "ORDER BY 2 DESC, 1"
                )
            }
            row = conn.execute(
                "SELECT (SELECT count(*) FROM problems), "
                "(SELECT count(*) FROM problems WHERE verified), "
                "(SELECT count(*) FROM principles), "
                "(SELECT count(*) FROM problems WHERE embedding IS NOT NULL), "
                "(SELECT count(*) FROM principles WHERE embedding IS NOT NULL), "
                "pg_database_size(current_database())"
            ).fetchone()
        assert row is not None  # a SELECT without FROM always returns its row
        total, verified, principles, indexed, indexed_principles, size = map(int, row)
        return StoreStats(
            problems=total,
            verified=verified,
            rejected=total - verified,
            principles=principles,
            by_domain=by_domain,
            embedding_model=self.embedder.name,
            dim=self.embedder.dim,
            index_kind="pgvector-hnsw",
            indexed_problems=indexed,
            indexed_principles=indexed_principles,
            db_path=self.db_path,
            db_bytes=size,
        )

    # ------------------------------------------------------- bulk operations

    def export_jsonl(self, path: Path) -> int:
        """Write every principle and problem as JSON lines; returns the line count."""
        return pg_bulk.export_jsonl(self, path)

    def import_jsonl(self, path: Path) -> ImportReport:
        """Import JSON lines (as written by either store's ``export_jsonl``)."""
        return pg_bulk.import_jsonl(self, path)

    def rebuild_index(self, *, reembed: bool = False) -> dict[str, int]:
        """Rebuild both HNSW indexes from the rows (re-embedding them first if asked).

        Returns:
            Vectors indexed per table.
        """
        return pg_bulk.rebuild_index(self, reembed=reembed)

    # ------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()

    def __enter__(self) -> PostgresMemoryStore:
        """Use the store as a context manager that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()
