from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from memory.sqlite import migrations
from memory.sqlite.migrations import MIGRATIONS, applied, connect, migrate


def test_migrate_creates_every_table_on_an_in_memory_db() -> None:
    db = Database(memory=True)
    migrate(db)
    assert {"problems", "principles", "problem_principles", "embedding_meta"} <= set(
        db.table_names()
    )
    assert applied(db) == [fn.__name__ for fn in MIGRATIONS]


def test_migrate_twice_applies_nothing_the_second_time() -> None:
    db = Database(memory=True)
    migrate(db)
    assert migrate(db) == []


def test_migrate_applies_only_a_newly_registered_migration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = Database(memory=True)
    migrate(db)
    registry = list(MIGRATIONS)
    monkeypatch.setattr(migrations, "MIGRATIONS", registry)

    @migrations.migration
    def m999_add_note(db: Database) -> None:
        db["problems"].add_column("note", str)

    assert migrate(db) == ["m999_add_note"]
    assert "note" in db["problems"].columns_dict


def test_failed_migration_leaves_no_partial_change(monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(memory=True)
    migrate(db)
    monkeypatch.setattr(migrations, "MIGRATIONS", list(MIGRATIONS))

    @migrations.migration
    def m998_broken(db: Database) -> None:
        db["scratch"].create({"id": int}, pk="id")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrate(db)
    assert "scratch" not in db.table_names()
    assert "m998_broken" not in applied(db)


def test_registering_a_migration_name_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "MIGRATIONS", list(MIGRATIONS))
    with pytest.raises(ValueError, match="twice"):
        migrations.migration(MIGRATIONS[0])


def test_file_database_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = connect(tmp_path / "m.db")
    migrate(db)
    assert db.journal_mode == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
