"""Fixtures of the graph's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memory import MemoryConfig, MemoryStore, open_store
from retrieval import HashingEmbedder, RetrievalConfig


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    """A real SQLite + FAISS store with the hashing embedder (no model), recalling anything."""
    s = open_store(
        tmp_path / "data",
        MemoryConfig(index_save_every=1000),
        RetrievalConfig(embedding_model="hashing-64", min_score=0.0, default_k=3),
        embedder=HashingEmbedder(64),
    )
    yield s
    s.close()
