"""The SQLite + FAISS memory store, the embedded default (``MemoryStore``).

One SQLite file (via sqlite-utils) is the source of truth, vectors included; a FAISS index per
table is a cache of it: ``store.py`` (the store), ``database.py`` (opening the file),
``migrations.py`` (its schema), ``indexes.py`` (FAISS indexes kept in step with the tables),
``search.py`` (FAISS ids joined with SQL filters), ``backup.py`` (online backup and restore).
"""

from memory.sqlite.store import MemoryStore

__all__ = ["MemoryStore"]
