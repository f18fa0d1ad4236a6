"""A recalled program reaches the real tiny model as a worked example.

SmolLM2-135M writes poor programs, so this checks the plumbing (the worked program goes
through the real chat template into the program paths' prompt), not the answers. Storing
a program that ran is checked with scripted programs and the real sandbox in
tests/unit/graph/test_program_memory.py: the tiny model's seeded programs print no answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config import GraphConfig, named_config
from agent.reasoner import Reasoner
from agent.sandbox import Sandbox, SandboxLimits
from memory import Evidence, MemoryConfig, MemoryStore, VerifiedPath, decide, open_store
from retrieval import HashingEmbedder, RetrievalConfig
from tests.support.memory_records import verified

pytestmark = pytest.mark.integration

ANALOG = "A farmer has 12 cows and buys 7 more. How many cows does he have now?"
ANALOG_PROGRAM = "cows = 12\nbought = 7\nprint(cows + bought)"
Q = "A farmer has 15 cows and buys 9 more. How many cows does he have now?"
SANDBOX = Sandbox(SandboxLimits(wall_seconds=5))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    s = open_store(
        tmp_path / "data",
        MemoryConfig(index_save_every=1000),
        RetrievalConfig(embedding_model="hashing-64", min_score=0.0),
        embedder=HashingEmbedder(64),
    )
    yield s
    s.close()


def test_a_recalled_program_is_a_worked_example_for_the_real_model(
    llamacpp_backend: Any, store: MemoryStore
) -> None:
    evidence = Evidence(
        question=ANALOG,
        answer="19",
        path="12 + 7 = 19",
        vote_share=1.0,
        agreeing_paths=4,
        total_paths=4,
        program=ANALOG_PROGRAM,
        program_output="19\n",
    )
    decision = decide(evidence, MemoryConfig().writeback)
    assert isinstance(decision, VerifiedPath)
    stored = store.add_problem(decision).id
    reasoner = Reasoner(llamacpp_backend, memory=store, sandbox=SANDBOX)
    budget = {"n": 2, "program_max_tokens": 48, "write_back": False}
    recall = GraphConfig(name="recall", retrieval=True, paths="program", min_score=0, **budget)
    alone = GraphConfig(name="alone", paths="program", **budget)
    with_example = reasoner.solve(Q, recall)
    without = reasoner.solve(Q, alone)
    assert [a["id"] for a in with_example.trace["retrieved"]["analogs"]] == [stored]
    assert [p["kind"] for p in with_example.trace["paths"]] == ["program", "program"]
    # the worked example went through the model's chat template: a longer prompt
    extra = with_example.usage["prompt_tokens"] - without.usage["prompt_tokens"]
    assert extra > len(ANALOG_PROGRAM.split())


def remember(store: MemoryStore, question: str, program: str, answer: str) -> int:
    path = verified(
        question,
        answer,
        path=f"{question} -> {answer}",
        agreeing_paths=3,
        total_paths=3,
        program=program,
        program_output=f"{answer}\n",
    )
    return store.add_problem(path).id


def test_full_shows_each_first_round_program_its_own_analog(
    llamacpp_backend: Any, store: MemoryStore
) -> None:
    first = remember(store, ANALOG, ANALOG_PROGRAM, "19")
    second = remember(
        store,
        "A farmer has 20 sheep and buys 5 more. How many sheep does he have now?",
        "sheep = 20\nbought = 5\nprint(sheep + bought)",
        "25",
    )
    reasoner = Reasoner(llamacpp_backend, memory=store, sandbox=SANDBOX)
    cfg = named_config(
        "full", min_score=0.0, max_tokens=48, program_max_tokens=48, n=4, write_back=False
    )
    answer = reasoner.solve(Q, cfg)
    recalled = [a["id"] for a in answer.trace["retrieved"]["analogs"]]
    assert sorted(recalled) == sorted([first, second])
    programs = [p for p in answer.trace["paths"] if p["kind"] == "program"]
    # the first round: one program per analog, each shown a different one
    assert {p["analog"] for p in programs[:2]} == {str(first), str(second)}
    assert all(isinstance(p["copied"], list) for p in programs)
    # copy detection reads the numbers: the analogs' 12, 7, 20 are not in the question
    for p in programs:
        assert set(p["copied"]) <= {"12", "20"}  # 7 and 5 are small constants, never counted
