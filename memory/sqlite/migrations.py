"""Append-only schema migrations, recorded in a ``_migrations`` table.

Each migration is a function registered with ``@migration``; ``migrate(db)`` runs, in order,
every one whose name is not yet recorded, each in its own transaction together with its
record. Never edit or reorder a released migration: add a new one (the shape of
simonw/llm's llm/migrations.py).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from memory.rows import now_iso

logger = logging.getLogger(__name__)

Migration = Callable[[Database], None]
MIGRATIONS: list[Migration] = []
MIGRATIONS_TABLE = "_migrations"


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration (decorator)."""
    if any(m.__name__ == fn.__name__ for m in MIGRATIONS):
        raise ValueError(f"migration {fn.__name__} registered twice")
    MIGRATIONS.append(fn)
    return fn


def connect(path: Path | str) -> Database:
    """Open a SQLite database in WAL mode with foreign keys on, usable from several threads.

    Args:
        path: Database file, or ``":memory:"``.

    Returns:
        A sqlite-utils ``Database``; callers serialise access with their own lock.
    """
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30.0)
    db = Database(conn)
    db.execute("PRAGMA foreign_keys = ON;")
    if str(path) != ":memory:":
        db.enable_wal()
        # WAL + NORMAL is durable against process crashes (not power loss) and much faster.
        db.execute("PRAGMA synchronous = NORMAL;")
    return db


def applied(db: Database) -> list[str]:
    """Names of the migrations already applied, oldest first."""
    if not db[MIGRATIONS_TABLE].exists():
        return []
    return [row["name"] for row in db[MIGRATIONS_TABLE].rows_where(order_by="rowid")]


def pending(db: Database) -> list[str]:
    """Names of the migrations not applied yet."""
    done = set(applied(db))
    return [fn.__name__ for fn in MIGRATIONS if fn.__name__ not in done]


def migrate(db: Database) -> list[str]:
    """Apply every pending migration.

    Args:
        db: The database to bring up to date.

    Returns:
        The names of the migrations applied by this call.
    """
    db.table(MIGRATIONS_TABLE).create(
        {"name": str, "applied_at": str}, pk="name", if_not_exists=True
    )
    done = set(applied(db))
    ran: list[str] = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        with db.atomic():
            fn(db)
            db.table(MIGRATIONS_TABLE).insert({"name": fn.__name__, "applied_at": now_iso()})
        logger.info("applied migration %s", fn.__name__)
        ran.append(fn.__name__)
    return ran


@migration
def m001_problems(db: Database) -> None:
    """Solved problems with their reasoning path, evidence and embedding."""
    # Plain SQL for AUTOINCREMENT: row ids are FAISS ids and must never be reused after a
    # delete, or a stale index vector could pass for a new row.
    db.execute(
        """
        CREATE TABLE problems (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            question TEXT NOT NULL,
            question_norm TEXT NOT NULL,
            domain TEXT,
            answer TEXT NOT NULL,
            answer_norm TEXT NOT NULL,
            path TEXT NOT NULL,
            principle TEXT,
            verified INTEGER NOT NULL DEFAULT 0,
            verified_by TEXT,
            evidence TEXT,
            ground_truth TEXT,
            source TEXT,
            model TEXT,
            created_at TEXT NOT NULL,
            use_count INTEGER NOT NULL DEFAULT 0,
            success_count INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL,
            extra TEXT,
            embedding BLOB
        )
        """
    )
    db.table("problems").create_index(["content_hash"], unique=True)
    db.table("problems").create_index(["domain"])
    db.table("problems").create_index(["verified"])


@migration
def m002_principles(db: Database) -> None:
    """Principles, and which problems rely on which principles."""
    db.execute(
        """
        CREATE TABLE principles (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            text TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            domain TEXT,
            source TEXT,
            created_at TEXT NOT NULL,
            embedding BLOB
        )
        """
    )
    db.table("principles").create_index(["text_hash"], unique=True)
    # sqlite-utils cannot declare ON DELETE CASCADE, so the join table is plain SQL.
    db.execute(
        """
        CREATE TABLE problem_principles (
            problem_id INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
            principle_id INTEGER NOT NULL REFERENCES principles(id) ON DELETE CASCADE,
            PRIMARY KEY (problem_id, principle_id)
        )
        """
    )
    db.table("problem_principles").create_index(["principle_id"])


@migration
def m003_embedding_meta(db: Database) -> None:
    """The embedding model and dimension every stored vector comes from (one row)."""
    db.table("embedding_meta").create(
        {"id": int, "model": str, "dim": int, "updated_at": str},
        pk="id",
        not_null={"model", "dim"},
    )


@migration
def m004_problem_programs(db: Database) -> None:
    """The executed program that printed a problem's answer, and what it printed.

    Nullable: rows stored before programs existed, and rows solved in prose only, have none.
    """
    db.table("problems").add_column("program", str)
    db.table("problems").add_column("program_output", str)
