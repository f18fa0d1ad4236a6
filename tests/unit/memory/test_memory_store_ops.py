from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from memory import MemoryConfig, MemoryStore, RecordNotFound, RecordTooLarge, VerifiedPath
from retrieval import EmptyTextError

MakePath = Callable[..., VerifiedPath]


def fill(store: MemoryStore, make_path: MakePath, questions: list[tuple[str, str]]) -> list[int]:
    return [store.add_problem(make_path(q, a)).id for q, a in questions]


def test_added_problem_is_found_by_its_own_question(
    store: MemoryStore, make_path: MakePath, questions: list[tuple[str, str]]
) -> None:
    ids = fill(store, make_path, questions)
    hits = store.search_problems(questions[2][0], k=1)
    assert [h.record.id for h in hits] == [ids[2]]
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_add_returns_added_then_merged_for_the_same_question_and_answer(
    store: MemoryStore, make_path: MakePath
) -> None:
    first = store.add_problem(make_path("What is 6 times 7?", "42"))
    again = store.add_problem(make_path("  what is 6 times 7? ", "42.0"))
    assert first.action == "added"
    assert again.action == "merged"
    assert again.id == first.id
    record = store.get(first.id)
    assert (record.use_count, record.success_count) == (2, 2)
    assert store.count() == 1


def test_near_duplicate_with_same_answer_merges_into_existing_row(
    open_tmp_store: Callable[..., MemoryStore], make_path: MakePath
) -> None:
    store = open_tmp_store(memory=MemoryConfig(near_duplicate_cosine=0.8))
    base = "A shop sells 12 apples in the morning and 8 apples in the evening. How many apples?"
    near = (
        "A shop sells 12 apples in the morning and 8 apples in the evening. How many apples total?"
    )
    first = store.add_problem(make_path(base, "20"))
    second = store.add_problem(make_path(near, "20"))
    assert second.action == "merged"
    assert second.id == first.id
    assert second.similarity is not None and second.similarity >= 0.8
    store.close()


def test_near_duplicate_with_a_different_answer_is_added(
    open_tmp_store: Callable[..., MemoryStore], make_path: MakePath
) -> None:
    store = open_tmp_store(memory=MemoryConfig(near_duplicate_cosine=0.8))
    base = "A shop sells 12 apples in the morning and 8 apples in the evening. How many apples?"
    near = "A shop sells 12 apples in the morning and 9 apples in the evening. How many apples?"
    store.add_problem(make_path(base, "20"))
    assert store.add_problem(make_path(near, "21")).action == "added"
    assert store.count() == 2
    store.close()


def test_search_does_not_return_copies_of_one_problem(
    store: MemoryStore, make_path: MakePath, questions: list[tuple[str, str]]
) -> None:
    fill(store, make_path, questions)
    copy = "A train travels 60 km per hour for 4 hours. How far does it go?"
    # Same words, different answers: stored as separate rows, nearly identical vectors.
    for answer in ("240", "241", "242", "243"):
        store.add_problem(make_path(copy, answer))
    hits = store.search_problems(copy, k=3)
    questions_found = [h.record.question for h in hits]
    assert len(hits) == 3
    assert questions_found.count(copy) == 1


def test_search_without_mmr_diversity_would_return_the_copies(
    open_with_retrieval: Callable[..., MemoryStore],
    make_path: MakePath,
    questions: list[tuple[str, str]],
) -> None:
    store = open_with_retrieval(mmr_lambda=1.0, dedup_cosine=1.01)
    fill(store, make_path, questions)
    copy = "A train travels 60 km per hour for 4 hours. How far does it go?"
    for answer in ("240", "241", "242"):
        store.add_problem(make_path(copy, answer))
    assert [h.record.question for h in store.search_problems(copy, k=3)] == [copy] * 3
    store.close()


def test_rejected_problem_is_hidden_from_verified_only_search(
    store: MemoryStore, make_path: MakePath, questions: list[tuple[str, str]]
) -> None:
    ids = fill(store, make_path, questions)
    store.confirm(ids[0], correct=False, true_answer="181")
    found = {h.record.id for h in store.search_problems(questions[0][0], k=6)}
    assert ids[0] not in found
    everything = store.search_problems(questions[0][0], k=6, verified_only=False)
    assert ids[0] in {h.record.id for h in everything}


def test_confirm_correct_counts_a_success_and_keeps_the_true_answer(
    store: MemoryStore, make_path: MakePath
) -> None:
    row_id = store.add_problem(make_path("What is 9 squared?", "81")).id
    record = store.confirm(row_id, correct=True, true_answer="81")
    assert record.verified and record.verified_by == "feedback"
    assert (record.use_count, record.success_count, record.ground_truth) == (2, 2, "81")


def test_a_record_whose_recalls_keep_losing_is_demoted(
    store: MemoryStore, make_path: MakePath
) -> None:
    row_id = store.add_problem(make_path("What is 9 squared?", "81")).id  # 1 use, 1 success
    assert store.record_recalls([(row_id, False)], demote_after_lost=2) == []
    assert store.record_recalls([(row_id, True)], demote_after_lost=2) == []  # 3 uses, 2 won
    assert store.record_recalls([(row_id, False)], demote_after_lost=2) == []  # 2 of 4 lost
    assert store.record_recalls([(row_id, False)], demote_after_lost=2) == [row_id]
    record = store.get(row_id)
    assert (record.verified, record.verified_by) == (False, "demoted")
    assert (record.use_count, record.success_count) == (5, 2)
    assert not store.search_problems("What is 9 squared?", k=3)  # no longer recalled


