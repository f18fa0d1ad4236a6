"""Bad input and overload: every error in OpenAI's shape with the right status."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from api.http.app import create_app
from service.compose import Service
from service.queue import WorkQueue
from service.settings import Settings

QUESTION = {"role": "user", "content": "What is 6 * 7?"}


def assert_openai_error(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error  # type: ignore[no-any-return]


async def test_malformed_json_is_a_400_naming_the_problem(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions",
        content=b'{"model": "greedy",',
        headers={"content-type": "application/json"},
    )
    error = assert_openai_error(r, 400)
    assert "malformed JSON" in str(error["message"])


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "greedy", "messages": []}, "messages"),
        ({"model": "greedy", "messages": [{"role": "robot", "content": "hi"}]}, "messages.0"),
        ({"model": "greedy", "messages": [QUESTION], "n": 0}, "n"),
        ({"model": "greedy", "messages": [QUESTION], "max_tokens": 10**6}, "max_tokens"),
        ({"model": "greedy", "messages": [QUESTION], "temperature": "hot"}, "temperature"),
        ({"messages": [QUESTION]}, "model"),
    ],
    ids=["empty-messages", "bad-role", "n-zero", "max-tokens-huge", "temperature-type", "no-model"],
)
async def test_invalid_fields_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], param: str
) -> None:
    r = await client.post("/v1/chat/completions", json=body)
    assert assert_openai_error(r, 422)["param"] == param


async def test_a_conversation_without_a_user_turn_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "greedy", "messages": [{"role": "assistant", "content": "hm"}]},
    )
    assert assert_openai_error(r, 400)["param"] == "messages"


async def test_the_last_user_turn_is_the_question(client: httpx.AsyncClient) -> None:
    # A trailing assistant turn (a prefill) is valid by the schema and is not the question.
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "greedy", "messages": [QUESTION, {"role": "assistant", "content": "hm"}]},
    )
    plain = await client.post(
        "/v1/chat/completions", json={"model": "greedy", "messages": [QUESTION]}
    )
    assert r.status_code == 200
    assert r.json()["x_trace"]["history_turns"] == plain.json()["x_trace"]["history_turns"]


@pytest.mark.parametrize("content", ["   ", "x" * 8001, []], ids=["blank", "too-long", "no-parts"])
async def test_a_blank_or_oversized_question_is_a_422(
    client: httpx.AsyncClient, content: object
) -> None:
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "greedy", "messages": [{"role": "user", "content": content}]},
    )
    assert assert_openai_error(r, 422)["param"] == "messages.0.content"


async def test_unknown_model_is_a_404_listing_models(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [QUESTION]})
    error = assert_openai_error(r, 404)
    assert error["code"] == "model_not_found" and "reason-full" in str(error["message"])


async def test_oversized_body_is_a_413(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "greedy", "messages": [{"role": "user", "content": "x" * 2_000_000}]},
    )
    assert assert_openai_error(r, 413)["code"] == "request_too_large"


async def test_unknown_route_is_a_404_in_openai_shape(client: httpx.AsyncClient) -> None:
    assert_openai_error(await client.get("/v1/nothing"), 404)


@pytest.fixture
def keyed(settings: Settings, service: Service) -> httpx.AsyncClient:
    keyed_settings = settings.model_copy(
        update={"api_keys": ["sk-good"], "admin_api_keys": ["sk-admin"]}
    )
    app = create_app(keyed_settings, service)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk-bad"}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_v1_routes_need_a_valid_key(
    keyed: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    r = await keyed.get("/v1/models", headers=headers)
    assert assert_openai_error(r, 401)["type"] == "authentication_error"


async def test_a_valid_key_passes_and_probes_need_none(keyed: httpx.AsyncClient) -> None:
    r = await keyed.get("/v1/models", headers={"Authorization": "Bearer sk-good"})
    assert r.status_code == 200
    assert (await keyed.get("/healthz")).status_code == 200


async def test_deleting_memory_needs_an_admin_key(keyed: httpx.AsyncClient) -> None:
    r = await keyed.delete("/v1/memory/1", headers={"Authorization": "Bearer sk-good"})
    assert_openai_error(r, 403)
    # The admin key alone (not also listed in api_keys) passes both checks.
    r = await keyed.delete("/v1/memory/1", headers={"Authorization": "Bearer sk-admin"})
    assert r.status_code != 401 and r.status_code != 403


async def test_full_queue_is_a_429_with_retry_after(settings: Settings, backend: Any) -> None:
    backend.gate = threading.Event()
    from agent.reasoner import Reasoner

    service = Service(Reasoner(backend), WorkQueue(max_concurrency=1, queue_size=1), "greedy")
    app = create_app(settings, service)
    body = {"model": "greedy", "messages": [QUESTION]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        running = [
            asyncio.create_task(c.post("/v1/chat/completions", json=body)) for _ in range(2)
        ]  # one runs, one waits
        while service.queue.in_flight < 2:
            await asyncio.sleep(0.01)
        r = await c.post("/v1/chat/completions", json=body)
        error = assert_openai_error(r, 429)
        assert error["type"] == "rate_limit_error" and int(r.headers["Retry-After"]) >= 1
        backend.gate.set()
        assert [t.status_code for t in await asyncio.gather(*running)] == [200, 200]
    service.queue.shutdown()


async def test_readyz_is_503_when_the_backend_is_unreachable(
    client: httpx.AsyncClient, backend: Any
) -> None:
    assert (await client.get("/readyz")).status_code == 200
    backend.healthy = False
    r = await client.get("/readyz")
    assert assert_openai_error_ready(r)["backend"] == "unreachable"


def assert_openai_error_ready(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"
    return r.json()["checks"]  # type: ignore[no-any-return]


async def test_metrics_count_requests_paths_and_tokens(client: httpx.AsyncClient) -> None:
    await client.post("/v1/chat/completions", json={"model": "sc@8", "messages": [QUESTION]})
    text = (await client.get("/metrics")).text
    assert 'reason_paths_sampled_total{config="sc@8"} 8.0' in text
    assert 'reason_tokens_total{kind="completion"} 56.0' in text
    assert "reason_queue_depth 0.0" in text
    assert 'handler="/v1/chat/completions"' in text
