"""End to end: ``reason``'s app under a real uvicorn server, called by the official client.

The tiny real model answers (greedy, 16 tokens); the SSE stream is parsed by the openai
client's own parser. A backend pointed at a closed port gives 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI

from agent.backends.config import BackendConfig
from agent.backends.openai_compat import OpenAICompatBackend
from api.http.app import create_app
from service.compose import build_service
from service.settings import Settings
from tests.support.servers import free_port, serving_api

pytestmark = pytest.mark.integration

KEY = "sk-test-key"
ASK = [{"role": "user", "content": "What is 2 + 3?"}]
SMALL = {"max_tokens": 16}


@pytest.fixture(scope="module")
def base_url(llamacpp_backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("api")
    settings = Settings(_env_file=None, data_dir=data, api_keys=[KEY])  # type: ignore[call-arg]
    # The real service builder (memory off, SQLite thread checkpointer on) around the
    # session's tiny model.
    with serving_api(settings, llamacpp_backend) as url:
        yield f"{url}/v1"


def test_sync_client_gets_an_answer_with_usage_and_trace(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=KEY)
    reply = client.chat.completions.create(model="reason-greedy", messages=ASK, **SMALL)
    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    extra = reply.model_extra or {}
    assert extra["x_trace"]["config"] == "greedy" and extra["x_answer_id"].startswith("ans-")


def test_sync_client_streams_progress_then_the_answer(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=KEY)
    stream = client.chat.completions.create(
        model="reason-greedy",
        messages=ASK,
        stream=True,
        stream_options={"include_usage": True},
        **SMALL,
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content", "")
        for c in chunks
        if c.choices
    )
    assert content and "Paths 1 of 1" in reasoning
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_async_client_with_and_without_stream(base_url: str) -> None:
    client = openai.AsyncOpenAI(base_url=base_url, api_key=KEY)
    reply = await client.chat.completions.create(model="reason-greedy", messages=ASK, **SMALL)
    assert reply.choices[0].message.content
    stream = await client.chat.completions.create(
        model="reason-greedy", messages=ASK, stream=True, **SMALL
    )
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(pieces)
    await client.close()


def test_models_and_errors_through_the_client(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
    assert "reason-full" in [m.id for m in client.models.list()]
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base_url, api_key="sk-wrong", max_retries=0).models.list()


def test_thread_id_continues_the_conversation(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key=KEY)
    for _ in range(2):
        reply = client.chat.completions.create(
            model="reason-greedy", messages=ASK, metadata={"thread_id": "t-1"}, **SMALL
        )
    assert (reply.model_extra or {})["x_trace"]["config"] == "greedy"


def test_feedback_without_memory_is_a_clear_400(base_url: str) -> None:
    r = httpx.post(
        base_url + "/feedback",
        json={"answer_id": "ans-x", "correct": True},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 400 and "memory" in r.json()["error"]["message"]


async def test_backend_down_is_a_503(tmp_path: Path) -> None:
    config = BackendConfig(
        kind="openai",
        model="m",
        url=f"http://127.0.0.1:{free_port()}/v1",
        models_dir=tmp_path,
        retries=0,
        timeout_s=5,
    )
    backend = OpenAICompatBackend(config)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    service = build_service(settings, memory=False, threads=False, backend=backend)
    app: FastAPI = create_app(settings, service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post(
            "/v1/chat/completions", json={"model": "reason-greedy", "messages": ASK, **SMALL}
        )
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "backend_unavailable"
        assert (await c.get("/readyz")).status_code == 503
    service.close()
    backend.close()