def test_feedback_outranks_lost_recalls_and_none_never_demotes(
    store: MemoryStore, make_path: MakePath
) -> None:
    kept = store.add_problem(make_path("What is 9 squared?", "81")).id
    store.confirm(kept, correct=True)
    never = store.add_problem(make_path("What is 7 squared?", "49")).id
    for _ in range(4):
        assert store.record_recalls([(kept, False)], demote_after_lost=1) == []
        assert store.record_recalls([(never, False)], demote_after_lost=None) == []
    assert store.get(kept).verified and store.get(never).verified
    assert store.record_recalls([], demote_after_lost=1) == []


def test_search_filters_by_domain(store: MemoryStore, make_path: MakePath) -> None:
    store.add_problem(make_path("How many minutes are in 3 hours?", "180", domain="time"))
    money = store.add_problem(make_path("How many cents are in 3 dollars?", "300", domain="money"))
    hits = store.search_problems("How many minutes are in 3 hours?", k=3, domain="money")
    assert [h.record.id for h in hits] == [money.id]


def test_search_respects_min_score(
    store: MemoryStore, make_path: MakePath, questions: list[tuple[str, str]]
) -> None:
    fill(store, make_path, questions)
    assert store.search_problems("zebra xylophone quantum", k=3, min_score=0.5) == []


def test_search_with_empty_query_raises_a_value_error(store: MemoryStore) -> None:
    with pytest.raises(EmptyTextError):
        store.search_problems("   ")


def test_delete_removes_the_row_and_its_search_hit(
    store: MemoryStore, make_path: MakePath, questions: list[tuple[str, str]]
) -> None:
    ids = fill(store, make_path, questions)
    store.delete(ids[1])
    with pytest.raises(RecordNotFound):
        store.get(ids[1])
    assert ids[1] not in {h.record.id for h in store.search_problems(questions[1][0], k=6)}


def test_delete_of_unknown_id_raises_record_not_found(store: MemoryStore) -> None:
    with pytest.raises(RecordNotFound, match="42"):
        store.delete(42)


def test_add_problem_refuses_anything_but_a_verified_path(store: MemoryStore) -> None:
    with pytest.raises(TypeError, match="VerifiedPath"):
        store.add_problem({"question": "q", "answer": "a"})  # type: ignore[arg-type]


def test_add_problem_refuses_a_path_over_the_size_limit(
    open_tmp_store: Callable[..., MemoryStore], make_path: MakePath
) -> None:
    store = open_tmp_store(memory=MemoryConfig(max_text_chars=100))
    with pytest.raises(RecordTooLarge, match="path"):
        store.add_problem(make_path("What is 1 + 1?", "2", path="x" * 101))
    assert store.count() == 0
    store.close()


def test_principle_of_a_problem_is_linked_and_searchable(
    store: MemoryStore, make_path: MakePath
) -> None:
    principle = "Distance equals speed times time."
    row_id = store.add_problem(
        make_path("A car drives 50 km/h for 2 hours. How far?", "100", principle=principle)
    ).id
    assert [p.text for p in store.principles_of(row_id)] == [principle]
    hits = store.search_principles("speed times time distance", k=1)
    assert hits[0].record.text == principle


def test_seed_principles_loads_the_shipped_file_once(store: MemoryStore) -> None:
    added = store.seed_principles()
    assert 40 <= added <= 80
    assert store.seed_principles() == 0
    assert store.stats().principles == added


def test_concurrent_writers_lose_no_rows(store: MemoryStore, make_path: MakePath) -> None:
    def writer(thread: int) -> None:
        for i in range(15):
            store.add_problem(make_path(f"Thread {thread} asks question number {i} today", str(i)))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 60
    assert store.stats().indexed_problems == 60


def test_stats_counts_problems_by_status_and_domain(
    store: MemoryStore, make_path: MakePath, questions: list[tuple[str, str]]
) -> None:
    ids = fill(store, make_path, questions)
    store.confirm(ids[0], correct=False)
    stats = store.stats()
    assert (stats.problems, stats.verified, stats.rejected) == (6, 5, 1)
    assert stats.by_domain == {"arithmetic": 6}
    assert stats.embedding_model == "hashing-64"


def test_deleted_problem_is_not_returned_by_an_hnsw_index(
    open_with_retrieval: Callable[..., MemoryStore],
    make_path: MakePath,
    questions: list[tuple[str, str]],
) -> None:
    store = open_with_retrieval(index_kind="hnsw")
    ids = fill(store, make_path, questions)
    store.delete(ids[0])
    assert ids[0] not in {h.record.id for h in store.search_problems(questions[0][0], k=6)}
    store.close()


def test_a_record_and_the_stats_turn_into_json_of_their_fields(
    store: MemoryStore, make_path: MakePath
) -> None:
    import json

    added = store.add_problem(make_path("What is 6 times 7?", "42", principle="Multiply."))
    record = store.get(added.id).to_dict()
    assert json.loads(json.dumps(record))["answer"] == "42"
    assert set(record) >= {"id", "question", "evidence", "program"} and "_CONVERT" not in record
    assert json.dumps([p.to_dict() for p in store.principles_of(added.id)])
    assert json.loads(json.dumps(store.stats().to_dict()))["problems"] == 1
