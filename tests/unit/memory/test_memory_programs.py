"""Memory keeps the executed program that printed an answer, and what it printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import reasoning_gym

from evaluation.learn import SolveResult, learn
from memory import (
    MemoryConfig,
    MemoryStore,
    RecordTooLarge,
    VerifiedPath,
)
from memory.records import content_hash, normalize_answer, normalize_question
from memory.rows import now_iso
from memory.sqlite import migrations as migrations_module
from memory.sqlite.indexes import to_blob
from memory.sqlite.migrations import MIGRATIONS, applied, connect, migrate
from retrieval import HashingEmbedder

MakePath = Callable[..., VerifiedPath]

Q = "Tom has 3 apples and buys 4 more. How many apples does he have?"
PROGRAM = "apples = 3 + 4\nprint(apples)"
OUTPUT = "7\n"


def test_an_old_database_migrates_and_its_rows_read_with_no_program(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    open_tmp_store: Callable[..., MemoryStore],
    embedder: HashingEmbedder,
    memory_config: MemoryConfig,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = connect(data / memory_config.db_name)
    names = [fn.__name__ for fn in MIGRATIONS]
    previous = MIGRATIONS[: names.index("m004_problem_programs")]
    monkeypatch.setattr(migrations_module, "MIGRATIONS", previous)
    migrate(db)
    assert "program" not in db["problems"].columns_dict
    db["problems"].insert(
        {
            "question": Q,
            "question_norm": normalize_question(Q),
            "domain": "arithmetic",
            "answer": "7",
            "answer_norm": normalize_answer("7"),
            "path": "3 + 4 = 7",
            "verified": 1,
            "verified_by": "consensus",
            "evidence": "{}",
            "created_at": now_iso(),
            "use_count": 1,
            "success_count": 1,
            "content_hash": content_hash(Q, "7"),
            "extra": "{}",
            "embedding": to_blob(embedder.embed([Q])[0]),
        }
    )
    db.close()
    monkeypatch.undo()

    store = open_tmp_store()
    assert applied(store.db) == names
    record = store.get(1)
    assert (record.answer, record.path) == ("7", "3 + 4 = 7")
    assert record.program is None and record.program_output is None
    assert store.search_problems(Q, k=1)[0].record.id == 1
    store.close()


def test_a_program_round_trips_through_add_get_export_and_import(
    tmp_path: Path, store: MemoryStore, make_path: MakePath
) -> None:
    added = store.add_problem(make_path(Q, "7", program=PROGRAM, program_output=OUTPUT))
    record = store.get(added.id)
    assert (record.program, record.program_output) == (PROGRAM, OUTPUT)
    assert record.to_dict()["program"] == PROGRAM
    exported = tmp_path / "out.jsonl"
    store.export_jsonl(exported)
    (line,) = [json.loads(raw) for raw in exported.read_text().splitlines()]
    assert (line["program"], line["program_output"]) == (PROGRAM, OUTPUT)
    assert "program" not in json.loads(store.db["problems"].get(added.id)["extra"])

    other = MemoryStore(tmp_path / "other.db", store.embedder, store.memory, store.retrieval)
    assert other.import_jsonl(exported).added == 1
    hit = other.search_problems(Q, k=1)[0].record
    assert (hit.program, hit.program_output) == (PROGRAM, OUTPUT)
    other.close()


def test_an_imported_record_without_a_program_is_recalled_with_none(
    tmp_path: Path, store: MemoryStore
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"question": Q, "answer": "7", "path": "3 + 4 = 7", "verified": True})
    )
    report = store.import_jsonl(source)
    assert (report.added, report.errors) == (1, [])
    hit = store.search_problems(Q, k=1)[0].record
    assert hit.program is None and hit.program_output is None
    exported = tmp_path / "out.jsonl"
    store.export_jsonl(exported)
    assert json.loads(exported.read_text())["program"] is None


def test_an_imported_program_that_is_not_text_is_reported(
    tmp_path: Path, store: MemoryStore
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"question": Q, "answer": "7", "program": ["print(7)"]}))
    report = store.import_jsonl(source)
    assert report.added == 0
    assert "program" in report.errors[0].message


def test_a_merge_fills_a_missing_program_and_keeps_an_existing_one(
    store: MemoryStore, make_path: MakePath
) -> None:
    first = store.add_problem(make_path(Q, "7"))
    assert store.get(first.id).program is None
    merged = store.add_problem(make_path(Q, "7", program=PROGRAM, program_output=OUTPUT))
    assert (merged.id, merged.action) == (first.id, "merged")
    assert (store.get(first.id).program, store.get(first.id).program_output) == (PROGRAM, OUTPUT)
    store.add_problem(make_path(Q, "7", program="print(7)", program_output="7\n"))
    assert store.get(first.id).program == PROGRAM


def test_add_problem_refuses_a_program_over_the_size_limit(
    store: MemoryStore, make_path: MakePath
) -> None:
    huge = "x = 1\n" * store.memory.max_text_chars
    with pytest.raises(RecordTooLarge, match="program"):
        store.add_problem(make_path(Q, "7", program=huge, program_output="7"))
    assert store.count() == 0


def test_learn_stores_the_program_of_a_right_answer(store: MemoryStore) -> None:
    entries = list(reasoning_gym.create_dataset("gsm_symbolic", size=2, seed=7))
    key = {e["question"]: str(e["answer"]) for e in entries}

    def solve(question: str) -> SolveResult:
        answer = key[question]
        return SolveResult(
            answer=answer,
            path=f"worked: {answer}",
            program=f"print({answer})",
            program_output=f"{answer}\n",
        )

    report = learn(store, solve, "gsm_symbolic", size=2, seed=7)
    assert report.added == 2
    stored = store.search_problems(entries[0]["question"], k=1)[0].record
    assert stored.program == f"print({key[entries[0]['question']]})"
    assert stored.program_output == f"{key[entries[0]['question']]}\n"
