"""``MemoryInterface``: what every memory store offers, whichever database holds it.

Two stores implement it: ``memory.store.MemoryStore`` (SQLite + FAISS in a data directory,
the default) and ``memory.postgres.PostgresMemoryStore`` (PostgreSQL + pgvector, shared by
replicas). ``memory.factory.open_store`` picks one from ``MemoryConfig.url``; callers (the
reasoner, the service, the CLI) type their store as this protocol and never ask which.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Protocol

from memory.config import MemoryConfig
from memory.records import (
    AddResult,
    ImportReport,
    PrincipleHit,
    PrincipleRecord,
    ProblemHit,
    ProblemRecord,
    StoreStats,
)
from memory.writeback import VerifiedPath
from retrieval.config import RetrievalConfig
from retrieval.embedder import Embedder


class MemoryInterface(Protocol):
    """Store and search verified reasoning paths and principles."""

    memory: MemoryConfig
    retrieval: RetrievalConfig
    embedder: Embedder
    read_only: bool

    def add_problem(self, path: VerifiedPath) -> AddResult:
        """Store a verified path, or merge it into a near-duplicate with the same answer."""

    def add_principle(self, text: str, domain: str | None = None, source: str | None = None) -> int:
        """Store a principle unless the same text is stored; returns its id."""

    def seed_principles(self, path: Path = ...) -> int:
        """Load the shipped principles (idempotent); returns how many were new."""

    def confirm(
        self, problem_id: int, correct: bool, true_answer: str | None = None
    ) -> ProblemRecord:
        """Record feedback on a stored answer: verify it, or reject it from retrieval."""

    def delete(self, problem_id: int) -> None:
        """Delete a problem (its principle links go with it; principles stay)."""

    def get(self, problem_id: int) -> ProblemRecord:
        """Return one problem by id."""

    def principles_of(self, problem_id: int) -> list[PrincipleRecord]:
        """Principles linked to a problem."""

    def search_problems(
        self,
        query: str,
        k: int | None = None,
        *,
        domain: str | None = None,
        min_score: float | None = None,
        verified_only: bool = True,
    ) -> list[ProblemHit]:
        """Find stored problems similar to a question, diversified by MMR."""

    def search_principles(
        self,
        query: str,
        k: int | None = None,
        *,
        domain: str | None = None,
        min_score: float | None = None,
    ) -> list[PrincipleHit]:
        """Find principles relevant to a question, diversified by MMR."""

    def count(self, *, verified_only: bool = False) -> int:
        """Number of stored problems."""

    def stats(self) -> StoreStats:
        """Counts by status and domain, embedding model and index sizes."""

    def writable(self) -> str | None:
        """None when memory can be written, else why not."""

    def export_jsonl(self, path: Path) -> int:
        """Write every principle and problem as JSON lines; returns the line count."""

    def import_jsonl(self, path: Path) -> ImportReport:
        """Import JSON lines (as written by ``export_jsonl``)."""

    def rebuild_index(self, *, reembed: bool = False) -> dict[str, int]:
        """Rebuild the vector indexes from the stored rows; returns vectors per table."""

    def close(self) -> None:
        """Release the store's resources."""

    def __enter__(self) -> MemoryInterface:
        """Use the store as a context manager that closes it."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
