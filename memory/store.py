"""``MemoryStore``: solved problems, reasoning paths and principles in SQLite plus FAISS.

SQLite (via sqlite-utils) is the source of truth, vectors included. Each write is one SQLite
transaction, then the in-memory index update; index files are saved every ``index_save_every``
writes and on ``close``, and rebuilt or caught up from SQLite at open. A re-entrant lock
serialises database and index access (API threads may share a store); embedding runs outside.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database

from memory import transfer
from memory.config import MemoryConfig
from memory.errors import (
    REBUILD_COMMAND,
    EmbeddingMismatch,
    MemoryNotWritable,
    MemoryStoreError,
    RecordNotFound,
)
from memory.indexes import TableIndex, reembed_table
from memory.migrations import connect, last_pk, migrate, now_iso, pending
from memory.principles import SEED_PRINCIPLES, PrincipleBook
from memory.problems import check_path_sizes, find_duplicate, merge_into, new_row
from memory.records import (
    AddResult,
    ImportReport,
    PrincipleHit,
    PrincipleRecord,
    ProblemHit,
    ProblemRecord,
    StoreStats,
    content_hash,
)
from memory.search import ranked_rows
from memory.writeback import VerifiedPath
from retrieval.config import RetrievalConfig
from retrieval.embedder import Embedder

logger = logging.getLogger(__name__)

# Below this much free space in the data directory, /readyz says the disk is full.
MIN_FREE_BYTES = 1 << 20


def _read_only(db_path: Path | str) -> bool:
    """Whether an existing database sits where it cannot be written (read-only mount...)."""
    path = Path(db_path)
    if str(db_path) == ":memory:" or not path.exists():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _open_read_only(db_path: Path | str) -> Database:
    """Open a memory that cannot be written: reads only, no WAL, no migration.

    ``immutable`` because SQLite cannot create the WAL's shared-memory file on a read-only
    mount; nothing can write there meanwhile.

    Raises:
        MemoryNotWritable: The file needs a migration, which cannot be written.
    """
    conn = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True,
                           check_same_thread=False)  # fmt: skip
    db = Database(conn)
    if pending(db):
        conn.close()
        raise MemoryNotWritable(
            f"memory {db_path} is read-only and needs migrations {', '.join(pending(db))}; "
            "open it once where it can be written"
        )
    logger.warning("memory %s is read-only: answers are served, nothing is stored", db_path)
    return db


def _open_checked(db_path: Path | str) -> tuple[Database, bool]:
    """Connect, check the file is a sound SQLite database, and migrate it.

    A damaged file (truncated, overwritten) fails here, at start-up, with the fix named,
    instead of in the middle of a request. A read-only one opens for reading; the
    second value says which.

    Raises:
        MemoryStoreError: The file is not a database, or is damaged.
    """
    try:
        read_only = _read_only(db_path)
        db = _open_read_only(db_path) if read_only else connect(db_path)
        verdict = db.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(verdict)
        if not read_only:
            migrate(db)
    except sqlite3.DatabaseError as ex:
        raise MemoryStoreError(
            f"memory database {db_path} is damaged ({ex}); restore a backup with "
            "`reason memory restore FILE`, or move the file away to start an empty memory"
        ) from None
    return db, read_only


# SQLite's primary result codes (the low byte of an extended code) for a store that cannot be
# written: the disk is full, the file or folder is read-only, or the write itself failed.
_CANNOT_WRITE = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
                 sqlite3.SQLITE_CANTOPEN}  # fmt: skip


def _cannot_write(ex: sqlite3.Error) -> bool:
    """Whether ``ex`` says the database cannot be written (rather than a bug or a lock)."""
    code = getattr(ex, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _CANNOT_WRITE


class MemoryStore:
    """Store and search verified reasoning paths and principles."""

    def __init__(
        self,
        db_path: Path | str,
        index_dir: Path | None,
        embedder: Embedder,
        memory: MemoryConfig,
        retrieval: RetrievalConfig,
        *,
        reembed: bool = False,
    ) -> None:
        """Open (creating and migrating if needed) a store.

        Args:
            db_path: SQLite file, or ``":memory:"``.
            index_dir: Folder for the FAISS index folders; None keeps indexes in memory.
            embedder: Turns questions and principles into vectors.
            memory: Memory settings.
            retrieval: Retrieval settings.
            reembed: Re-embed every row with ``embedder`` now, even one embedded with another
                model (what ``reason memory rebuild-index`` does).

        Raises:
            EmbeddingMismatch: The store was embedded with another model or dimension and
                ``reembed`` is false.
        """
        self.memory = memory
        self.retrieval = retrieval
        self.embedder = embedder
        self.db_path = str(db_path)
        self.lock = threading.RLock()
        self.db, self.read_only = _open_checked(db_path)
        self.problems_index = self._table_index("problems", index_dir)
        self.principles = PrincipleBook(
            self.db,
            self._table_index("principles", index_dir),
            embedder,
            self.lock,
            max_chars=memory.max_text_chars,
            retrieval=retrieval,
        )
        stored = self._stored_model()
        if stored is not None and stored != (embedder.name, embedder.dim) and not reembed:
            self.db.close()
            raise EmbeddingMismatch(
                f"memory {self.db_path} was embedded with {stored[0]} ({stored[1]}-d) but the "
                f"configured embedder is {embedder.name} ({embedder.dim}-d); run "
                f"`{REBUILD_COMMAND}` to re-embed it, or configure the original model"
            )
        if reembed:
            self.rebuild_index(reembed=True)
            return
        if stored is None:
            self._write_model_meta()
        for index in self._indexes:
            outcome = index.open(self.db)
            logger.info("%s index %s (%d vectors)", index.table, outcome, index.index.ntotal)

    @property
    def _indexes(self) -> tuple[TableIndex, TableIndex]:
        return self.problems_index, self.principles.index

    def _table_index(self, table: str, index_dir: Path | None) -> TableIndex:
        directory = None if index_dir is None else Path(index_dir) / table
        return TableIndex(
            table, directory, dim=self.embedder.dim, model=self.embedder.name, config=self.retrieval
        )

    def _stored_model(self) -> tuple[str, int] | None:
        rows = list(self.db["embedding_meta"].rows_where("id = 1"))
        return (rows[0]["model"], int(rows[0]["dim"])) if rows else None

    def _write_model_meta(self) -> None:
        meta = {"id": 1, "model": self.embedder.name, "dim": self.embedder.dim}
        self.db.table("embedding_meta").upsert({**meta, "updated_at": now_iso()}, pk="id")

    def _after_write(self) -> None:
        for index in self._indexes:
            if index.unsaved_writes >= self.memory.index_save_every:
                index.save(self.db)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write transaction; a full disk or a read-only directory is a clear error."""
        self._check_writable()
        try:
            with self.db.atomic():
                yield
        except sqlite3.OperationalError as ex:
            if _cannot_write(ex):
                raise MemoryNotWritable(
                    f"memory {self.db_path} cannot be written ({ex}): answers are still "
                    "served, nothing is stored until the disk has space or is writable again"
                ) from None
            raise

    def _check_writable(self) -> None:
        if self.read_only:
            raise MemoryNotWritable(
                f"memory {self.db_path} is read-only: answers are still served, nothing is "
                "stored until the directory is writable and the service restarted"
            )

    def writable(self) -> str | None:
        """None when memory can be written, else why not (read-only, or no free space)."""
        if self.db_path == ":memory:":
            return None
        folder = Path(self.db_path).parent
        if not os.access(folder, os.W_OK) or not os.access(self.db_path, os.W_OK):
            return "read-only"
        try:
            stat = os.statvfs(folder)
        except OSError as ex:
            return f"unknown ({ex})"
        if stat.f_bavail * stat.f_frsize < MIN_FREE_BYTES:
            return "disk full"
        if stat.f_flag & os.ST_RDONLY:
            return "read-only"
        return None

    # ---------------------------------------------------------------- writes

    def add_problem(self, path: VerifiedPath) -> AddResult:
        """Store a verified path, or merge it into a near-duplicate with the same answer.

        Args:
            path: Evidence that passed ``memory.writeback.decide``.

        Returns:
            The row id and whether a row was ``added`` or an existing one ``merged``.

        Raises:
            TypeError: ``path`` is not a ``VerifiedPath``.
            RecordTooLarge: A text is over ``max_text_chars``.
        """
        if not isinstance(path, VerifiedPath):
            raise TypeError("MemoryStore.add_problem accepts only a VerifiedPath from decide()")
        ev = path.evidence
        check_path_sizes(path, self.memory.max_text_chars)
        vector = self.embedder.embed([ev.question])[0]
        pvec = self.embedder.embed([ev.principle])[0] if ev.principle else None
        key = content_hash(ev.question, ev.answer)
        with self.lock:
            match = find_duplicate(
                self.db,
                self.problems_index.index,
                key,
                vector,
                ev.answer,
                self.memory.near_duplicate_cosine,
            )
            with self._writing():
                if match is not None:
                    row_id = match[0]
                    merge_into(self.db, row_id, path)
                else:
                    row_id = last_pk(self.db.table("problems").insert(new_row(path, key, vector)))
                new_pid = self.principles.link(row_id, ev.principle, ev.domain, ev.source, pvec)
            if match is None:
                self.problems_index.add(row_id, vector)
            self.principles.index_new(new_pid, pvec)
            self._after_write()
        if match is not None:
            logger.debug("merged into problem %d (similarity %.3f)", row_id, match[1])
            return AddResult(row_id, "merged", match[1])
        logger.debug("added problem %d domain=%s", row_id, ev.domain)
        return AddResult(row_id, "added")

    def add_principle(self, text: str, domain: str | None = None, source: str | None = None) -> int:
        """Store a principle unless the same text is stored; returns its id."""
        self._check_writable()
        return self.principles.add_many([(text, domain)], source=source)[0]

    def seed_principles(self, path: Path = SEED_PRINCIPLES) -> int:
        """Load the shipped principles (idempotent); returns how many were new."""
        self._check_writable()
        added = self.principles.seed(path)
        with self.lock:
            self._after_write()
        return added

    def confirm(
        self, problem_id: int, correct: bool, true_answer: str | None = None
    ) -> ProblemRecord:
        """Record feedback on a stored answer: verify it, or reject it from retrieval.

        Args:
            problem_id: Row id.
            correct: Whether the stored answer is right.
            true_answer: The right answer, if known (stored as ground truth).

        Returns:
            The updated record.

        Raises:
            RecordNotFound: No such id.
        """
        with self.lock:
            self.get(problem_id)
            with self._writing():
                self.db.execute(
                    "UPDATE problems SET verified = ?, verified_by = 'feedback', "
                    "use_count = use_count + 1, success_count = success_count + ?, "
                    "ground_truth = coalesce(?, ground_truth) WHERE id = ?",
                    [int(correct), int(correct), true_answer, problem_id],
                )
            return self.get(problem_id)

    def delete(self, problem_id: int) -> None:
        """Delete a problem (its principle links go with it; principles stay).

        Raises:
            RecordNotFound: No such id.
        """
        with self.lock:
            self.get(problem_id)
            with self._writing():
                self.db.execute("DELETE FROM problems WHERE id = ?", [problem_id])
            self.problems_index.remove(problem_id)
            self._after_write()

    # ----------------------------------------------------------------- reads

    def get(self, problem_id: int) -> ProblemRecord:
        """Return one problem by id.

        Raises:
            RecordNotFound: No such id.
        """
        with self.lock:
            rows = list(self.db["problems"].rows_where("id = ?", [problem_id]))
        if not rows:
            raise RecordNotFound(f"no problem with id {problem_id}")
        return ProblemRecord.from_row(rows[0])

    def principles_of(self, problem_id: int) -> list[PrincipleRecord]:
        """Principles linked to a problem."""
        return self.principles.of_problem(problem_id)

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
            where.append("domain = ?")
            params.append(domain)
        if verified_only:
            where.append("verified = 1")
        vector = self.embedder.embed([query])[0]
        cfg = self.retrieval
        with self.lock:
            rows = ranked_rows(
                self.db,
                "problems",
                self.problems_index.index,
                vector,
                k=k or cfg.default_k,
                where=where,
                params=params,
                min_score=cfg.min_score if min_score is None else min_score,
                config=cfg,
            )
        return [ProblemHit(ProblemRecord.from_row(row), score) for row, score in rows]

    def search_principles(
        self,
        query: str,
        k: int | None = None,
        *,
        domain: str | None = None,
        min_score: float | None = None,
    ) -> list[PrincipleHit]:
        """Find principles relevant to a question, diversified by MMR.

        Args:
            query: The question.
            k: Results wanted (default ``RetrievalConfig.default_k``).
            domain: Only principles of this domain, or without a domain.
            min_score: Lowest cosine similarity (default ``RetrievalConfig.min_score``).

        Returns:
            Up to k hits, most relevant first.
        """
        return self.principles.search(query, k, domain=domain, min_score=min_score)

    def count(self, *, verified_only: bool = False) -> int:
        """Number of stored problems."""
        with self.lock:
            return int(self.db["problems"].count_where("verified = 1" if verified_only else None))

    def stats(self) -> StoreStats:
        """Counts by status and domain, embedding model and index sizes."""
        with self.lock:
            by_domain = {
                str(domain): int(n)
                for domain, n in self.db.execute(
                    "SELECT coalesce(domain, '-'), count(*) FROM problems GROUP BY 1 "
                    "ORDER BY 2 DESC, 1"
                )
            }
            total, verified = self.count(), self.count(verified_only=True)
            path = Path(self.db_path)
            return StoreStats(
                problems=total,
                verified=verified,
                rejected=total - verified,
                principles=self.principles.count(),
                by_domain=by_domain,
                embedding_model=self.embedder.name,
                dim=self.embedder.dim,
                index_kind=self.retrieval.index_kind,
                indexed_problems=self.problems_index.index.ntotal,
                indexed_principles=self.principles.index.index.ntotal,
                db_path=self.db_path,
                db_bytes=path.stat().st_size if path.is_file() else 0,
            )

    # ------------------------------------------------------- bulk operations

    def export_jsonl(self, path: Path) -> int:
        """Write every principle and problem as JSON lines; returns the line count."""
        with self.lock:
            return transfer.export_jsonl(self.db, path)

    def import_jsonl(self, path: Path) -> ImportReport:
        """Import JSON lines (as written by ``export_jsonl``); bad lines are reported by number."""
        report = transfer.import_jsonl(self, path)
        with self.lock:
            self._after_write()
        return report

    def rebuild_index(self, *, reembed: bool = False) -> dict[str, int]:
        """Rebuild both FAISS indexes from SQLite.

        Args:
            reembed: First re-embed every question and principle with the current embedder
                (needed after changing the embedding model).

        Returns:
            Vectors indexed per table.
        """
        with self.lock:
            if reembed:
                reembed_table(self.db, "problems", "question", self.embedder)
                reembed_table(self.db, "principles", "text", self.embedder)
                self._write_model_meta()
            return {index.table: index.rebuild(self.db) for index in self._indexes}

    # ------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Save the indexes if they changed and close the database."""
        with self.lock:
            for index in self._indexes:
                if index.unsaved_writes:
                    index.save(self.db)
            self.db.close()

    def __enter__(self) -> MemoryStore:
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
