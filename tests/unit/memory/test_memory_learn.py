from __future__ import annotations

import pytest
import reasoning_gym

from evaluation.learn import EVAL_SEEDS, ReservedSeedError, SolveResult, learn
from memory import MemoryStore


def answer_key(dataset: str, size: int, seed: int) -> dict[str, str]:
    return {
        e["question"]: str(e["answer"])
        for e in reasoning_gym.create_dataset(dataset, size=size, seed=seed)
    }


def test_learn_stores_only_paths_whose_answer_matches_ground_truth(store: MemoryStore) -> None:
    key = answer_key("gsm_symbolic", 6, 7)
    calls: list[str] = []

    def solve(question: str) -> SolveResult:
        calls.append(question)
        right = len(calls) % 2 == 1  # every other answer is wrong
        answer = key[question] if right else key[question] + "1"
        return SolveResult(answer=answer, path=f"worked: {answer}", model="answer-key")

    report = learn(store, solve, "gsm_symbolic", size=6, seed=7)
    assert (report.attempted, report.correct, report.added) == (6, 3, 3)
    assert store.count() == 3
    stored = store.search_problems(calls[0], k=1)[0].record
    assert stored.source == "gsm_symbolic:train:seed=7"
    assert stored.verified_by == "ground_truth"
    assert stored.ground_truth == key[calls[0]]
    assert stored.domain == "gsm_symbolic"


@pytest.mark.parametrize("seed", sorted(EVAL_SEEDS))
def test_learn_refuses_an_evaluation_seed(store: MemoryStore, seed: int) -> None:
    def solve(question: str) -> SolveResult:
        raise AssertionError("must not be called")

    with pytest.raises(ReservedSeedError, match="reserved"):
        learn(store, solve, "gsm_symbolic", size=2, seed=seed)


def test_a_wrong_answer_is_replaced_by_a_right_alternative_or_retry(store: MemoryStore) -> None:
    """Rejection sampling: the ground truth keeps a right draw when the chosen one is wrong."""
    key = answer_key("gsm_symbolic", 3, 7)
    questions = list(key)
    retried: list[str] = []

    def wrong(question: str, *, alternatives: tuple[SolveResult, ...] = ()) -> SolveResult:
        return SolveResult(
            answer=key[question] + "1", path="a wrong path", alternatives=alternatives
        )

    def solve(question: str) -> SolveResult:
        if question == questions[0]:  # a right answer among the other programs' answers
            right = SolveResult(
                answer=key[question], path="right", program="print(1)", program_output="1"
            )
            return wrong(question, alternatives=(right,))
        return wrong(question)

    def retry(question: str) -> SolveResult:
        retried.append(question)
        if question == questions[1]:  # the second try gets it
            return SolveResult(answer=key[question], path="right on the second try")
        return wrong(question)

    report = learn(store, solve, "gsm_symbolic", size=3, seed=7, retry=retry)
    assert (report.attempted, report.correct, report.recovered) == (3, 0, 2)
    assert retried == questions[1:]  # an alternative was right: no second try for q0
    assert store.count() == 2
    first = store.search_problems(questions[0], k=1)[0].record
    assert (first.answer, first.program) == (key[questions[0]], "print(1)")
    assert report.rejections == {"answer does not match the ground truth": 1}
