"""Write-back after the answer, through REST: ``reason``'s app under a real uvicorn server with
the tiny real model, a real memory (SQLite + FAISS) and the real openai client.

Serving returns an answer before write-back draws the paths that confirm it for memory; they
run next on the work queue, and feedback on that answer waits for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from api.http.app import create_app
from service.compose import Service, build_service
from service.settings import Settings
from tests.support.servers import serving

pytestmark = pytest.mark.integration

# Questions whose programs the tiny model often gets to agree, with nothing else to confirm
# them: write-back then draws the greedy prose path before storing. What it draws depends on
# the shared backend's earlier calls, so a test takes the first that comes back pending.
QUESTIONS = [
    f"Tom has {a} apples and buys {b} more. How many apples does he have?"
    for a, b in ((3, 4), (5, 2), (6, 3), (2, 7), (8, 1), (4, 4))
]


@pytest.fixture
def served(llamacpp_backend: Any, tmp_path: Any) -> Iterator[tuple[str, Service]]:
    # A memory per test: a record one test stores would be recalled by the next.
    data = tmp_path / "after-answer"
    settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
    assert settings.write_back_after_answer  # what `reason serve` passes
    service = build_service(settings, backend=llamacpp_backend, write_back_after_answer=True)
    with serving(create_app(settings, service)) as url:
        yield url, service
    service.close()


def ask(url: str, question: str) -> dict[str, Any]:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    reply = client.chat.completions.create(
        model="reason-full", messages=[{"role": "user", "content": question}], max_tokens=48
    )
    extra = reply.model_extra or {}
    return {"id": extra["x_answer_id"], "trace": extra["x_trace"], "usage": reply.usage}


def pending_answer(url: str) -> dict[str, Any]:
    """The first answer among ``QUESTIONS`` whose write-back is left for after the reply."""
    seen = []
    for question in QUESTIONS:
        answer = {"question": question, **ask(url, question)}
        if answer["trace"]["memory"].get("pending"):
            return answer
        seen.append(answer["trace"]["memory"])
    pytest.fail(f"no answer was confirmable (tiny model): {seen}")


def idle(service: Service, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while service.queue.in_flight and time.monotonic() < deadline:
        time.sleep(0.1)
    assert service.queue.in_flight == 0, "write-back after the answer never finished"


def test_the_answer_comes_before_its_confirmation_draws(
    served: tuple[str, Service], caplog: pytest.LogCaptureFixture
) -> None:
    url, service = served
    caplog.set_level(logging.INFO, logger="agent.reasoner")
    answer = pending_answer(url)
    memory = answer["trace"]["memory"]
    assert memory["stored"] is False and memory["reason"].startswith("confirming after"), memory
    assert "confirmation" not in memory  # drawn after the reply, not counted in its usage
    idle(service)
    done = [r.getMessage() for r in caplog.records if answer["id"] in r.getMessage()]
    assert any(m.startswith(f"write-back after answer id={answer['id']}:") for m in done), done
    known = service.reasoner.answers.get(answer["id"])
    assert known is not None
    if known.memory_id is not None:  # confirmed and stored: the record is this question's
        kept = httpx.get(f"{url}/v1/memory/{known.memory_id}", timeout=30).json()
        assert kept["question"] == answer["question"]


def test_feedback_waits_for_the_write_back_still_queued(served: tuple[str, Service]) -> None:
    url, service = served
    answer = pending_answer(url)
    # Sent at once: the confirmation draws are still queued or running.
    reply = httpx.post(
        f"{url}/v1/feedback", json={"answer_id": answer["id"], "correct": True}, timeout=300
    )
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert result["action"] in ("stored", "confirmed") and result["memory_id"], result
    kept = httpx.get(f"{url}/v1/memory/{result['memory_id']}", timeout=30).json()
    assert kept["question"] == answer["question"] and kept["verified"] is True
    idle(service)
    # One record for the question: the feedback found what write-back stored, or stored it
    # itself and write-back, already done, had stored nothing.
    question = answer["question"]
    hits = httpx.get(f"{url}/v1/memory/search", params={"q": question, "k": 5}, timeout=30)
    same = [h["id"] for h in hits.json()["data"] if h["question"] == question]
    assert same == [result["memory_id"]], hits.json()
