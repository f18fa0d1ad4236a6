"""The reasoning graph end to end on the real tiny model, real FAISS + SQLite memory."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from agent.backends.config import BackendConfig
from agent.backends.llamacpp import LlamaCppBackend
from agent.backends.openai_compat import OpenAICompatBackend
from agent.config import NAMED_CONFIGS, named_config
from agent.errors import BackendUnavailable
from agent.reasoner import Reasoner
from benchmarks.net import free_port
from memory import Evidence, MemoryConfig, MemoryStore, decide, open_store
from retrieval import RetrievalConfig

pytestmark = pytest.mark.integration

QUESTION = "Sara has 12 pencils and gives away 5. How many pencils does she have left?"
SMALL = {"max_tokens": 48}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemoryStore]:
    s = open_store(tmp_path_factory.mktemp("mem"), MemoryConfig(), RetrievalConfig())
    s.seed_principles()
    yield s
    s.close()


@pytest.mark.parametrize("name", [n for n in NAMED_CONFIGS if n != "ensemble"])
def test_every_named_configuration_answers(
    llamacpp_backend: LlamaCppBackend, store: MemoryStore, name: str
) -> None:
    reasoner = Reasoner(llamacpp_backend, memory=store)
    n = 1 if name in ("greedy", "cot") else 3
    answer = reasoner.solve(QUESTION, named_config(name, n=n, write_back=False, **SMALL))
    assert answer.config == name
    assert len(answer.trace["paths"]) >= 1
    assert answer.usage["completion_tokens"] > 0
    assert set(answer.trace["timings"]) >= {"sample", "aggregate", "verify", "respond"}


def test_ensemble_pools_two_real_models(
    llamacpp_backend: LlamaCppBackend, small_model_path: Path, small_backend_config: BackendConfig
) -> None:
    second = LlamaCppBackend(small_model_path, small_backend_config, name="smollm2-copy")
    reasoner = Reasoner(llamacpp_backend, backend_factory=lambda name: second)
    cfg = named_config("ensemble", n=4, ensemble={"smollm2-copy": 0.5}, **SMALL)
    answer = reasoner.solve(QUESTION, cfg)
    assert {p["model"] for p in answer.trace["paths"]} == {"smollm2-135m", "smollm2-copy"}
    second.close()


def test_stored_problem_is_recalled_as_an_analog(
    llamacpp_backend: LlamaCppBackend, store: MemoryStore
) -> None:
    decision = decide(
        Evidence(
            question="Tim has 20 marbles and loses 8. How many marbles are left?",
            answer="12",
            path="20 - 8 = 12. The answer is \\boxed{12}.",
            ground_truth="12",
            ground_truth_match=True,
            source="test",
        ),
        MemoryConfig().writeback,
    )
    stored = store.add_problem(decision)  # type: ignore[arg-type]
    reasoner = Reasoner(llamacpp_backend, memory=store)
    answer = reasoner.solve(QUESTION, named_config("retrieval+sc", n=2, **SMALL))
    recalled = [a["id"] for a in answer.trace["retrieved"]["analogs"]]
    assert stored.id in recalled
    assert answer.trace["retrieved"]["principles"]


def test_write_back_stores_only_answers_matching_the_ground_truth(
    llamacpp_backend: LlamaCppBackend, store: MemoryStore
) -> None:
    reasoner = Reasoner(llamacpp_backend, memory=store, thresholds=MemoryConfig().writeback)
    cfg = named_config("cot", write_back=True, **SMALL)
    first = reasoner.solve(QUESTION, cfg)
    assert first.answer is not None
    wrong = reasoner.solve(QUESTION, cfg, ground_truth="not " + first.answer)
    assert wrong.trace["memory"]["stored"] is False
    before = store.count()
    right = reasoner.solve(QUESTION, cfg, ground_truth=first.answer)
    assert right.trace["memory"]["stored"] is True
    assert store.get(right.trace["memory"]["id"]).answer == first.answer
    assert store.count() == before + (right.trace["memory"]["action"] == "added")


def test_positive_feedback_stores_an_unstored_answer(
    llamacpp_backend: LlamaCppBackend, store: MemoryStore
) -> None:
    reasoner = Reasoner(llamacpp_backend, memory=store)
    answer = reasoner.solve("What is 2 + 2?", named_config("cot", write_back=False, **SMALL))
    result = reasoner.feedback(answer.id, correct=True, true_answer=answer.answer)
    assert result.action == "stored" and result.memory_id is not None
    again = reasoner.feedback(answer.id, correct=False)
    assert again.action == "rejected" and again.memory_id == result.memory_id
    assert store.get(result.memory_id).verified is False


def test_backend_failure_raises_typed_error_and_writes_nothing(store: MemoryStore) -> None:
    port = free_port()
    down = OpenAICompatBackend(
        BackendConfig(kind="openai", model="x", url=f"http://127.0.0.1:{port}/v1", retries=0)
    )
    before = store.count()
    with pytest.raises(BackendUnavailable):
        Reasoner(down, memory=store).solve(QUESTION, named_config("full", **SMALL))
    assert store.count() == before


def test_thread_follow_up_sees_the_conversation(
    llamacpp_backend: LlamaCppBackend, tmp_path: Path
) -> None:
    saver = SqliteSaver(sqlite3.connect(tmp_path / "threads.db", check_same_thread=False))
    reasoner = Reasoner(llamacpp_backend, checkpointer=saver)
    cfg = named_config("cot", **SMALL)
    first = reasoner.solve(QUESTION, cfg, thread_id="t1")
    second = reasoner.solve("And if she then buys 3 more?", cfg, thread_id="t1")
    other = reasoner.solve("And if she then buys 3 more?", cfg, thread_id="t2")
    assert first.trace["history_turns"] == 1
    assert second.trace["history_turns"] == 2
    assert other.trace["history_turns"] == 1


def test_full_routes_by_kind_on_the_real_model(
    llamacpp_backend: LlamaCppBackend, store: MemoryStore
) -> None:
    # A word answer: greedy views (a program and the bare answer; a chain of thought when they
    # differ). A leg count: programs first, shown the shipped leg facts (real embedder, real
    # floor) focused on the question's animals.
    reasoner = Reasoner(llamacpp_backend, memory=store)
    family = (
        "John is married to Isabella. They have a child called Edward.\n\n"
        "What is Isabella to Edward? Respond only with the word that describes their "
        "relationship."
    )
    word = reasoner.solve(family, named_config("full", write_back=False, **SMALL))
    assert word.trace["route"]["task"] == "text"
    assert word.trace["route"]["plan"] == "greedy views"
    # The chain of thought is drawn (and listed first) only when the other two disagree.
    kinds = [p["kind"] for p in word.trace["paths"]]
    assert kinds in (["program", "prose"], ["prose", "program", "prose"])
    legs = "How many legs are there in total if you have 3 crabs and 2 spiders?"
    count = reasoner.solve(legs, named_config("full", write_back=False, **SMALL))
    assert count.trace["route"]["task"] == "math" and "plan" not in count.trace["route"]
    assert count.trace["paths"][0]["kind"] == "program"
    (principle,) = count.trace["retrieved"]["principles"]
    assert "A crab has 10 legs." in principle["text"] and principle["score"] >= 0.55
