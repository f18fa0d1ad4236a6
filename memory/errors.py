"""Errors raised by the memory package.

Hierarchy::

    MemoryStoreError            the memory store refused or failed an operation
    ├── RecordNotFound          no row with that id (also a KeyError)
    ├── RecordTooLarge          a text field is over the configured size (also a ValueError)
    ├── EmbeddingMismatch       the store was built with another embedding model or dimension
    └── MemoryNotWritable       the data directory is read-only or its disk is full

The package does not import agent/: the API layer maps these to its own error table.
"""

from __future__ import annotations

REBUILD_COMMAND = "reason memory rebuild-index"


class MemoryStoreError(Exception):
    """The memory store refused or failed an operation."""


class RecordNotFound(MemoryStoreError, KeyError):
    """No problem or principle with the given id."""

    def __str__(self) -> str:
        """Plain message (KeyError would quote it)."""
        return str(self.args[0]) if self.args else "record not found"


class RecordTooLarge(MemoryStoreError, ValueError):
    """A text field is larger than the configured limit."""


class EmbeddingMismatch(MemoryStoreError):
    """The store's vectors come from another embedding model or dimension."""


class MemoryNotWritable(MemoryStoreError):
    """A write failed because the data directory is read-only or its disk is full.

    Reads (retrieval) still work; the service answers without storing.
    """
