"""Opening the SQLite file of a memory: checked, migrated, or read-only where it cannot be
written; and telling a write that failed for want of space or permission from a bug."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from memory.errors import MemoryNotWritable, MemoryStoreError
from memory.sqlite.migrations import connect, migrate, pending

logger = logging.getLogger(__name__)

# SQLite's primary result codes (the low byte of an extended code) for a store that cannot be
# written: the disk is full, the file or folder is read-only, or the write itself failed.
_CANNOT_WRITE = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
                 sqlite3.SQLITE_CANTOPEN}  # fmt: skip


def read_only(db_path: Path | str) -> bool:
    """Whether an existing database sits where it cannot be written (read-only mount...)."""
    path = Path(db_path)
    if str(db_path) == ":memory:" or not path.exists():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _open_read_only(db_path: Path | str) -> Database:
    """Open a memory that cannot be written: reads only, no WAL, no migration.

    ``immutable`` because SQLite cannot create the WAL's shared-memory file on a read-only
    mount; nothing can write there meanwhile.

    Raises:
        MemoryNotWritable: The file needs a migration, which cannot be written.
    """
    conn = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True,
                           check_same_thread=False)  # fmt: skip
    db = Database(conn)
    missing = pending(db)
    if missing:
        conn.close()
        raise MemoryNotWritable(
            f"memory {db_path} is read-only and needs migrations {', '.join(missing)}; "
            "open it once where it can be written"
        )
    logger.warning("memory %s is read-only: answers are served, nothing is stored", db_path)
    return db


def open_checked(db_path: Path | str) -> tuple[Database, bool]:
    """Connect, check the file is a sound SQLite database, and migrate it.

    A damaged file (truncated, overwritten) fails here, at start-up, with the fix named,
    instead of in the middle of a request. A read-only one opens for reading; the
    second value says which.

    Raises:
        MemoryStoreError: The file is not a database, or is damaged.
    """
    try:
        is_read_only = read_only(db_path)
        db = _open_read_only(db_path) if is_read_only else connect(db_path)
        verdict = db.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(verdict)
        if not is_read_only:
            migrate(db)
    except sqlite3.DatabaseError as ex:
        raise MemoryStoreError(
            f"memory database {db_path} is damaged ({ex}); restore a backup with "
            "`reason memory restore FILE`, or move the file away to start an empty memory"
        ) from None
    return db, is_read_only


def cannot_write(ex: sqlite3.Error) -> bool:
    """Whether ``ex`` says the database cannot be written (rather than a bug or a lock)."""
    code = getattr(ex, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _CANNOT_WRITE
