"""Recalled principles reach program paths, and a cosine floor keeps them to their own kind.

The shipped leg-count principle is world knowledge a program needs (a sea slug has no legs);
it is listed before the question in the program prompt's user turn, never in the system
message. With the real embedder, it clears a 0.6 floor for leg-counting questions and no
shipped principle clears it for word problems.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.analogs import program_prompts
from agent.config import named_config
from agent.prompts import build_program_messages
from memory import SEED_PRINCIPLES

LEGS = (
    "Your task is to count how many legs there are in total when given a list of animals.\n\n"
    "Now, how many legs are there in total if you have 3 sea slugs, 12 deers, 2 giraffes?"
)
WORD_PROBLEMS = [
    "A baker sells 24 muffins in the morning and twice as many in the afternoon. How many "
    "muffins does he sell in a day?",
    "Maria buys 3 notebooks at $4.50 each and a pen for $2. She pays with a $20 bill. How "
    "much change does she get?",
    "A train travels 180 km in 2 hours and then 120 km in 1.5 hours. What is its average "
    "speed for the whole trip in km/h?",
]


def test_program_prompt_lists_principles_before_the_question_in_the_user_turn() -> None:
    messages = build_program_messages("How many legs do 2 ants have?", task="math",
                                      principles=["Insects have 6 legs."])  # fmt: skip
    plain = build_program_messages("How many legs do 2 ants have?", task="math")

    assert messages[0] == plain[0]  # the system message does not carry recalled text
    assert messages[-1]["content"].startswith("Facts and rules that apply (from memory):\n")
    assert (
        "- Insects have 6 legs.\n\nProblem: How many legs do 2 ants have?"
        in (messages[-1]["content"])
    )


def test_every_rotated_program_prompt_shows_the_principles() -> None:
    analogs = [
        {"id": i, "question": f"q{i}", "path": "p", "program": f"print({i})", "answer": str(i)}
        for i in (1, 2)
    ]
    prompts = program_prompts("Q", task="math", analogs=analogs, principles=["P1"])

    assert len(prompts) == 2
    assert all("- P1\n\nProblem: Q" in p.messages[-1]["content"] for p in prompts)


@pytest.fixture(scope="module")
def principle_scores() -> dict[str, list[float]]:
    from retrieval import RetrievalConfig
    from retrieval.embedder import build_embedder

    shipped = [json.loads(line)["principle"] for line in Path(SEED_PRINCIPLES).open()]
    embedder = build_embedder(RetrievalConfig())
    vectors = embedder.embed(shipped)
    scores = {}
    for q in [LEGS, *WORD_PROBLEMS]:
        scores[q] = [float(x) for x in vectors @ embedder.embed([q])[0]]
    return scores


def test_a_floor_of_0_55_recalls_the_leg_facts_for_leg_counting_and_none_for_word_problems(
    principle_scores: dict[str, list[float]],
) -> None:
    # The floor a configuration would use (principle_min_score) to show a principle only to
    # its own kind of question (agent/config.py).
    floor = named_config("full").principle_min_score
    assert floor is not None
    shipped = [json.loads(line)["principle"] for line in Path(SEED_PRINCIPLES).open()]
    legs = principle_scores[LEGS]
    best = max(range(len(shipped)), key=lambda i: legs[i])
    assert "legs per animal" in shipped[best] and legs[best] >= floor
    for q in WORD_PROBLEMS:
        assert max(principle_scores[q]) < floor, q
