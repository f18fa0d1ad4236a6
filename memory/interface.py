"""``MemoryInterface``: what every memory store offers, whichever database holds it.

The shape of httpx's ``_transports/base.py``: one base class holds the public methods, their
docstrings and everything that does not depend on the database (size checks, rows, search
filters, ranking, row -> record, principles, JSONL export and import); each store subclass
supplies its connection, its transactions and its vector search:

- ``memory.sqlite.MemoryStore``: SQLite + FAISS in a data directory (the default);
- ``memory.postgres.PostgresMemoryStore``: PostgreSQL + pgvector, shared by replicas.

``memory.factory.open_store`` picks one from ``MemoryConfig.url``; callers (the reasoner,
the service, the CLI) type their store as this class and never ask which.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from memory import records
from memory import rows as sql
from memory.config import MemoryConfig
from memory.errors import MemoryNotWritable, MemoryStoreError, RecordNotFound
from memory.ranking import Scored, Search, rank
from memory.transfer import SEED_PRINCIPLES, read_jsonl, read_seed, write_export
from memory.writeback import VerifiedPath
from retrieval.config import RetrievalConfig
from retrieval.embedder import Embedder

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: The tables with vectors, and the text column each embeds.
VECTOR_TABLES = (("problems", "question"), ("principles", "text"))


class MemoryInterface(ABC):
    """Store and search verified reasoning paths and principles."""

    memory: MemoryConfig
    retrieval: RetrievalConfig
    embedder: Embedder
    read_only: bool
    #: Where the store lives, for messages (a file, or a URL without its password).
    db_path: str
    #: What has to change before a read-only store can be written (ends its error message).
    writable_again = "the store is writable and the service restarted"

    def __init__(
        self,
        location: Path | str,
        embedder: Embedder,
        memory: MemoryConfig,
        retrieval: RetrievalConfig,
        *,
        reembed: bool = False,
    ) -> None:
        """Open the store at ``location``, creating and migrating it if needed.

        Args:
            location: The SQLite file (or ``":memory:"``), or the ``postgresql://`` URL.
            embedder: Turns questions and principles into vectors.
            memory: Memory settings.
            retrieval: Retrieval settings (search defaults, index parameters).
            reembed: Re-embed every row with ``embedder`` now, even one embedded with another
                model (what ``reason memory rebuild-index --reembed`` does).

        Raises:
            MemoryStoreError: The store is damaged or cannot be reached.
            MemoryNotWritable: A read-only store whose schema needs migrations.
            EmbeddingMismatch: The rows were embedded with another model or dimension and
                ``reembed`` is false.
        """
        self.embedder = embedder
        self.memory = memory
        self.retrieval = retrieval
        self._open(str(location), reembed=reembed)

    # ------------------------------------------------- what each store supplies

    @abstractmethod
    def _open(self, location: str, *, reembed: bool) -> None:
        """Connect, migrate, check the embedding model; set ``db_path`` and ``read_only``."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[sql.Run]:
        """A statement runner for reads (under the store's lock or in one transaction)."""

    @abstractmethod
    def _write(self) -> AbstractContextManager[sql.Run]:
        """A statement runner in one write transaction, committed at the end.

        Raises ``MemoryNotWritable`` when the store cannot be written.
        """

    @abstractmethod
    def _vector_param(self, vector: NDArray[np.float32]) -> object:
        """A vector as the driver stores it in an ``embedding`` column."""

    @abstractmethod
    def _vector_of(self, value: Any) -> NDArray[np.float32]:
        """A stored ``embedding`` value as a vector."""

    @abstractmethod
    def _candidates(self, run: sql.Run, search: Search) -> list[Scored]:
        """Up to ``search.wanted`` rows nearest to its vector that pass its filters, nearest
        first."""

    @abstractmethod
    def _near_duplicate(
        self, run: sql.Run, vector: NDArray[np.float32], answer_norm: str
    ) -> tuple[int, float] | None:
        """The most similar problem with this normalised answer at or above
        ``near_duplicate_cosine``: ``(id, similarity)``, or None."""

    def _lock_answer(self, run: sql.Run, answer_norm: str) -> None:
        """Make writers of the same answer take turns until the transaction ends."""
        return None  # the default: nothing to do

    def _indexed(self, table: str, row_id: int, vector: NDArray[np.float32]) -> None:
        """A row with a vector was inserted in the current write transaction."""
        return None  # the default: nothing to do

    def _unindexed(self, table: str, row_id: int) -> None:
        """A row was deleted in the current write transaction."""
        return None  # the default: nothing to do

    @abstractmethod
    def _index_sizes(self, run: sql.Run) -> tuple[str, int, int]:
        """The vector index kind and the vectors indexed for problems and principles."""

    @abstractmethod
    def _db_bytes(self, run: sql.Run) -> int:
        """Size of the database in bytes."""

    @abstractmethod
    def writable(self) -> str | None:
        """None when memory can be written, else why not."""

    @abstractmethod
    def rebuild_index(self, *, reembed: bool = False) -> dict[str, int]:
        """Rebuild the vector indexes from the stored rows; returns vectors per table.

        Args:
            reembed: First re-embed every question and principle with the current embedder
                (needed after changing the embedding model).
        """

    @abstractmethod
    def close(self) -> None:
        """Release the store's resources."""

    # ------------------------------------------------------------------ writes

    def _check_writable(self) -> None:
        if self.read_only:
            raise MemoryNotWritable(
                f"memory {self.db_path} is read-only: answers are still served, nothing is "
                f"stored until {self.writable_again}"
            )

    def add_problem(self, path: VerifiedPath) -> records.AddResult:
        """Store a verified path, or merge it into a near-duplicate with the same answer.

        Args:
            path: Evidence that passed ``memory.writeback.decide``.

        Returns:
            The row id and whether a row was ``added`` or an existing one ``merged``.

        Raises:
            TypeError: ``path`` is not a ``VerifiedPath``.
            RecordTooLarge: A text is over ``max_text_chars``.
            MemoryNotWritable: The store cannot be written.
        """
        if not isinstance(path, VerifiedPath):
            raise TypeError("MemoryStore.add_problem accepts only a VerifiedPath from decide()")
        ev = path.evidence
        sql.check_path_sizes(path, self.memory.max_text_chars)
        self._check_writable()
        vector = self.embedder.embed([ev.question])[0]
        pvec = self.embedder.embed([ev.principle])[0] if ev.principle else None
        key = records.content_hash(ev.question, ev.answer)
        answer_norm = records.normalize_answer(ev.answer)
        with self._write() as run:
            self._lock_answer(run, answer_norm)
            found = sql.find_by_hash(run, key)
            match = (found, 1.0) if found is not None else None
            match = match or self._near_duplicate(run, vector, answer_norm)
            if match is not None:
                row_id = match[0]
                sql.merge_into(run, row_id, path)
            else:
                row_id = self._insert_problem(run, sql.new_row(path, key), vector)
            if ev.principle and pvec is not None:
                self._link(run, row_id, ev.principle, ev.domain, ev.source, pvec)
        if match is not None:
            logger.debug("merged into problem %d (similarity %.3f)", row_id, match[1])
            return records.AddResult(row_id, "merged", match[1])
        logger.debug("added problem %d domain=%s", row_id, ev.domain)
        return records.AddResult(row_id, "added")

    def _insert_problem(
        self, run: sql.Run, row: dict[str, Any], vector: NDArray[np.float32]
    ) -> int:
        row_id = sql.insert_problem(run, row, self._vector_param(vector))
        if row_id is None:  # callers look the hash up first, in the same transaction
            raise MemoryStoreError(f"problem {row['content_hash']} was stored concurrently")
        self._indexed("problems", row_id, vector)
        return row_id

    def _link(
        self,
        run: sql.Run,
        problem_id: int,
        text: str,
        domain: str | None,
        source: str | None,
        vector: NDArray[np.float32],
    ) -> None:
        principle_id, new = sql.upsert_principle(
            run, text, domain, source, self._vector_param(vector)
        )
        sql.link_principle(run, problem_id, principle_id)
        if new:
            self._indexed("principles", principle_id, vector)

    def add_principle(self, text: str, domain: str | None = None, source: str | None = None) -> int:
        """Store a principle unless the same text is stored; returns its id."""
        return self.add_principles([(text, domain)], source=source)[0][0]

    def add_principles(
        self, items: Sequence[tuple[str, str | None]], *, source: str | None
    ) -> list[tuple[int, bool]]:
        """Store ``(text, domain)`` principles in one transaction: ``(id, new)`` of each.

        Raises:
            RecordTooLarge: A text is over ``max_text_chars``.
        """
        for text, _ in items:
            sql.check_size("principle", text, self.memory.max_text_chars)
        self._check_writable()
        if not items:
            return []
        vectors = self.embedder.embed([text for text, _ in items])
        added: list[tuple[int, bool]] = []
        with self._write() as run:
            for (text, domain), vector in zip(items, vectors, strict=True):
                principle_id, new = sql.upsert_principle(
                    run, text, domain, source, self._vector_param(vector)
                )
                if new:
                    self._indexed("principles", principle_id, vector)
                added.append((principle_id, new))
        return added

    def seed_principles(self, path: Path = SEED_PRINCIPLES) -> int:
        """Load the shipped principles (idempotent); returns how many were new."""
        self._check_writable()
        # Known texts are skipped before embedding: a service seeds at every start.
        with self._read() as run:
            known = {row[0] for row in run("SELECT text FROM principles", []).fetchall()}
        items = [item for item in read_seed(path) if item[0] not in known]
        count = sum(1 for _, new in self.add_principles(items, source="seed") if new)
        logger.info("seeded %d new principles from %s", count, path)
        return count

    def confirm(
        self, problem_id: int, correct: bool, true_answer: str | None = None
    ) -> records.ProblemRecord:
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
        self.get(problem_id)
        with self._write() as run:
            if not sql.record_feedback(run, problem_id, correct, true_answer):
                raise RecordNotFound(f"no problem with id {problem_id}")
        return self.get(problem_id)

    def record_recalls(
        self, outcomes: Sequence[tuple[int, bool]], *, demote_after_lost: int | None
    ) -> list[int]:
        """Count recalls of stored problems and demote those that keep leading astray.

        Args:
            outcomes: ``(problem id, won)`` per recalled record: won when the paths shown it
                reached the verified answer, lost when they reached only other answers.
            demote_after_lost: Lost recalls (and more lost than won) before a record is no
                longer verified, and so no longer recalled; None never demotes.

        Returns:
            The ids demoted now. Unknown ids (deleted meanwhile) are skipped.
        """
        if not outcomes:
            return []
        self._check_writable()
        with self._write() as run:
            return [
                problem_id
                for problem_id, won in outcomes
                if sql.record_recall(run, problem_id, won, demote_after_lost)
            ]

    def delete(self, problem_id: int) -> None:
        """Delete a problem (its principle links go with it; principles stay).

        Raises:
            RecordNotFound: No such id.
        """
        self.get(problem_id)
        with self._write() as run:
            if not sql.delete_problem(run, problem_id):
                raise RecordNotFound(f"no problem with id {problem_id}")
            self._unindexed("problems", problem_id)

    # ------------------------------------------------------------------- reads

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._read() as run:
            return sql.dict_rows(run(query, params))

    def get(self, problem_id: int) -> records.ProblemRecord:
        """Return one problem by id.

        Raises:
            RecordNotFound: No such id.
        """
        found = self._rows(f"SELECT {sql.PROBLEM_COLUMNS} FROM problems WHERE id = ?", [problem_id])
        if not found:
            raise RecordNotFound(f"no problem with id {problem_id}")
        return records.ProblemRecord.from_row(found[0])

    def principles_of(self, problem_id: int) -> list[records.PrincipleRecord]:
        """Principles linked to a problem, oldest first."""
        found = self._rows(sql.PRINCIPLES_OF_SQL, [problem_id])
        return [records.PrincipleRecord.from_row(row) for row in found]

    def _search(
        self,
        table: str,
        columns: str,
        query: str,
        k: int | None,
        filters: tuple[list[str], list[Any]],
        min_score: float | None,
    ) -> list[Scored]:
        vector = self.embedder.embed([query])[0]
        cfg = self.retrieval
        k = k or cfg.default_k
        floor = cfg.min_score if min_score is None else min_score
        if k <= 0:
            return []
        where, params = filters
        search = Search(table, columns, vector, k * cfg.candidate_multiplier, where, params, floor)
        with self._read() as run:
            candidates = self._candidates(run, search)
        return rank(candidates, search, k=k, config=cfg, vector_of=self._vector_of)

    def search_problems(
        self,
        query: str,
        k: int | None = None,
        *,
        verified_only: bool = True,
        domain: str | None = None,
        min_score: float | None = None,
    ) -> list[records.ProblemHit]:
        """Find stored problems similar to a question, diversified by MMR.

        Args:
            query: The question.
            k: Results wanted (default ``RetrievalConfig.default_k``).
            verified_only: Skip problems rejected by feedback or imported unverified.
            domain: Only problems with this task tag.
            min_score: Lowest cosine similarity (default ``RetrievalConfig.min_score``).

        Returns:
            Up to k hits, most relevant first, no two near-copies.
        """
        filters = sql.search_filters(domain=domain, verified_only=verified_only)
        found = self._search("problems", sql.PROBLEM_COLUMNS, query, k, filters, min_score)
        return [records.ProblemHit(records.ProblemRecord.from_row(r), s) for r, s in found]

    def search_principles(
        self,
        query: str,
        k: int | None = None,
        *,
        domain: str | None = None,
        min_score: float | None = None,
    ) -> list[records.PrincipleHit]:
        """Find principles relevant to a question, diversified by MMR, as ``search_problems``
        finds problems; a domain keeps the principles without one (or ``general``) too."""
        filters = sql.search_filters(domain=domain, principles=True)
        found = self._search("principles", sql.PRINCIPLE_COLUMNS, query, k, filters, min_score)
        return [records.PrincipleHit(records.PrincipleRecord.from_row(r), s) for r, s in found]

    def count(self, *, verified_only: bool = False) -> int:
        """Number of stored problems."""
        where = " WHERE verified = true" if verified_only else ""
        with self._read() as run:
            return int(run(f"SELECT count(*) FROM problems{where}", []).fetchone()[0])

    def stats(self) -> records.StoreStats:
        """Counts by status and domain, embedding model and index sizes."""
        with self._read() as run:
            by_domain = {str(d): int(n) for d, n in run(sql.BY_DOMAIN_SQL, []).fetchall()}
            total, verified, principles = map(int, run(sql.COUNTS_SQL, []).fetchone())
            kind, indexed_problems, indexed_principles = self._index_sizes(run)
            size = self._db_bytes(run)
        return records.StoreStats(
            problems=total,
            verified=verified,
            rejected=total - verified,
            principles=principles,
            by_domain=by_domain,
            embedding_model=self.embedder.name,
            dim=self.embedder.dim,
            index_kind=kind,
            indexed_problems=indexed_problems,
            indexed_principles=indexed_principles,
            db_path=self.db_path,
            db_bytes=size,
        )

    # --------------------------------------------------------- bulk operations

    def _snapshot(self) -> AbstractContextManager[sql.Run]:
        """Reads that see one state of the store (the export's)."""
        return self._read()

    def export_jsonl(self, path: Path) -> int:
        """Write every principle and problem as JSON lines; returns the line count."""
        with self._snapshot() as run:
            principles = sql.dict_rows(
                run(f"SELECT {sql.PRINCIPLE_COLUMNS} FROM principles ORDER BY id", [])
            )
            problems = sql.dict_rows(
                run(f"SELECT {sql.PROBLEM_COLUMNS} FROM problems ORDER BY id", [])
            )
            links = [(int(r[0]), str(r[1])) for r in run(sql.LINKS_SQL, []).fetchall()]
        return write_export(path, principles, problems, links)

    def import_jsonl(self, path: Path) -> records.ImportReport:
        """Import JSON lines (as written by either store's ``export_jsonl``); bad lines are
        reported by number."""
        self._check_writable()

        def add_principle(text: str, domain: str | None, source: str | None) -> int:
            return int(self.add_principles([(text, domain)], source=source)[0][1])

        max_chars = min(self.memory.max_text_chars, self.retrieval.max_text_chars)
        return read_jsonl(path, max_chars, add_principle, self._insert_rows)

    def _insert_rows(
        self, rows: Sequence[dict[str, Any]], principles: Sequence[list[str]]
    ) -> list[int | None]:
        """Insert imported rows in one transaction; None for a row whose hash is stored."""
        vectors = self.embedder.embed([row["question"] for row in rows])
        texts = sorted({t for group in principles for t in group})
        pvecs = dict(zip(texts, self.embedder.embed(texts), strict=True)) if texts else {}
        ids: list[int | None] = []
        with self._write() as run:
            for row, vector, group in zip(rows, vectors, principles, strict=True):
                if sql.find_by_hash(run, row["content_hash"]) is not None:
                    ids.append(None)
                    continue
                row_id = self._insert_problem(run, row, vector)
                ids.append(row_id)
                for text in group:
                    self._link(run, row_id, text, row.get("domain"), row.get("source"), pvecs[text])
        return ids

    def _reembed(self, table: str, column: str, chunk: int = 512) -> int:
        """Recompute the ``embedding`` of every row of a table, ``chunk`` rows a transaction."""
        with self._read() as run:
            found = run(f"SELECT id, {column} FROM {table} ORDER BY id", []).fetchall()
        for start in range(0, len(found), chunk):
            part = found[start : start + chunk]
            vectors = self.embedder.embed([r[1] for r in part])
            with self._write() as run:
                for (row_id, _), vector in zip(part, vectors, strict=True):
                    run(
                        f"UPDATE {table} SET embedding = ? WHERE id = ?",
                        [self._vector_param(vector), row_id],
                    )
        logger.info("re-embedded %d %s rows with %s", len(found), table, self.embedder.name)
        return len(found)

    # --------------------------------------------------------------- lifecycle

    def __enter__(self) -> MemoryInterface:
        """Use the store as a context manager that closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()
