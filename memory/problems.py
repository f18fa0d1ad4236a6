"""Rows of the ``problems`` table: building a new row, merging, finding near-duplicates.

Helpers of ``MemoryStore.add_problem``; they run inside the store's lock and transaction.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlite_utils import Database

from memory.errors import RecordTooLarge
from memory.indexes import to_blob
from memory.migrations import now_iso
from memory.records import normalize_answer, normalize_question
from memory.writeback import VerifiedPath
from retrieval.index import VectorIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Nearest neighbours checked for a near-duplicate with the same answer.
_DUPLICATE_CANDIDATES = 8


def check_path_sizes(path: VerifiedPath, limit: int) -> None:
    """Refuse a path whose question, path, program, output or principle is over ``limit``.

    Raises:
        RecordTooLarge: Naming the first field over the limit.
    """
    ev = path.evidence
    texts = {"question": ev.question, "path": ev.path, "program": ev.program or ""}
    texts["program_output"] = ev.program_output or ""
    texts["principle"] = ev.principle or ""
    for name, value in texts.items():
        if len(value) > limit:
            raise RecordTooLarge(f"{name} has {len(value)} characters, limit is {limit}")


def new_row(path: VerifiedPath, key: str, vector: NDArray[np.float32]) -> dict[str, Any]:
    """The ``problems`` row for a verified path seen for the first time.

    Args:
        path: The verified path.
        key: Its content hash.
        vector: Embedding of its question.

    Returns:
        Column values, ready for ``insert``.
    """
    ev = path.evidence
    return {
        "question": ev.question,
        "question_norm": normalize_question(ev.question),
        "domain": ev.domain,
        "answer": ev.answer,
        "answer_norm": normalize_answer(ev.answer),
        "path": ev.path,
        "principle": ev.principle,
        "verified": 1,
        "verified_by": path.verified_by,
        "evidence": json.dumps(ev.summary()),
        "ground_truth": ev.ground_truth,
        "source": ev.source,
        "model": ev.model,
        "created_at": now_iso(),
        "use_count": 1,
        "success_count": 1,
        "content_hash": key,
        "extra": "{}",
        "embedding": to_blob(vector),
        "program": ev.program,
        "program_output": ev.program_output,
    }


def merge_into(db: Database, row_id: int, path: VerifiedPath) -> None:
    """Count one more verified solve of a stored problem (inside a transaction).

    A ground-truth match upgrades a consensus row to ``ground_truth``, but never overrides
    feedback given through ``MemoryStore.confirm``. A row stored without a program gets the
    new path's program (a row that has one keeps it).
    """
    db.execute(
        "UPDATE problems SET use_count = use_count + 1, success_count = success_count + 1 "
        "WHERE id = ?",
        [row_id],
    )
    if path.verified_by == "ground_truth":
        db.execute(
            "UPDATE problems SET verified = 1, verified_by = 'ground_truth', "
            "ground_truth = coalesce(ground_truth, ?) "
            "WHERE id = ? AND verified_by IS NOT 'feedback'",
            [path.evidence.ground_truth, row_id],
        )
    ev = path.evidence
    if ev.program:
        db.execute(
            "UPDATE problems SET program = ?, program_output = ? WHERE id = ? AND program IS NULL",
            [ev.program, ev.program_output, row_id],
        )


def find_duplicate(
    db: Database,
    index: VectorIndex,
    key: str,
    vector: NDArray[np.float32],
    answer: str,
    threshold: float,
) -> tuple[int, float] | None:
    """Find a stored problem that a new verified path should be merged into.

    Args:
        db: The database.
        index: The problems' vector index.
        key: Content hash of the new path (same question and answer).
        vector: Embedding of the new question.
        answer: The new path's answer.
        threshold: Cosine similarity from which a question counts as a near-duplicate.

    Returns:
        ``(row id, similarity)`` of the identical row, else of the most similar row at or
        above ``threshold`` with the same normalised answer; None when there is none.
    """
    found = db.execute("SELECT id FROM problems WHERE content_hash = ?", [key]).fetchone()
    if found:
        return int(found[0]), 1.0
    hits = [h for h in index.search(vector, _DUPLICATE_CANDIDATES)[0] if h[1] >= threshold]
    if not hits:
        return None
    wanted = normalize_answer(answer)
    marks = ",".join("?" * len(hits))
    same = {
        int(row_id)
        for row_id, answer_norm in db.execute(
            f"SELECT id, answer_norm FROM problems WHERE id IN ({marks})", [i for i, _ in hits]
        )
        if answer_norm == wanted
    }
    best = [(i, s) for i, s in hits if i in same]
    return best[0] if best else None
