"""Feedback's rules (agent/feedback.py): a scripted backend writes the programs, the real
sandbox runs them, a real SQLite + FAISS store (hashing embedder) keeps the records."""

from __future__ import annotations

from agent.answers import AnswerRecord
from agent.feedback import FeedbackContext, record_feedback
from agent.programs import PROGRAM_PREFIX
from agent.sandbox import Sandbox, SandboxLimits
from memory import MemoryStore
from tests.support.memory_records import verified
from tests.support.queue_backend import QueueBackend

Q = "Tom has 3 apples and buys 4 more. How many apples does he have?"
SANDBOX = Sandbox(SandboxLimits(wall_seconds=5.0, cpu_seconds=1.0))


def remember(store: MemoryStore, question: str, answer: str) -> int:
    path = verified(question, answer, path=f"worked: {answer}", agreeing_paths=3, total_paths=3)
    return store.add_problem(path).id


def answered(answer: str | None = "8", **changes: object) -> AnswerRecord:
    base: dict[str, object] = {
        "id": "ans-1",
        "question": Q,
        "answer": answer,
        "path": f"3 + 4 = {answer}",
        "evidence": {"vote_share": 1.0, "agreeing_paths": 3, "total_paths": 3},
        "domain": "math",
    }
    base.update(changes)
    return AnswerRecord(**base)  # type: ignore[arg-type]


def context(store: MemoryStore, programs: list[str], *, trust: bool = False) -> FeedbackContext:
    return FeedbackContext(
        memory=store, backend=QueueBackend(programs), sandbox=SANDBOX, trust_reviewers=trust
    )


def test_correct_stores_an_unstored_answer_and_confirms_a_stored_one(store: MemoryStore) -> None:
    result = record_feedback(context(store, []), answered("7"), True, None)
    assert result.action == "stored" and result.memory_id is not None
    assert store.get(result.memory_id).source == "feedback"
    again = record_feedback(
        context(store, []), answered("7", memory_id=result.memory_id), True, None
    )
    assert again.action == "confirmed" and store.get(result.memory_id).verified


def test_giving_the_same_answer_counts_as_correct(store: MemoryStore) -> None:
    result = record_feedback(context(store, []), answered("7"), False, " 7 ")
    assert result.action == "stored" and result.programs_tried == 0


def test_wrong_retires_the_stored_answer_and_the_records_that_led_to_it(
    store: MemoryStore,
) -> None:
    mine = remember(store, Q, "8")
    led = remember(store, "Tom has 2 apples and buys 6 more. How many apples?", "8")
    shown_only = remember(store, "Ann has 5 pears and eats 1. How many pears?", "4")
    record = answered("8", memory_id=mine, recalled=(led, shown_only), vouching=(led,))
    result = record_feedback(context(store, []), record, False, None)
    assert result.action == "rejected" and result.memory_id == mine
    assert result.retired == (led,)
    assert not store.get(mine).verified and not store.get(led).verified
    assert store.get(shown_only).verified  # recalled, but no agreeing path saw it
    assert "no longer recalled" in result.detail


def test_a_right_answer_is_stored_with_the_program_that_prints_it(store: MemoryStore) -> None:
    backend_programs = ["print(3 * 4)\n", "apples = 3 + 4\nprint(apples)\n", "print(9)\n", "x\n"]
    ctx = context(store, backend_programs)
    result = record_feedback(ctx, answered("8"), False, "7")
    assert result.action == "corrected" and result.programs_tried == 4
    record = store.get(result.memory_id or -1)
    assert record.answer == "7" and record.source == "feedback:program"
    assert record.program == "apples = 3 + 4\nprint(apples)"
    assert record.path.startswith(PROGRAM_PREFIX) and record.path.endswith("Output: 7")
    # the programs were written from the plain prompt: no recalled record was shown
    (call,) = ctx.backend.calls  # type: ignore[attr-defined]
    assert [m["role"] for m in call["messages"]] == ["system", "user"]


def test_a_right_answer_no_program_prints_is_stored_only_when_reviewers_are_trusted(
    store: MemoryStore,
) -> None:
    nines = ["print(9)\n"] * 4
    refused = record_feedback(context(store, nines), answered("8"), False, "7")
    assert refused.action == "not_stored" and refused.memory_id is None
    assert "none of 4 programs printed 7" in refused.detail
    assert store.count() == 0
    trusted = record_feedback(context(store, nines, trust=True), answered("8"), False, "7")
    assert trusted.action == "stored_as_given"
    record = store.get(trusted.memory_id or -1)
    assert record.answer == "7" and record.source == "feedback:reviewer" and not record.program
