"""Fact lists focused on the question: the shipped leg-count facts on reasoning-gym's own
leg-counting questions, and principles that are not fact lists left alone."""

from __future__ import annotations

import json

from agent.focus import focus
from memory.transfer import SEED_PRINCIPLES

FACTS = (
    "Legs per animal, one fact each. A crab has 10 legs. A spider has 8 legs. A deer has 4 "
    "legs. A butterfly has 6 legs. A woodlouse (woodlice) has 14 legs. Total legs = the sum "
    "of count x legs."
)


def _leg_facts() -> str:
    for line in SEED_PRINCIPLES.read_text().splitlines():
        text = json.loads(line)["principle"]
        if "legs per animal" in text:
            return str(text)
    raise AssertionError("the leg-count principle is not shipped")


def test_only_the_facts_about_the_question_stay_with_heading_and_rule() -> None:
    shown = focus(FACTS, "How many legs do 3 deers, 2 butterflies and 4 woodlice have?")
    assert shown == (
        "Legs per animal, one fact each. A deer has 4 legs. A butterfly has 6 legs. "
        "A woodlouse (woodlice) has 14 legs. Total legs = the sum of count x legs."
    )


def test_words_in_most_facts_do_not_select_them() -> None:
    # "legs" and "has" are in every fact: a question naming no animal keeps the whole list.
    assert focus(FACTS, "How many legs has it?") == FACTS


def test_a_short_principle_is_not_a_fact_list() -> None:
    rule = "Distance = speed x time. Time = distance / speed."
    assert focus(rule, "A car drives 3 hours at 50 km/h: how far?") == rule


def test_every_animal_of_reasoning_gym_leg_counting_keeps_its_fact() -> None:
    import reasoning_gym

    facts = _leg_facts()
    for entry in reasoning_gym.create_dataset("leg_counting", size=200, seed=42):
        shown = focus(facts, entry["question"])
        assert len(shown) < len(facts) / 2
        for animal in entry["metadata"]["animals"]:
            assert f" {animal} has " in shown or f" {animal} (" in shown, animal
