"""Backup and restore of a memory: SQLite's online backup, safe while the service writes.

SQLite is the memory's truth; the FAISS indexes are derived from it (``rebuild_index``), so
a backup is the database file alone. ``backup`` copies it through SQLite's backup API from
a connection of its own: in WAL mode that is a consistent snapshot, and the writers of a
running service are not blocked. ``restore`` checks a backup, puts it in place and drops
the indexes so the next open rebuilds them from the restored rows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from memory.errors import MemoryStoreError

INDEX_TABLES = ("problems", "principles")


@dataclass(frozen=True)
class BackupReport:
    """What a backup or restore copied."""

    path: str
    problems: int
    principles: int
    bytes: int


def _check(path: Path) -> tuple[int, int]:
    """Integrity-check a memory database; return its problem and principle counts.

    Raises:
        MemoryStoreError: Not a SQLite file, damaged, or not a memory.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise MemoryStoreError(f"{path} is damaged ({verdict}); use another backup")
            problems = conn.execute("SELECT count(*) FROM problems").fetchone()[0]
            principles = conn.execute("SELECT count(*) FROM principles").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as ex:
        raise MemoryStoreError(f"{path} is not a memory database ({ex})") from None
    return int(problems), int(principles)


def _copy(source: Path, target: Path) -> None:
    """Copy a SQLite database with the backup API into ``target`` (written, then renamed)."""
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30.0)
    dst = sqlite3.connect(part)
    try:
        # One step: a single read transaction, i.e. one consistent snapshot of the source.
        src.backup(dst)
        # The copy is one self-contained file (no -wal beside it).
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()
    os.replace(part, target)


def backup(db_path: Path, target: Path) -> BackupReport:
    """Write a consistent copy of the memory database ``db_path`` to ``target``.

    Raises:
        MemoryStoreError: No memory at ``db_path``, or the copy fails its integrity check.
    """
    if not db_path.is_file():
        raise MemoryStoreError(f"no memory database at {db_path}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _copy(db_path, target)
    except (sqlite3.Error, OSError) as ex:
        raise MemoryStoreError(f"backup to {target} failed: {ex}") from None
    problems, principles = _check(target)
    return BackupReport(str(target), problems, principles, target.stat().st_size)


def restore(source: Path, db_path: Path) -> BackupReport:
    """Replace the memory database ``db_path`` with the backup ``source``.

    Stop the service that uses the memory first. The FAISS indexes beside the database are
    removed; opening the store rebuilds them from the restored rows.

    Raises:
        MemoryStoreError: The backup is missing, damaged or not a memory.
    """
    if not source.is_file():
        raise MemoryStoreError(f"no backup at {source}")
    problems, principles = _check(source)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    # The old database's write-ahead log belongs to the old file: it must not be replayed
    # onto the restored one.
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    try:
        _copy(source, db_path)
    except (sqlite3.Error, OSError) as ex:
        raise MemoryStoreError(f"restore into {db_path} failed: {ex}") from None
    for table in INDEX_TABLES:
        shutil.rmtree(db_path.parent / table, ignore_errors=True)
    return BackupReport(str(db_path), problems, principles, db_path.stat().st_size)
