"""Backup under concurrent writes, and restore: real SQLite files, real FAISS indexes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from memory import MemoryStore, MemoryStoreError, VerifiedPath
from memory.sqlite.backup import backup, restore

MakePath = Callable[..., VerifiedPath]


def test_a_backup_taken_while_writes_go_on_is_a_consistent_snapshot(
    open_tmp_store: Callable[..., MemoryStore], make_path: MakePath, tmp_path: Path
) -> None:
    store = open_tmp_store()
    for i in range(20):
        store.add_problem(
            make_path(f"A farmer has {i} cows and buys {i + 3} more. How many?", str(2 * i + 3))
        )
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        i = 100
        while not stop.is_set():
            store.add_problem(
                make_path(f"A baker bakes {i} loaves, sells {i // 2}. Left?", str(i - i // 2))
            )
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reports = [backup(Path(store.db_path), tmp_path / f"backup-{k}.db") for k in range(5)]
    finally:
        stop.set()
        thread.join()
    final = store.count()
    store.close()
    assert written, "the writer ran during the backups"
    counts = [r.problems for r in reports]
    # Each backup is a snapshot: at least what was there before, never more than the end,
    # and never less than an earlier backup.
    assert all(20 <= c <= final for c in counts) and counts == sorted(counts)
    for r in reports:
        conn = sqlite3.connect(r.path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [row[0] for row in conn.execute("SELECT id FROM problems ORDER BY id")]
        assert len(ids) == len(set(ids)) == r.problems  # no duplicate, no half-written row
        conn.close()


def test_restore_puts_the_backup_back_and_rebuilds_the_indexes(
    open_tmp_store: Callable[..., MemoryStore], make_path: MakePath, tmp_path: Path
) -> None:
    store = open_tmp_store()
    kept = store.add_problem(make_path("What is 6 times 7?", "42")).id
    saved = backup(Path(store.db_path), tmp_path / "memory-backup.db")
    store.add_problem(make_path("What is 9 plus 10?", "19"))  # after the backup: will be lost
    db_path = Path(store.db_path)
    store.close()

    report = restore(Path(saved.path), db_path)
    assert report.problems == 1
    again = open_tmp_store()
    try:
        assert again.count() == 1 and again.get(kept).answer == "42"
        hits = again.search_problems("What is 6 times 7?", k=3)
        assert [h.record.id for h in hits] == [kept]  # the index holds the restored rows only
    finally:
        again.close()


def test_restore_refuses_a_damaged_or_foreign_file_and_leaves_memory_alone(
    open_tmp_store: Callable[..., MemoryStore], make_path: MakePath, tmp_path: Path
) -> None:
    store = open_tmp_store()
    store.add_problem(make_path("What is 6 times 7?", "42"))
    db_path = Path(store.db_path)
    store.close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(MemoryStoreError, match="not a memory database"):
        restore(junk, db_path)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(MemoryStoreError, match="not a memory database"):
        restore(other, db_path)
    with pytest.raises(MemoryStoreError, match="no backup"):
        restore(tmp_path / "missing.db", db_path)
    again = open_tmp_store()
    assert again.count() == 1
    again.close()
