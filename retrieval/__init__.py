"""Retrieval: text embedding, FAISS vector indexes and result diversification (MMR).

This package never imports agent/ or api/; it is configured by ``RetrievalConfig``.
"""

from retrieval.config import DEFAULT_EMBEDDING_MODEL, IndexKind, RetrievalConfig
from retrieval.embedder import (
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    build_embedder,
    normalize_rows,
    resolve_model_path,
)
from retrieval.errors import (
    EmbedderLoadError,
    EmbeddingInputError,
    EmptyTextError,
    IndexLoadError,
    RetrievalError,
    TextTooLongError,
)
from retrieval.index import IndexManifest, VectorIndex
from retrieval.mmr import mmr_select

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "Embedder",
    "EmbedderLoadError",
    "EmbeddingInputError",
    "EmptyTextError",
    "HashingEmbedder",
    "IndexKind",
    "IndexLoadError",
    "IndexManifest",
    "RetrievalConfig",
    "RetrievalError",
    "SentenceTransformerEmbedder",
    "TextTooLongError",
    "VectorIndex",
    "build_embedder",
    "mmr_select",
    "normalize_rows",
    "resolve_model_path",
]
