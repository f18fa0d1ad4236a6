"""Corrections through REST: ``reason``'s app under a real uvicorn server with the tiny real
model, a real memory (SQLite + FAISS, the real embedder) and the real openai client.

"Wrong" retires what was stored; "the right answer is X" stores X only when a program the
service writes prints X, or as given when the deployment trusts its reviewers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from agent.analogs import program_prompts
from agent.config import named_config
from agent.extract import same_answer
from agent.sampling import Sampler
from agent.sandbox import Sandbox
from api.http.app import create_app
from service.compose import Service, build_service
from service.settings import Settings
from tests.support.servers import serving

pytestmark = pytest.mark.integration

QUESTION = "What is 2 + 3?"
# The tiny model's greedy answer is 6; one of its four correction programs prints 42.
HARDER = "What is 7 times 6?"
SMALL = {"max_tokens": 16}


@pytest.fixture(scope="module")
def served(
    llamacpp_backend: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Service]]:
    data = tmp_path_factory.mktemp("corrections")
    settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
    service = build_service(settings, backend=llamacpp_backend)
    with serving(create_app(settings, service)) as url:
        yield url, service
    service.close()


def ask(url: str, question: str = QUESTION) -> dict[str, Any]:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    reply = client.chat.completions.create(
        model="reason-greedy", messages=[{"role": "user", "content": question}], **SMALL
    )
    extra = reply.model_extra or {}
    vote = extra["x_trace"].get("vote") or {}
    return {"id": extra["x_answer_id"], "answer": vote.get("answer")}


def feedback(url: str, answer_id: str, correct: bool, true_answer: str | None = None) -> Any:
    body = {"answer_id": answer_id, "correct": correct, "true_answer": true_answer}
    reply = httpx.post(f"{url}/v1/feedback", json=body, timeout=300)
    assert reply.status_code == 200, reply.text
    return reply.json()


def record(url: str, memory_id: int) -> Any:
    return httpx.get(f"{url}/v1/memory/{memory_id}", timeout=30).json()


def test_wrong_retires_what_correct_stored(served: tuple[str, Service]) -> None:
    url, _ = served
    answer = ask(url)
    stored = feedback(url, answer["id"], True)
    assert stored["action"] == "stored" and stored["memory_id"] is not None
    wrong = feedback(url, answer["id"], False)
    assert wrong["action"] == "rejected" and wrong["memory_id"] == stored["memory_id"]
    assert record(url, stored["memory_id"])["verified"] is False


def test_a_right_answer_no_program_prints_is_stored_only_when_reviewers_are_trusted(
    served: tuple[str, Service],
) -> None:
    url, service = served
    answer = ask(url)
    refused = feedback(url, answer["id"], False, "987654321")
    assert refused["action"] == "not_stored" and refused["memory_id"] is None
    assert refused["programs_tried"] == 4 and "none of 4 programs printed" in refused["detail"]
    service.reasoner.trust_reviewers = True
    try:
        trusted = feedback(url, answer["id"], False, "987654321")
    finally:
        service.reasoner.trust_reviewers = False
    assert trusted["action"] == "stored_as_given"
    kept = record(url, trusted["memory_id"])
    assert kept["answer"] == "987654321" and kept["source"] == "feedback:reviewer"


def test_a_right_answer_a_program_prints_is_stored_with_that_program(
    served: tuple[str, Service],
) -> None:
    url, service = served
    answer = ask(url, HARDER)
    # Write-back may still be drawing for that answer on the same model: let it finish, so the
    # programs below are drawn in the state the correction's will be.
    service.reasoner.settle(answer["id"])
    # What the service's own correction programs print (same prompt, seeds and batch): take
    # one that differs from the answer given, and say it is the right one.
    (plain,) = program_prompts(HARDER, task="math")
    sampler = Sampler(
        service.backend, named_config("pot-sc@4"), [], program_prompts=[plain], sandbox=Sandbox()
    )
    # Drawn twice: llama.cpp's numbers depend on what its cache holds, and the correction's
    # draws follow these, so the second draw starts from the state the correction's will.
    sampler.more_programs(plain, 4, 0)
    printed = [p.answer for p in sampler.more_programs(plain, 4, 0) if p.answer is not None]
    others = [a for a in printed if not same_answer(a, answer["answer"])]
    if not others:
        pytest.skip(f"the tiny model's programs printed only the answer given ({printed})")
    result = feedback(url, answer["id"], False, others[0])
    assert result["action"] == "corrected", result
    kept = record(url, result["memory_id"])
    assert kept["source"] == "feedback:program" and kept["program"]
    assert kept["answer"] == others[0] and others[0] in kept["program_output"]
