"""``MemoryStore``: solved problems, reasoning paths and principles in SQLite plus FAISS.

SQLite (via sqlite-utils) is the source of truth, vectors included. Each write is one SQLite
transaction, then the in-memory index update; index files are saved every ``index_save_every``
writes and on ``close``, and rebuilt or caught up from SQLite at open. A re-entrant lock
serialises database and index access (API threads may share a store); embedding runs outside.
What does not depend on SQLite is in ``memory.interface.MemoryInterface``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from memory.errors import REBUILD_COMMAND, EmbeddingMismatch, MemoryNotWritable
from memory.interface import VECTOR_TABLES, MemoryInterface
from memory.ranking import Scored, Search
from memory.rows import Run, now_iso
from memory.sqlite.database import cannot_write, open_checked
from memory.sqlite.indexes import TableIndex, from_blob, to_blob
from memory.sqlite.search import candidates

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

# Below this much free space in the data directory, /readyz says the disk is full.
MIN_FREE_BYTES = 1 << 20
#: Nearest neighbours checked for a near-duplicate with the same answer.
_DUPLICATE_CANDIDATES = 8


class MemoryStore(MemoryInterface):
    """Store and search verified reasoning paths and principles in SQLite + FAISS."""

    writable_again = "the directory is writable and the service restarted"

    def _open(self, location: str, *, reembed: bool) -> None:
        """Open the SQLite file (its FAISS index folders beside it; in memory for ":memory:")."""
        embedder = self.embedder
        self.db_path = location
        index_dir = None if location == ":memory:" else Path(location).parent
        self.lock = threading.RLock()
        self.db, self.read_only = open_checked(location)
        self.indexes = {
            table: TableIndex(
                table,
                None if index_dir is None else Path(index_dir) / table,
                dim=embedder.dim,
                model=embedder.name,
                config=self.retrieval,
            )
            for table, _ in VECTOR_TABLES
        }
        # Index changes of the write transaction in progress, applied when it commits.
        self._pending: list[tuple[str, int, NDArray[np.float32] | None]] = []
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
        for index in self.indexes.values():
            outcome = index.open(self.db)
            logger.info("%s index %s (%d vectors)", index.table, outcome, index.index.ntotal)

    @property
    def problems_index(self) -> TableIndex:
        """The FAISS index of the ``problems`` table."""
        return self.indexes["problems"]

    def _stored_model(self) -> tuple[str, int] | None:
        rows = list(self.db["embedding_meta"].rows_where("id = 1"))
        return (rows[0]["model"], int(rows[0]["dim"])) if rows else None

    def _write_model_meta(self) -> None:
        meta = {"id": 1, "model": self.embedder.name, "dim": self.embedder.dim}
        self.db.table("embedding_meta").upsert({**meta, "updated_at": now_iso()}, pk="id")

    # -------------------------------------------------- MemoryInterface's hooks

    @contextmanager
    def _read(self) -> Iterator[Run]:
        with self.lock:
            yield self.db.execute

    @contextmanager
    def _write(self) -> Iterator[Run]:
        """A write transaction; a full disk or a read-only directory is a clear error.

        The FAISS indexes change only once the transaction has committed.
        """
        self._check_writable()
        with self.lock:
            self._pending = []
            try:
                with self.db.atomic():
                    yield self.db.execute
            except sqlite3.OperationalError as ex:
                if cannot_write(ex):
                    raise MemoryNotWritable(
                        f"memory {self.db_path} cannot be written ({ex}): answers are still "
                        "served, nothing is stored until the disk has space or is writable "
                        "again"
                    ) from None
                raise
            finally:
                done, self._pending = self._pending, []
            for table, row_id, vector in done:
                if vector is None:
                    self.indexes[table].remove(row_id)
                else:
                    self.indexes[table].add(row_id, vector)
            for index in self.indexes.values():
                if index.unsaved_writes >= self.memory.index_save_every:
                    index.save(self.db)

    def _indexed(self, table: str, row_id: int, vector: NDArray[np.float32]) -> None:
        self._pending.append((table, row_id, vector))

    def _unindexed(self, table: str, row_id: int) -> None:
        self._pending.append((table, row_id, None))

    def _vector_param(self, vector: NDArray[np.float32]) -> object:
        return to_blob(vector)

    def _vector_of(self, value: Any) -> NDArray[np.float32]:
        return from_blob(value, self.embedder.dim)

    def _candidates(self, run: Run, search: Search) -> list[Scored]:
        return candidates(self.db, self.indexes[search.table].index, search)

    def _near_duplicate(
        self, run: Run, vector: NDArray[np.float32], answer_norm: str
    ) -> tuple[int, float] | None:
        threshold = self.memory.near_duplicate_cosine
        hits = self.problems_index.index.search(vector, _DUPLICATE_CANDIDATES)[0]
        hits = [(i, s) for i, s in hits if s >= threshold]
        if not hits:
            return None
        marks = ",".join("?" * len(hits))
        same = {
            int(row_id)
            for row_id, stored in run(
                f"SELECT id, answer_norm FROM problems WHERE id IN ({marks})", [i for i, _ in hits]
            ).fetchall()
            if stored == answer_norm
        }
        best = [(i, s) for i, s in hits if i in same]
        return best[0] if best else None

    def _index_sizes(self, run: Run) -> tuple[str, int, int]:
        sizes = [self.indexes[table].index.ntotal for table, _ in VECTOR_TABLES]
        return self.retrieval.index_kind, sizes[0], sizes[1]

    def _db_bytes(self, run: Run) -> int:
        path = Path(self.db_path)
        return path.stat().st_size if path.is_file() else 0

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

    def rebuild_index(self, *, reembed: bool = False) -> dict[str, int]:
        """Rebuild both FAISS indexes from SQLite (re-embedding the rows first if asked)."""
        with self.lock:
            if reembed:
                for table, column in VECTOR_TABLES:
                    self._reembed(table, column)
                self._write_model_meta()
            return {table: index.rebuild(self.db) for table, index in self.indexes.items()}

    def close(self) -> None:
        """Save the indexes if they changed and close the database."""
        with self.lock:
            for index in self.indexes.values():
                if index.unsaved_writes:
                    index.save(self.db)
            self.db.close()
