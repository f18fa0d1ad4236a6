"""Build a ``MemoryStore`` from a data directory and the two config sections."""

from __future__ import annotations

import logging
from pathlib import Path

from memory.config import MemoryConfig
from memory.errors import MemoryStoreError
from memory.store import MemoryStore
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
) -> MemoryStore:
    """Open the memory store kept in ``data_dir``.

    Layout: ``<data_dir>/<memory.db_name>`` (SQLite), ``<data_dir>/problems/`` and
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
        MemoryStoreError: The data directory cannot be created.
        EmbeddingMismatch: The store was embedded with another model (see ``reembed``).
    """
    data_dir = Path(data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as ex:
        raise MemoryStoreError(f"cannot create data directory {data_dir}: {ex}") from ex
    chosen = embedder if embedder is not None else build_embedder(retrieval)
    logger.debug("opening memory in %s with %s", data_dir, chosen.name)
    return MemoryStore(
        data_dir / memory.db_name, data_dir, chosen, memory, retrieval, reembed=reembed
    )
