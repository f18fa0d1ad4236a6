"""Recalled programs as worked examples: one prompt per analog, independence, copying.

Pure logic with a scripted backend (the real sandbox runs the programs, a real SQLite +
FAISS store with the hashing embedder recalls them); the real model's use of analogs is
measured in benchmarks, not here.
"""

from __future__ import annotations

import pytest

from agent.analogs import (
    ProgramPrompt,
    copied_numbers,
    independent_support,
    program_prompts,
    prose_analogs,
)
from agent.config import GraphConfig, named_config
from agent.paths import ReasoningPath
from agent.programs import PROGRAM_PREFIX
from agent.reasoner import Reasoner
from agent.sandbox import Sandbox, SandboxLimits
from memory import Evidence, MemoryStore, VerifiedPath, decide
from tests.support.queue_backend import QueueBackend

SANDBOX = Sandbox(SandboxLimits(wall_seconds=5.0, cpu_seconds=1.0))
ASKED = "Tom has 5 apples and buys 4 more. How many apples does he have?"
NINE = "apples = 5 + 4\nprint(apples)\n"
EIGHT = "print(8)\n"
ANALOGS = [
    {"id": "p1", "question": "Tom has 3 apples and buys 4 more.", "program": "print(3 + 4)",
     "path": f"{PROGRAM_PREFIX}print(3 + 4)\n```\nOutput: 7", "score": 0.9},
    {"id": "p2", "question": "Ann has 6 pears and buys 2 more.", "program": "print(6 + 2)",
     "path": "6 + 2 = 8, so \\boxed{8}.", "score": 0.8},
    {"id": "p3", "question": "A prose-only record.", "program": None,
     "path": "worked out: 1", "score": 0.7},
]  # fmt: skip


def test_one_prompt_per_analog_with_a_program_when_rotating() -> None:
    prompts = program_prompts(ASKED, task="math", analogs=ANALOGS, rotate=True)
    assert [p.analog for p in prompts] == ["p1", "p2"]
    for prompt, analog in zip(prompts, ANALOGS, strict=False):
        # system, the analog's question, its program, the question: one example each
        assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user"]
        assert prompt.messages[1]["content"] == analog["question"]
        assert prompt.messages[-1]["content"] == ASKED


def test_one_prompt_with_every_program_when_not_rotating_and_a_plain_one_with_none() -> None:
    (together,) = program_prompts(ASKED, task="math", analogs=ANALOGS, rotate=False)
    assert together.analog == "p1,p2"
    assert len(together.messages) == 6
    (plain,) = program_prompts(ASKED, task="math", analogs=ANALOGS[2:])
    assert plain.analog is None and len(plain.messages) == 2
    shown, alone = program_prompts(ASKED, task="math", analogs=ANALOGS[1:])
    assert (shown.analog, alone.analog) == ("p2", None)
    assert len(shown.messages) == 4 and alone.messages == plain.messages


def test_prose_prompts_are_shown_only_analogs_solved_in_prose() -> None:
    assert [a["id"] for a in prose_analogs(ANALOGS)] == ["p2", "p3"]


def path(answer: str | None, analog: str | None, index: int = 0) -> ReasoningPath:
    return ReasoningPath(index=index, text="", answer=answer, kind="program", analog=analog)


def test_programs_that_saw_the_same_analog_count_once() -> None:
    assert independent_support([path("9", "p1"), path("9", "p1"), path("9", "p1")]) == 1
    assert independent_support([path("9", "p1"), path("9", "p2")]) == 2
    assert independent_support([path("9", None), path("9", None)]) == 2


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("apples = 5 + 4\nprint(apples)", []),  # the question's own numbers
        ("apples = 37 + 4\nprint(apples)", ["37"]),  # 37 is the analog's, not the question's
        ("total = 37.0 * 2\nprint(total)", ["37"]),  # 37.0 is 37
        ("x = 12 * 60\nprint(x)", []),  # units are not copies
        ("x = 1,250\nprint(x)", []),  # in neither question as a copied quantity
    ],
)
def test_copied_numbers_are_the_analogs_numbers_missing_from_the_question(
    code: str, expected: list[str]
) -> None:
    analog = "Tom has 37 apples and buys 12 more; 60 minutes."
    question = "Tom has 5 apples and buys 4 more. 1,250 people came."
    assert copied_numbers(code, question, analog) == expected
    assert copied_numbers(code, question, None) == []
    assert ProgramPrompt([], question, "a", analog).copied(code) == tuple(expected)


def remember(store: MemoryStore, question: str, program: str, answer: str) -> None:
    verdict = decide(
        Evidence(
            question=question, answer=answer, path=f"{PROGRAM_PREFIX}{program}\n```",
            vote_share=1.0, agreeing_paths=3, total_paths=3, program=program,
            program_output=answer, ground_truth=answer, ground_truth_match=True,
        ),
        store.memory.writeback,
    )  # fmt: skip
    assert isinstance(verdict, VerifiedPath)
    store.add_problem(verdict)


