"""Memory: solved problems, verified reasoning paths and principles.

Two stores behind one interface (``MemoryInterface``, which holds what does not depend on
the database): SQLite + FAISS (``memory.sqlite.MemoryStore``, the default) and PostgreSQL +
pgvector (``memory.postgres.PostgresMemoryStore``, chosen by ``MemoryConfig.url``) for
replicas that share a memory.

Only paths that pass the write-back policy (``decide`` -> ``VerifiedPath``) can be added.
This package never imports agent/ or api/; it is configured by ``MemoryConfig`` and
``retrieval.RetrievalConfig``.
"""

from memory.config import MemoryConfig, WriteBackThresholds
from memory.errors import (
    EmbeddingMismatch,
    MemoryNotWritable,
    MemoryStoreError,
    RecordNotFound,
    RecordTooLarge,
)
from memory.factory import DEFAULT_DATA_DIR, open_store
from memory.interface import MemoryInterface
from memory.records import (
    AddResult,
    ImportLineError,
    ImportReport,
    PrincipleHit,
    PrincipleRecord,
    ProblemHit,
    ProblemRecord,
    StoreStats,
)
from memory.sqlite import MemoryStore
from memory.transfer import SEED_PRINCIPLES
from memory.writeback import Evidence, Rejection, Solution, VerifiedPath, agreement_of, decide

__all__ = [
    "AddResult",
    "DEFAULT_DATA_DIR",
    "EmbeddingMismatch",
    "Evidence",
    "ImportLineError",
    "ImportReport",
    "MemoryConfig",
    "MemoryInterface",
    "MemoryNotWritable",
    "MemoryStore",
    "MemoryStoreError",
    "PrincipleHit",
    "PrincipleRecord",
    "ProblemHit",
    "ProblemRecord",
    "RecordNotFound",
    "RecordTooLarge",
    "Rejection",
    "SEED_PRINCIPLES",
    "Solution",
    "StoreStats",
    "VerifiedPath",
    "WriteBackThresholds",
    "agreement_of",
    "decide",
    "open_store",
]
