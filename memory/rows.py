"""Rows of the memory's tables, and the SQL that both stores run unchanged.

The SQLite and the PostgreSQL store hold the same tables with the same columns (see each
store's migrations), so what a row contains and most statements on it are written here once.
Statements use ``?`` placeholders and SQL both databases speak (``ON CONFLICT``,
``RETURNING``, ``IS DISTINCT FROM``, ``CAST``); the PostgreSQL store turns ``?`` into its
``%s`` (see ``memory.postgres.store``). Each function takes ``run``, the store's
``execute`` inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from memory.errors import RecordTooLarge
from memory.records import normalize_answer, normalize_question, text_hash
from memory.writeback import VerifiedPath


class Cursor(Protocol):
    """What both drivers' cursors offer (sqlite3 and psycopg)."""

    @property
    def description(self) -> Any:
        """Column descriptions; the first item of each is its name."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """Every remaining row."""


#: ``run(sql, params)``: a statement on the store's connection, inside the current transaction.
Run = Callable[[str, Sequence[Any]], Cursor]

#: Columns of a ``problems`` row as ``ProblemRecord.from_row`` and the export read them.
PROBLEM_COLUMNS = (
    "id, question, answer, path, domain, principle, verified, verified_by, "
    "CAST(evidence AS TEXT) AS evidence, ground_truth, source, model, created_at, use_count, "
    "success_count, content_hash, CAST(extra AS TEXT) AS extra, program, program_output"
)
PRINCIPLE_COLUMNS = "id, text, domain, source, created_at"

#: Columns written when a problem row is inserted (``embedding`` comes last, apart).
INSERTED = (
    "question", "question_norm", "domain", "answer", "answer_norm", "path", "principle",
    "verified", "verified_by", "evidence", "ground_truth", "source", "model", "created_at",
    "use_count", "success_count", "content_hash", "extra", "program", "program_output",
)  # fmt: skip
_INSERT_PROBLEM = (
    f"INSERT INTO problems ({', '.join(INSERTED)}, embedding) "
    f"VALUES ({', '.join('?' * (len(INSERTED) + 1))}) "
    "ON CONFLICT (content_hash) DO NOTHING RETURNING id"
)

#: ``(problem id, principle text)`` of every link, in the order the export lists them.
LINKS_SQL = (
    "SELECT pp.problem_id, p.text FROM problem_principles pp "
    "JOIN principles p ON p.id = pp.principle_id ORDER BY pp.problem_id, p.id"
)
PRINCIPLES_OF_SQL = (
    "SELECT p.id, p.text, p.domain, p.source, p.created_at FROM principles p "
    "JOIN problem_principles pp ON pp.principle_id = p.id "
    "WHERE pp.problem_id = ? ORDER BY p.id"
)
BY_DOMAIN_SQL = "SELECT coalesce(domain, '-'), count(*) FROM problems GROUP BY 1 ORDER BY 2 DESC, 1"
COUNTS_SQL = (
    "SELECT (SELECT count(*) FROM problems), "
    "(SELECT count(*) FROM problems WHERE verified = true), (SELECT count(*) FROM principles)"
)


def now_iso() -> str:
    """Current UTC time as an ISO-8601 string (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def dict_rows(cursor: Cursor) -> list[dict[str, Any]]:
    """A cursor's remaining rows as dicts keyed by column name."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def check_size(name: str, text: str, limit: int) -> None:
    """Raise ``RecordTooLarge`` for a text over ``limit`` characters, naming the field."""
    if len(text) > limit:
        raise RecordTooLarge(f"{name} has {len(text)} characters, limit is {limit}")


def check_path_sizes(path: VerifiedPath, limit: int) -> None:
    """Refuse a path whose question, path, program, output or principle is over ``limit``.

    Raises:
        RecordTooLarge: Naming the first field over the limit.
    """
    ev = path.evidence
    check_size("question", ev.question, limit)
    check_size("path", ev.path, limit)
    check_size("program", ev.program or "", limit)
    check_size("program_output", ev.program_output or "", limit)
    check_size("principle", ev.principle or "", limit)


def new_row(path: VerifiedPath, key: str) -> dict[str, Any]:
    """The ``problems`` row (without its vector) for a verified path seen the first time.

    Args:
        path: The verified path.
        key: Its content hash.

    Returns:
        The values of ``INSERTED``.
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
        "verified": True,
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
        "program": ev.program,
        "program_output": ev.program_output,
    }


def insert_problem(run: Run, row: dict[str, Any], vector: object) -> int | None:
    """Insert a problem row (from ``new_row`` or ``problem_row``) unless its hash is stored.

    Args:
        run: The store's statement runner.
        row: Column values (missing ones are NULL).
        vector: The question's vector as the store's driver takes it.

    Returns:
        The new id, or None when a row with the same content hash exists.
    """
    values = [row.get(name) for name in INSERTED]
    values[INSERTED.index("verified")] = bool(row["verified"])
    values[INSERTED.index("evidence")] = row.get("evidence") or "{}"
    values[INSERTED.index("extra")] = row.get("extra") or "{}"
    found = run(_INSERT_PROBLEM, [*values, vector]).fetchone()
    return None if found is None else int(found[0])


