from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from memory import MemoryStore, VerifiedPath

MakePath = Callable[..., VerifiedPath]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_export_then_import_round_trips_problems_principles_and_unknown_fields(
    tmp_path: Path, store: MemoryStore, open_tmp_store: Callable[..., MemoryStore]
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [
            json.dumps({"kind": "principle", "principle": "Rates add up.", "domain": "rates"}),
            json.dumps(
                {
                    "question": "Two pipes fill 3 and 2 litres a minute. Litres in 4 minutes?",
                    "answer": "20",
                    "path": "(3 + 2) x 4 = 20",
                    "verified": True,
                    "principles": ["Rates add up."],
                    "difficulty": "easy",
                    "tags": ["rates", "work"],
                }
            ),
        ],
    )
    report = store.import_jsonl(source)
    assert (report.added, report.principles, report.errors) == (1, 1, [])
    exported = tmp_path / "out.jsonl"
    assert store.export_jsonl(exported) == 2

    other = MemoryStore(tmp_path / "other.db", store.embedder, store.memory, store.retrieval)
    assert other.import_jsonl(exported).added == 1
    again = tmp_path / "again.jsonl"
    other.export_jsonl(again)
    first = [json.loads(line) for line in exported.read_text().splitlines()]
    second = [json.loads(line) for line in again.read_text().splitlines()]
    for line in first + second:
        line.pop("created_at", None)
    assert first == second
    problem = second[1]
    assert problem["difficulty"] == "easy"
    assert problem["tags"] == ["rates", "work"]
    assert problem["principles"] == ["Rates add up."]
    other.close()


def test_malformed_line_is_reported_with_its_number_and_the_rest_imports(
    tmp_path: Path, store: MemoryStore
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [
            json.dumps({"question": "What is 3 + 4?", "answer": "7", "verified": True}),
            '{"question": "broken json", ',
            json.dumps({"question": "What is 5 + 5?"}),
            json.dumps({"question": "What is 8 - 2?", "answer": 6, "verified": True}),
            json.dumps(["not", "an", "object"]),
        ],
    )
    report = store.import_jsonl(source)
    assert report.added == 2
    assert [e.line for e in report.errors] == [2, 3, 5]
    assert "answer" in report.errors[1].message
    assert len(store.search_problems("What is 8 - 2?", k=1)) == 1


def test_importing_the_same_file_twice_skips_the_duplicates(
    tmp_path: Path, store: MemoryStore
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [json.dumps({"question": f"What is {i} + {i}?", "answer": str(2 * i)}) for i in range(5)],
    )
    assert store.import_jsonl(source).added == 5
    second = store.import_jsonl(source)
    assert (second.added, second.skipped) == (0, 5)
    assert store.count() == 5


def test_imported_line_without_verified_flag_is_not_used_by_verified_search(
    tmp_path: Path, store: MemoryStore
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl", [json.dumps({"question": "What is 2 + 9?", "answer": "11"})]
    )
    store.import_jsonl(source)
    assert store.search_problems("What is 2 + 9?") == []
    assert len(store.search_problems("What is 2 + 9?", verified_only=False)) == 1


def test_oversized_line_is_reported_and_not_stored(tmp_path: Path, store: MemoryStore) -> None:
    huge = "x" * (store.memory.max_text_chars + 1)
    source = write_lines(
        tmp_path / "in.jsonl", [json.dumps({"question": "q?", "answer": "1", "path": huge})]
    )
    report = store.import_jsonl(source)
    assert report.added == 0
    assert report.errors[0].line == 1
    assert "limit" in report.errors[0].message