ANALOG_ONE = "Tom has 3 apples and buys 4 more. How many apples?"
ANALOG_TWO = "Tom has 6 apples and buys 2 more. How many apples?"
FIRST = GraphConfig(
    name="t", paths="mixed", sampling="program_first", vote={"strategy": "mixed"}, n=8,
    retrieval=True, k_analogs=3, k_principles=0, min_score=0.0, write_back=False,
)  # fmt: skip


def test_two_programs_with_different_analogs_agreeing_answer_at_once(store: MemoryStore) -> None:
    remember(store, ANALOG_ONE, "print(3 + 4)", "7")
    remember(store, ANALOG_TWO, "print(6 + 2)", "8")
    backend = QueueBackend([NINE, NINE])
    answer = Reasoner(backend, memory=store, sandbox=SANDBOX).solve(ASKED, FIRST)
    assert answer.answer == "9"
    # the first round is one program per recalled analog: two here, one call each
    assert answer.trace["sampling"]["stop"] == "2 of 2 programs agree"
    assert answer.trace["sampling"]["first_round"] is True
    assert [c["n"] for c in backend.calls] == [1, 1]
    assert [c["seed"] for c in backend.calls] == [0, 0]  # each prompt's first program
    shown = [c["messages"][1]["content"] for c in backend.calls]
    assert sorted(shown) == sorted([ANALOG_ONE, ANALOG_TWO])
    assert len({p["analog"] for p in answer.trace["paths"]}) == 2


def test_disagreeing_programs_rotate_over_the_analogs_after_the_prose_path(
    store: MemoryStore,
) -> None:
    remember(store, ANALOG_ONE, "print(3 + 4)", "7")
    remember(store, ANALOG_TWO, "print(6 + 2)", "8")
    cfg = FIRST.model_copy(update={"n": 4})
    # 9 vs 8, the prose path says 10 (agrees with neither), then programs 3 and 4
    backend = QueueBackend([NINE, EIGHT, "\\boxed{10}", NINE, NINE])
    answer = Reasoner(backend, memory=store, sandbox=SANDBOX).solve(ASKED, cfg)
    assert answer.trace["sampling"]["stop"] == "no agreement: all paths drawn"
    assert answer.answer == "9"
    programs = [p for p in answer.trace["paths"] if p["kind"] == "program"]
    assert [p["analog"] for p in programs][2:] == [p["analog"] for p in programs][:2]
    # each prompt counts its own seeds: (analog 1, seed 0), (analog 2, seed 0), then seed 1
    assert [
        (c["messages"][1]["content"], c["seed"]) for c in backend.calls if c.get("prefixes")
    ] == [(shown, seed) for seed in (0, 1) for shown in (ANALOG_ONE, ANALOG_TWO)]


def test_one_analog_alternates_with_the_plain_prompt(store: MemoryStore) -> None:
    remember(store, ANALOG_ONE, "print(3 + 4)", "7")
    backend = QueueBackend([NINE, NINE])
    answer = Reasoner(backend, memory=store, sandbox=SANDBOX).solve(ASKED, FIRST)
    # a program shown the analog and one shown none agree: independent, answered at once
    assert answer.trace["sampling"]["stop"] == "2 of 2 programs agree"
    assert [len(c["messages"]) for c in backend.calls] == [4, 2]
    assert [p.get("analog") is None for p in answer.trace["paths"]] == [False, True]


def test_programs_agreeing_under_one_analog_need_the_prose_path(store: MemoryStore) -> None:
    remember(store, ANALOG_ONE, "print(3 + 4)", "7")
    cfg = FIRST.model_copy(update={"rotate_analogs": False})
    # all three see the only analog and agree: not independent, so one greedy prose path
    backend = QueueBackend([NINE, NINE, NINE, "5 + 4 = 9. \\boxed{9}"])
    answer = Reasoner(backend, memory=store, sandbox=SANDBOX).solve(ASKED, cfg)
    assert answer.answer == "9"
    assert answer.trace["sampling"]["stop"] == "a program and the prose path agree"
    assert [c["n"] for c in backend.calls] == [3, 1]
    # the prose path is not shown the program-only record as a prose example
    assert [m["role"] for m in backend.calls[1]["messages"]] == ["system", "user"]


def test_full_with_an_empty_memory_draws_exactly_what_mixed_adaptive_draws(
    store: MemoryStore,
) -> None:
    runs = []
    for name in ("full", "mixed-adaptive@8"):
        backend = QueueBackend([NINE, NINE, EIGHT])
        Reasoner(backend, memory=store, sandbox=SANDBOX).solve(
            ASKED, named_config(name, write_back=False)
        )
        runs.append(backend.calls)
    assert runs[0] == runs[1]
