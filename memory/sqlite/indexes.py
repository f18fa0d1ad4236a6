"""The FAISS index of one SQLite table, kept in step with the table's ``embedding`` column.

SQLite is the source of truth: every row stores its vector as a float32 blob, so an index
that is missing, corrupt, stale or of another kind is rebuilt from the table without calling
the embedding model. An index saved before a crash catches up by adding the rows written
after its manifest's ``last_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from sqlite_utils import Database

from retrieval.config import RetrievalConfig
from retrieval.errors import IndexLoadError
from retrieval.index import VectorIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

OpenOutcome = Literal["loaded", "caught_up", "rebuilt", "memory"]
_CHUNK_ROWS = 20000


def to_blob(vector: NDArray[np.float32]) -> bytes:
    """Serialise one vector for the ``embedding`` column."""
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes, dim: int) -> NDArray[np.float32]:
    """Deserialise one vector from the ``embedding`` column."""
    vector = np.frombuffer(blob, dtype=np.float32)
    if vector.shape != (dim,):
        raise ValueError(f"stored vector has {vector.size} values, expected {dim}")
    return vector


def iter_vectors(
    db: Database, table: str, dim: int, *, after_id: int = 0
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
    """Yield ``(ids, vectors)`` chunks of a table's stored embeddings, in id order."""
    last = after_id
    while True:
        rows = db.execute(
            f"SELECT id, embedding FROM [{table}] WHERE embedding IS NOT NULL AND id > ? "
            "ORDER BY id LIMIT ?",
            [last, _CHUNK_ROWS],
        ).fetchall()
        if not rows:
            return
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        yield ids, vectors.reshape(len(rows), dim)
        last = int(ids[-1])


class TableIndex:
    """A ``VectorIndex`` over one table's ``embedding`` column, saved under ``directory``."""

    def __init__(
        self,
        table: str,
        directory: Path | None,
        *,
        dim: int,
        model: str,
        config: RetrievalConfig,
    ) -> None:
        """Create an empty in-memory index; call ``open`` to load or build it.

        Args:
            table: SQLite table whose rows the index covers.
            directory: Folder for the index files; None keeps the index in memory only.
            dim: Vector dimension.
            model: Embedding model name, recorded in the manifest.
            config: Retrieval settings (index kind and parameters).
        """
        self.table = table
        self.directory = directory
        self.dim = dim
        self.model = model
        self._config = config
        self.index = VectorIndex(dim, config)
        self.unsaved_writes = 0

    def _table_state(self, db: Database, up_to: int | None = None) -> tuple[int, int]:
        sql = (
            f"SELECT count(*), coalesce(max(id), 0) FROM [{self.table}] WHERE embedding IS NOT NULL"
        )
        params: list[int] = []
        if up_to is not None:
            sql += " AND id <= ?"
            params.append(up_to)
        count, last = db.execute(sql, params).fetchone()
        return int(count), int(last)

    def open(self, db: Database) -> OpenOutcome:
        """Load the saved index if it matches the table, catch it up, or rebuild it.

        Args:
            db: The database holding ``table``.

        Returns:
            What happened: ``loaded`` (up to date), ``caught_up`` (rows added after a crash),
            ``rebuilt`` (from SQLite) or ``memory`` (no directory: built in memory).
        """
        if self.directory is None:
            self.rebuild(db)
            return "memory"
        try:
            index, manifest = VectorIndex.load(
                self.directory, model=self.model, dim=self.dim, config=self._config
            )
        except IndexLoadError as ex:
            empty = self._table_state(db)[0] == 0
            logger.log(
                logging.INFO if empty else logging.WARNING,
                "%s index unusable (%s); rebuilding from SQLite",
                self.table,
                ex,
            )
            self.rebuild(db)
            return "rebuilt"
        count, last = self._table_state(db)
        if manifest.row_count == count and manifest.last_id == last:
            self.index = index
            return "loaded"
        covered, _ = self._table_state(db, up_to=manifest.last_id)
        if covered == manifest.row_count and last > manifest.last_id:
            self.index = index
            added = 0
            for ids, vectors in iter_vectors(db, self.table, self.dim, after_id=manifest.last_id):
                self.index.add(ids, vectors)
                added += len(ids)
            logger.info("%s index caught up with %d rows written since its save", self.table, added)
            self.save(db)
            return "caught_up"
        logger.warning(
            "%s index is stale (manifest rows=%d last=%d, table rows=%d last=%d); rebuilding",
            self.table,
            manifest.row_count,
            manifest.last_id,
            count,
            last,
        )
        self.rebuild(db)
        return "rebuilt"

    def rebuild(self, db: Database) -> int:
        """Build a fresh index from every stored vector of the table, and save it.

        Returns:
            The number of vectors indexed.
        """
        index = VectorIndex(self.dim, self._config)
        for ids, vectors in iter_vectors(db, self.table, self.dim):
            index.add(ids, vectors)
        self.index = index
        self.save(db)
        logger.info("rebuilt %s index: %d vectors (%s)", self.table, index.ntotal, index.kind)
        return index.ntotal

    def add(self, row_id: int, vector: NDArray[np.float32]) -> None:
        """Index one row's vector."""
        self.index.add(np.array([row_id], dtype=np.int64), vector.reshape(1, -1))
        self.unsaved_writes += 1

    def remove(self, row_id: int) -> None:
        """Drop one row's vector (HNSW keeps a tombstone until rebuilt)."""
        self.index.remove(np.array([row_id], dtype=np.int64))
        self.unsaved_writes += 1

    def save(self, db: Database) -> None:
        """Write the index and its manifest (no-op for an in-memory index)."""
        if self.directory is None:
            self.unsaved_writes = 0
            return
        _, last = self._table_state(db)
        try:
            self.index.save(self.directory, model=self.model, last_id=last)
        except OSError as ex:
            # SQLite holds the rows; the index file is a cache rebuilt from them at the next
            # open, so a save that fails (full disk, read-only directory) is retried later.
            logger.warning("could not save the %s index (%s); will retry", self.table, ex)
            return
        self.unsaved_writes = 0
