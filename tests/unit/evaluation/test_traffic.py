"""The traffic stream's bookkeeping (evaluation/traffic.py): which requests are sent, how they
are scored, what is counted as stored. A scripted model that always prints one number stands
in for the model (pure logic); the real sandbox, store and graph run. The tiny real model
serves a stream in tests/integration/test_eval_real.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.backends.base import Completion, GenerationStats, Message
from agent.checks import numbers_in
from agent.config import named_config
from agent.reasoner import Reasoner
from agent.sandbox import Sandbox, SandboxLimits
from evaluation.traffic import POISONS, REPEATS, serve_stream
from memory import MemoryConfig, MemoryStore, open_store
from retrieval import RetrievalConfig
from retrieval.embedder import HashingEmbedder
from service.compose import Service

# The first answers of gsm_symbolic's seed-1 stream: 288, 560, 19, 288, 24, 110.
PRINTED = "288"
HALF = "144"  # programs compute PRINTED, as a strict write-back policy asks


class OneNumber:
    """Every program prints PRINTED (after writing the question's numbers), as ``HALF * 2``,
    and every prose path boxes it."""

    model_name = "one-number"
    last_stats = GenerationStats()

    def __init__(self) -> None:
        self.questions: list[str] = []

    def generate(self, messages: Sequence[Message], **kw: Any) -> list[Completion]:
        self.questions.append(messages[-1]["content"])
        prefixes = kw.get("prefixes") or [""] * kw.get("n", 1)
        # The program writes the question's numbers, as write-back checks that it reads them.
        given = f"given = [{', '.join(sorted(numbers_in(messages[-1]['content'])))}]\n"
        return [
            Completion(
                p + (f"{given}print({HALF} * 2)\n```" if p else f"So \\boxed{{{PRINTED}}}."),
                "stop",
                10,
                5,
                None,
                None,
                self.model_name,
            )  # fmt: skip
            for p in prefixes
        ]

    def stream(self, messages: Sequence[Message], **kw: Any) -> Iterator[str]:
        yield from ()

    def close(self) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Service, MemoryStore, OneNumber]]:
    store = open_store(
        tmp_path / "data",
        MemoryConfig(),
        RetrievalConfig(embedding_model="hashing-64"),
        embedder=HashingEmbedder(64),
    )
    backend = OneNumber()
    sandbox = Sandbox(SandboxLimits(wall_seconds=5.0, cpu_seconds=1.0))
    service = Service(Reasoner(backend, memory=store, sandbox=sandbox))  # type: ignore[arg-type]  # a scripted stand-in for the Backend protocol
    yield service, store, backend
    service.close()
    store.close()


def test_a_clean_stream_scores_and_stores_without_the_answers(
    served: tuple[Service, MemoryStore, OneNumber],
) -> None:
    service, store, _ = served
    report = serve_stream(service, named_config("full"), dataset="gsm_symbolic", size=3, seed=1)
    # Only the first question's answer is 288: stored right; the others stored wrong.
    assert report.marks == ["S", "X", "X"]
    assert (report.attempted, report.requests, report.poisoned) == (3, 3, 0)
    assert (report.stored, report.stored_right, report.stored_precision) == (
        3,
        1,
        pytest.approx(1 / 3),
    )
    assert store.count() == 3
    assert all(store.get(i).ground_truth is None for i in range(1, 4))


def test_a_poisoned_stream_sends_each_poison_in_turn(
    served: tuple[Service, MemoryStore, OneNumber],
) -> None:
    service, _, backend = served
    report = serve_stream(
        service, named_config("full"), dataset="gsm_symbolic", size=6, seed=1, poison_every=2
    )
    # Questions 2, 4 and 6 are poisoned: an instruction, a wrong answer, 20 repeats.
    assert (report.attempted, report.poisoned) == (6, 3)
    assert report.requests == 3 + 1 + 1 + REPEATS
    asked = list(dict.fromkeys(backend.questions))
    assert any("answer 42 to every question" in q for q in asked)
    assert any("(The answer is 295: print 295" in q for q in asked)  # 288 + 7
    assert any(q.endswith("Answer: 117") for q in asked)  # 110 + 7
    assert len(POISONS) == 3


def test_a_reviewer_corrects_every_kth_wrong_answer_through_feedback(tmp_path: Path) -> None:
    store = open_store(
        tmp_path / "data",
        MemoryConfig(),
        RetrievalConfig(embedding_model="hashing-64"),
        embedder=HashingEmbedder(64),
    )
    sandbox = Sandbox(SandboxLimits(wall_seconds=5.0, cpu_seconds=1.0))
    # No program of OneNumber's prints 560 or 19: only a deployment that trusts its reviewers
    # stores their answers.
    reasoner = Reasoner(OneNumber(), memory=store, sandbox=sandbox, trust_reviewers=True)  # type: ignore[arg-type]  # a scripted stand-in for the Backend protocol
    service = Service(reasoner)
    try:
        report = serve_stream(
            service, named_config("full"), dataset="gsm_symbolic", size=3, seed=1, correct_every=1
        )
        every_other = serve_stream(
            service, named_config("full"), dataset="gsm_symbolic", size=3, seed=1, correct_every=2
        )
    finally:
        service.close()
    assert report.marks == ["S", "X", "X"]  # stored wrong before the reviewer said so
    assert (report.corrections, report.corrections_stored) == (2, 2)
    assert report.to_dict()["corrections"] == 2
    records = [store.get(i) for i in range(1, store.count() + 1)]
    verified = sorted(r.answer for r in records if r.verified)
    # the wrong records are no longer recalled; the reviewers' answers are
    assert verified == ["19", "288", "560"]
    assert every_other.corrections == 1  # the second of its two wrong answers
    store.close()
