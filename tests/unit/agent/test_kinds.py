"""Answer kinds read from the question: one case per cue, and the families measured."""

from __future__ import annotations

import pytest

from agent.kinds import answer_kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Consider these statements: ... Does it follow?\n(Answer Yes or No)", "yesno"),
        ("Is 91 prime? Answer yes or no.", "yesno"),
        ("Which is larger?\n(A) 12\n(B) 14\n(C) 16", "choice"),
        ("John is married to Ann. What is Ann to John? Respond only with the word.", "text"),
        ('Who is a sage? (Format your answer like: "Zoey is a sage/fool")', "text"),
        ("Who lives in House 1? Provide only the name of the person.", "text"),
        ("Who wrote Hamlet?", "text"),
        ("How many legs does a spider have?", "math"),
        ("Tom has 3 apples and buys 4 more. How many apples?", "math"),
        ("Find the Least Common Multiple (LCM) of these numbers: 95, 14", "math"),
    ],
    ids=["yesno-parenthesised", "yesno-inline", "choice", "word", "format-like", "name",
         "no-numbers", "quantity-without-digits", "word-problem", "lcm"],
)  # fmt: skip
def test_answer_kind_reads_the_cue(question: str, kind: str) -> None:
    decided = answer_kind(question)
    assert decided.kind == kind
    assert decided.reason


@pytest.mark.parametrize(
    ("dataset", "kind"),
    [
        ("gsm_symbolic", "math"),
        ("chain_sum", "math"),
        ("lcm", "math"),
        ("leg_counting", "math"),
        ("family_relationships", "text"),
        ("knights_knaves", "text"),
        ("syllogism", "yesno"),
    ],
)
def test_every_question_of_a_family_gets_its_kind(dataset: str, kind: str) -> None:
    import reasoning_gym

    questions = [e["question"] for e in reasoning_gym.create_dataset(dataset, size=100, seed=42)]
    assert {answer_kind(q).kind for q in questions} == {kind}
