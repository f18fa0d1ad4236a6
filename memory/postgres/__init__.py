"""The PostgreSQL + pgvector memory store, shared by replicas (``PostgresMemoryStore``).

Chosen by ``MemoryConfig.url``; importing it loads the PostgreSQL client, which the SQLite
default never does. ``store.py`` (the store: pool, transactions, vector search),
``rows.py`` (its PostgreSQL-only SQL), ``migrations.py`` (its schema and HNSW indexes).
"""

from memory.postgres.store import PostgresMemoryStore, redact

__all__ = ["PostgresMemoryStore", "redact"]
