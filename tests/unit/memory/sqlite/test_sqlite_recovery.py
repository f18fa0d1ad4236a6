from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from memory import EmbeddingMismatch, MemoryNotWritable, MemoryStore, MemoryStoreError, VerifiedPath
from memory.sqlite import database
from retrieval import HashingEmbedder

MakePath = Callable[..., VerifiedPath]


@pytest.fixture
def filled(
    open_tmp_store: Callable[..., MemoryStore],
    make_path: MakePath,
    questions: list[tuple[str, str]],
) -> list[int]:
    """Ids of the six questions, stored and closed (index files saved)."""
    with open_tmp_store() as store:
        return [store.add_problem(make_path(q, a)).id for q, a in questions]


def index_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "problems" / "index.faiss"


def assert_all_found(store: MemoryStore, ids: list[int], questions: list[tuple[str, str]]) -> None:
    for row_id, (question, _) in zip(ids, questions, strict=True):
        assert store.search_problems(question, k=1)[0].record.id == row_id


def test_reopen_loads_the_saved_index(
    filled: list[int],
    open_tmp_store: Callable[..., MemoryStore],
    questions: list[tuple[str, str]],
) -> None:
    with open_tmp_store() as store:
        assert store.problems_index.index.ntotal == len(filled)
        assert_all_found(store, filled, questions)


def _delete_index(problems: Path) -> None:
    (problems / "index.faiss").unlink()


def _garble_index(problems: Path) -> None:
    path = problems / "index.faiss"
    path.write_bytes(b"\x00garbage" * (path.stat().st_size // 8))


def _garble_manifest(problems: Path) -> None:
    (problems / "manifest.json").write_text("{not json")


@pytest.mark.parametrize(
    "damage",
    [_delete_index, _garble_index, _garble_manifest],
    ids=["deleted-index", "corrupt-index", "corrupt-manifest"],
)
def test_damaged_index_files_are_rebuilt_at_open(
    tmp_path: Path,
    filled: list[int],
    open_tmp_store: Callable[..., MemoryStore],
    questions: list[tuple[str, str]],
    damage: Callable[[Path], None],
) -> None:
    damage(tmp_path / "data" / "problems")
    with open_tmp_store() as store:
        assert_all_found(store, filled, questions)
    assert index_file(tmp_path).exists()


def test_index_saved_before_later_writes_catches_up_at_open(
    tmp_path: Path,
    filled: list[int],
    open_tmp_store: Callable[..., MemoryStore],
    make_path: MakePath,
    questions: list[tuple[str, str]],
) -> None:
    manifest = tmp_path / "data" / "problems" / "manifest.json"
    saved = manifest.read_text()
    saved_index = index_file(tmp_path).read_bytes()
    with open_tmp_store() as store:
        extra = store.add_problem(make_path("How many legs do 3 spiders have?", "24")).id
    # Put back the older index files, as if the process had died before saving them.
    manifest.write_text(saved)
    index_file(tmp_path).write_bytes(saved_index)
    with open_tmp_store() as store:
        assert store.search_problems("How many legs do 3 spiders have?", k=1)[0].record.id == extra
        assert_all_found(store, filled, questions)
    assert json.loads(manifest.read_text())["last_id"] == extra


def test_index_missing_a_deleted_row_is_rebuilt_at_open(
    tmp_path: Path,
    filled: list[int],
    open_tmp_store: Callable[..., MemoryStore],
) -> None:
    manifest = tmp_path / "data" / "problems" / "manifest.json"
    saved, saved_index = manifest.read_text(), index_file(tmp_path).read_bytes()
    with open_tmp_store() as store:
        store.delete(filled[0])
    manifest.write_text(saved)
    index_file(tmp_path).write_bytes(saved_index)
    with open_tmp_store() as store:
        assert store.problems_index.index.ntotal == len(filled) - 1


def test_other_embedding_model_at_open_raises_an_error_naming_the_rebuild_command(
    filled: list[int], open_tmp_store: Callable[..., MemoryStore]
) -> None:
    with pytest.raises(EmbeddingMismatch, match="reason memory rebuild-index") as info:
        open_tmp_store(embedder=HashingEmbedder(32))
    assert "hashing-64" in str(info.value) and "hashing-32" in str(info.value)


def test_reembed_switches_the_store_to_the_new_model(
    filled: list[int],
    open_tmp_store: Callable[..., MemoryStore],
    questions: list[tuple[str, str]],
) -> None:
    with open_tmp_store(embedder=HashingEmbedder(32), reembed=True) as store:
        assert store.stats().dim == 32
        assert_all_found(store, filled, questions)
    with open_tmp_store(embedder=HashingEmbedder(32)) as store:
        assert_all_found(store, filled, questions)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_other_index_kinds_are_rebuilt_and_searchable(
    kind: str,
    filled: list[int],
    open_with_retrieval: Callable[..., MemoryStore],
    questions: list[tuple[str, str]],
) -> None:
    with open_with_retrieval(index_kind=kind) as store:
        assert store.problems_index.index.kind == kind
        assert_all_found(store, filled, questions)
    with open_with_retrieval(index_kind=kind) as store:
        assert_all_found(store, filled, questions)


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_database_fails_at_open_naming_the_fix(
    tmp_path: Path, filled: list[int], open_tmp_store: Callable[..., MemoryStore], damage: str
) -> None:
    db = tmp_path / "data" / "memory.db"
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"\x07" * len(data))
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    with pytest.raises(MemoryStoreError, match="damaged") as caught:
        open_tmp_store()
    assert "reason memory restore" in str(caught.value)


def test_a_read_only_memory_opens_for_reading_and_refuses_writes_with_a_reason(
    filled: list[int],
    open_tmp_store: Callable[..., MemoryStore],
    questions: list[tuple[str, str]],
    make_path: MakePath,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As on a read-only mount (root ignores file modes, so the check itself is patched; the
    # real mount is `reason bench reliability --cases disk`).
    monkeypatch.setattr(database, "read_only", lambda _path: True)
    store = open_tmp_store()
    try:
        assert store.read_only and store.count() == len(filled)
        assert_all_found(store, filled, questions)
        with pytest.raises(MemoryNotWritable, match="read-only"):
            store.add_problem(make_path("What is 2 + 2?", "4"))
        with pytest.raises(MemoryNotWritable):
            store.add_principle("Add the parts.")
    finally:
        store.close()


def test_a_full_database_is_a_not_writable_error_and_keeps_what_was_stored(
    filled: list[int],
    open_tmp_store: Callable[..., MemoryStore],
    questions: list[tuple[str, str]],
    make_path: MakePath,
) -> None:
    # SQLite's own "database or disk is full" (SQLITE_FULL), by capping the file's pages at
    # what it holds now: the store classifies it by its result code, not by its wording.
    store = open_tmp_store()
    try:
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(MemoryNotWritable, match="cannot be written"):
            for i in range(50):  # a page has room for a few rows
                store.add_problem(make_path(f"Fill {i}: " + "x" * 3000 + "?", str(i)))
        assert store.count() >= len(filled)
        assert_all_found(store, filled, questions)
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.db.execute("PRAGMA max_page_count = 1073741823")
        store.close()
