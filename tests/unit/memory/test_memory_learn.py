from __future__ import annotations

import pytest
import reasoning_gym

from memory import EVAL_SEEDS, MemoryStore, ReservedSeedError, SolveResult, learn


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
