"""Principles: short rules behind solved problems, stored once and linked to problems.

``PrincipleBook`` is the part of ``MemoryStore`` that owns the ``principles`` and
``problem_principles`` tables and the principles' FAISS index. It shares the store's
database, lock and embedder; callers go through ``MemoryStore``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlite_utils import Database

from memory.errors import RecordTooLarge
from memory.indexes import TableIndex, to_blob
from memory.migrations import last_pk, now_iso
from memory.records import PrincipleHit, PrincipleRecord, text_hash
from memory.search import ranked_rows
from retrieval.config import RetrievalConfig
from retrieval.embedder import Embedder

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

SEED_PRINCIPLES = Path(__file__).with_name("seed") / "principles.jsonl"
_COLUMNS = ("id", "text", "domain", "source", "created_at")


class PrincipleBook:
    """Add, link, seed and search principles."""

    def __init__(
        self,
        db: Database,
        index: TableIndex,
        embedder: Embedder,
        lock: threading.RLock,
        *,
        max_chars: int,
        retrieval: RetrievalConfig,
    ) -> None:
        """Wrap the store's shared resources.

        Args:
            db: The store's database.
            index: The principles' vector index.
            embedder: The store's embedder.
            lock: The store's lock (re-entrant).
            max_chars: Longest principle accepted.
            retrieval: Retrieval settings (search defaults).
        """
        self.db = db
        self.index = index
        self.embedder = embedder
        self._lock = lock
        self._max_chars = max_chars
        self._retrieval = retrieval

    def check_size(self, text: str) -> None:
        """Raise ``RecordTooLarge`` for a principle over the size limit."""
        if len(text) > self._max_chars:
            raise RecordTooLarge(
                f"principle has {len(text)} characters, limit is {self._max_chars}"
            )

    def upsert(
        self, text: str, domain: str | None, source: str | None, vector: NDArray[np.float32]
    ) -> tuple[int, bool]:
        """Insert a principle unless its text is known (inside the caller's transaction).

        Returns:
            The id and whether the row is new (and so still has to be indexed).
        """
        key = text_hash(text)
        found = self.db.execute("SELECT id FROM principles WHERE text_hash = ?", [key]).fetchone()
        if found:
            return int(found[0]), False
        row = {
            "text": text.strip(),
            "text_hash": key,
            "domain": domain,
            "source": source,
            "created_at": now_iso(),
            "embedding": to_blob(vector),
        }
        return last_pk(self.db.table("principles").insert(row)), True

    def link(
        self,
        problem_id: int,
        text: str | None,
        domain: str | None,
        source: str | None,
        vector: NDArray[np.float32] | None,
    ) -> int | None:
        """Upsert a principle and link it to a problem (inside the caller's transaction).

        Returns:
            The principle's id when its row is new (to be indexed after commit), else None.
        """
        if not text or vector is None:
            return None
        principle_id, created = self.upsert(text, domain, source, vector)
        self.db.execute(
            "INSERT OR IGNORE INTO problem_principles (problem_id, principle_id) VALUES (?, ?)",
            [problem_id, principle_id],
        )
        return principle_id if created else None

    def index_new(self, principle_id: int | None, vector: NDArray[np.float32] | None) -> None:
        """Add a newly committed principle to the index."""
        if principle_id is not None and vector is not None:
            self.index.add(principle_id, vector)

    def add_many(
        self, items: Sequence[tuple[str, str | None]], *, source: str | None = None
    ) -> list[int]:
        """Store ``(text, domain)`` principles in one transaction, skipping known texts.

        Returns:
            The id of each item (existing or new).
        """
        for text, _ in items:
            self.check_size(text)
        if not items:
            return []
        vectors = self.embedder.embed([text for text, _ in items])
        ids: list[int] = []
        created: list[tuple[int, NDArray[np.float32]]] = []
        with self._lock:
            with self.db.atomic():
                for (text, domain), vector in zip(items, vectors, strict=True):
                    principle_id, new = self.upsert(text, domain, source, vector)
                    ids.append(principle_id)
                    if new:
                        created.append((principle_id, vector))
            for principle_id, vector in created:
                self.index.add(principle_id, vector)
        return ids

    def seed(self, path: Path = SEED_PRINCIPLES) -> int:
        """Load principles from a JSONL file of ``{"principle", "domain"}`` (idempotent).

        Returns:
            The number of principles added.
        """
        lines = path.read_text("utf-8").splitlines()
        items = [json.loads(line) for line in lines if line.strip()]
        with self._lock:
            # Known texts are skipped before embedding: a service seeds at every start.
            known = {row["text"] for row in self.db.query("SELECT text FROM principles")}
            items = [i for i in items if i["principle"] not in known]
            before = self.count()
            self.add_many([(i["principle"], i.get("domain")) for i in items], source="seed")
            added = self.count() - before
        logger.info("seeded %d new principles from %s", added, path)
        return added

    def count(self) -> int:
        """Number of stored principles."""
        with self._lock:
            return int(self.db["principles"].count)

    def of_problem(self, problem_id: int) -> list[PrincipleRecord]:
        """Principles linked to a problem, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT p.id, p.text, p.domain, p.source, p.created_at FROM principles p "
                "JOIN problem_principles pp ON pp.principle_id = p.id "
                "WHERE pp.problem_id = ? ORDER BY p.id",
                [problem_id],
            ).fetchall()
        return [PrincipleRecord.from_row(dict(zip(_COLUMNS, r, strict=True))) for r in rows]

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        domain: str | None = None,
        min_score: float | None = None,
    ) -> list[PrincipleHit]:
        """Principles relevant to a question (domain filter keeps untagged ones too)."""
        where: list[str] = []
        params: list[Any] = []
        if domain is not None:
            where.append("(domain = ? OR domain IS NULL OR domain = 'general')")
            params.append(domain)
        vector = self.embedder.embed([query])[0]
        cfg = self._retrieval
        with self._lock:
            rows = ranked_rows(
                self.db,
                "principles",
                self.index.index,
                vector,
                k=k or cfg.default_k,
                where=where,
                params=params,
                min_score=cfg.min_score if min_score is None else min_score,
                config=cfg,
            )
        return [PrincipleHit(PrincipleRecord.from_row(row), score) for row, score in rows]