def find_by_hash(run: Run, key: str) -> int | None:
    """Id of the problem with this content hash, if stored."""
    found = run("SELECT id FROM problems WHERE content_hash = ?", [key]).fetchone()
    return None if found is None else int(found[0])


def merge_into(run: Run, row_id: int, path: VerifiedPath) -> None:
    """Count one more verified solve of a stored problem.

    A ground-truth match upgrades a consensus row to ``ground_truth``, but never overrides
    feedback given through ``confirm``. A row stored without a program gets the new path's
    program (a row that has one keeps it).
    """
    run(
        "UPDATE problems SET use_count = use_count + 1, success_count = success_count + 1 "
        "WHERE id = ?",
        [row_id],
    )
    if path.verified_by == "ground_truth":
        run(
            "UPDATE problems SET verified = true, verified_by = 'ground_truth', "
            "ground_truth = coalesce(ground_truth, ?) "
            "WHERE id = ? AND verified_by IS DISTINCT FROM 'feedback'",
            [path.evidence.ground_truth, row_id],
        )
    ev = path.evidence
    if ev.program:
        run(
            "UPDATE problems SET program = ?, program_output = ? WHERE id = ? AND program IS NULL",
            [ev.program, ev.program_output, row_id],
        )


def record_recall(run: Run, problem_id: int, won: bool, demote_after_lost: int | None) -> bool:
    """Count one recall of a problem (won: its shown paths reached the verified answer);
    True when the record is demoted by it (no longer verified, so no longer recalled)."""
    run(
        "UPDATE problems SET use_count = use_count + 1, success_count = success_count + ? "
        "WHERE id = ?",
        [int(won), problem_id],
    )
    if won or demote_after_lost is None:
        return False
    found = run(
        "UPDATE problems SET verified = false, verified_by = 'demoted' "
        "WHERE id = ? AND verified AND verified_by IS DISTINCT FROM 'feedback' "
        "AND use_count - success_count >= ? AND 2 * success_count < use_count RETURNING id",
        [problem_id, demote_after_lost],
    ).fetchone()
    return found is not None


def record_feedback(run: Run, problem_id: int, correct: bool, true_answer: str | None) -> bool:
    """Mark a problem right or wrong by feedback; False when there is no such id."""
    found = run(
        "UPDATE problems SET verified = ?, verified_by = 'feedback', "
        "use_count = use_count + 1, success_count = success_count + ?, "
        "ground_truth = coalesce(?, ground_truth) WHERE id = ? RETURNING id",
        [correct, int(correct), true_answer, problem_id],
    ).fetchone()
    return found is not None


def delete_problem(run: Run, problem_id: int) -> bool:
    """Delete a problem (its links cascade); False when there is no such id."""
    found = run("DELETE FROM problems WHERE id = ? RETURNING id", [problem_id]).fetchone()
    return found is not None


def upsert_principle(
    run: Run, text: str, domain: str | None, source: str | None, vector: object
) -> tuple[int, bool]:
    """Insert a principle unless its text is known; safe against concurrent writers.

    ``ON CONFLICT DO NOTHING`` waits for a concurrent insert of the same text and then
    skips; the following SELECT (a new snapshot under READ COMMITTED) sees that row.

    Returns:
        The id and whether the row is new.
    """
    key = text_hash(text)
    new = run(
        "INSERT INTO principles (text, text_hash, domain, source, created_at, embedding) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (text_hash) DO NOTHING RETURNING id",
        [text.strip(), key, domain, source, now_iso(), vector],
    ).fetchone()
    if new is not None:
        return int(new[0]), True
    found = run("SELECT id FROM principles WHERE text_hash = ?", [key]).fetchone()
    if found is None:  # only if the row was deleted in between; principles never are
        raise RuntimeError(f"principle {key} vanished while being linked")
    return int(found[0]), False


def link_principle(run: Run, problem_id: int, principle_id: int) -> None:
    """Link a problem to a principle (idempotent)."""
    run(
        "INSERT INTO problem_principles (problem_id, principle_id) VALUES (?, ?) "
        "ON CONFLICT DO NOTHING",
        [problem_id, principle_id],
    )


def search_filters(
    *, domain: str | None, verified_only: bool = False, principles: bool = False
) -> tuple[list[str], list[Any]]:
    """SQL conditions (ANDed) and their parameters for a search.

    Args:
        domain: Only rows of this domain; for principles, untagged and ``general`` ones too.
        verified_only: Only problems not rejected (and not imported unverified).
        principles: The conditions are for the ``principles`` table.
    """
    where: list[str] = []
    params: list[Any] = []
    if domain is not None:
        general = " OR domain IS NULL OR domain = 'general'" if principles else ""
        where.append(f"(domain = ?{general})")
        params.append(domain)
    if verified_only:
        where.append("verified = true")
    return where, params
