"""Open the configured memory store: SQLite + FAISS in a data directory (the default), or
PostgreSQL + pgvector when ``MemoryConfig.url`` is set (replicas sharing one memory)."""

from __future__ import annotations

import logging
from pathlib import Path

from memory.config import MemoryConfig
from memory.errors import MemoryStoreError
from memory.interface import MemoryInterface
from memory.sqlite import MemoryStore
from retrieval.config import RetrievalConfig
from retrieval.embedder import Embedder, build_embedder

logger = logging.getLogger(__name__)

#: Where the CLI keeps its data when no settings are given.
DEFAULT_DATA_DIR = Path("indexes")


def open_store(
    data_dir: Path,
    memory: MemoryConfig,
    retrieval: RetrievalConfig,
    *,
    embedder: Embedder | None = None,
    reembed: bool = False,
) -> MemoryInterface:
    """Open the memory store kept in ``data_dir``, or in PostgreSQL when ``memory.url`` is set.

    SQLite layout: ``<data_dir>/<memory.db_name>`` (SQLite), ``<data_dir>/problems/`` and
    ``<data_dir>/principles/`` (``index.faiss`` + ``manifest.json`` each).

    Args:
        data_dir: Folder for the database and index files (created if missing).
        memory: Memory settings.
        retrieval: Retrieval settings; they choose the embedder unless one is given.
        embedder: An embedder to use instead of the configured one (tests, shared model).
        reembed: Re-embed every row with the configured model (after a model change).

    Returns:
        The open store; close it (or use it as a context manager) to save its indexes.

    Raises:
        MemoryStoreError: The data directory cannot be created, or the database reached.
        EmbeddingMismatch: The store was embedded with another model (see ``reembed``).
    """
    chosen = embedder if embedder is not None else build_embedder(retrieval)
    if memory.url:
        # Imported here: the SQLite default never loads the PostgreSQL client.
        from memory.postgres import PostgresMemoryStore, redact

        logger.debug("opening memory in %s with %s", redact(memory.url), chosen.name)
        return PostgresMemoryStore(memory.url, chosen, memory, retrieval, reembed=reembed)
    data_dir = Path(data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as ex:
        raise MemoryStoreError(f"cannot create data directory {data_dir}: {ex}") from ex
    logger.debug("opening memory in %s with %s", data_dir, chosen.name)
    return MemoryStore(data_dir / memory.db_name, chosen, memory, retrieval, reembed=reembed)
