"""Errors raised by the retrieval package.

Hierarchy::

    RetrievalError             embedding or vector search failed
    ├── EmbeddingInputError    a text cannot be embedded (also a ValueError)
    │   ├── EmptyTextError     the text is empty or only whitespace
    │   └── TextTooLongError   the text is longer than the configured limit
    ├── EmbedderLoadError      the embedding model cannot be found or loaded
    └── IndexLoadError         an index file is missing, stale or corrupt

The package does not import agent/: the API layer maps these to its own error table.
"""

from __future__ import annotations


class RetrievalError(Exception):
    """Embedding or vector search failed."""


class EmbeddingInputError(RetrievalError, ValueError):
    """A text given for embedding is not acceptable."""


class EmptyTextError(EmbeddingInputError):
    """The text to embed is empty or only whitespace."""


class TextTooLongError(EmbeddingInputError):
    """The text to embed is longer than the configured limit."""


class EmbedderLoadError(RetrievalError):
    """The embedding model cannot be located or loaded."""


class IndexLoadError(RetrievalError):
    """An index file is missing, stale or corrupt and must be rebuilt."""
