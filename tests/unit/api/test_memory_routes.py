"""Feedback and memory routes over a real store (hashing embedder, tmp_path SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.reasoner import Reasoner
from api.http.app import create_app
from memory import MemoryConfig, open_store
from retrieval import RetrievalConfig
from service.compose import Service
from service.queue import WorkQueue
from service.settings import Settings

ASK = {"model": "sc@8", "messages": [{"role": "user", "content": "What is 6 * 7?"}]}


@pytest.fixture
async def mem_client(
    tmp_path: Path, backend: Any, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    store = open_store(tmp_path, MemoryConfig(), RetrievalConfig(embedding_model="hashing-64"))
    service = Service(Reasoner(backend, memory=store), WorkQueue(1, 2), "sc@8")
    app = create_app(settings, service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c
    service.queue.shutdown()
    store.close()


async def test_feedback_stores_a_confirmed_answer_and_search_finds_it(
    mem_client: httpx.AsyncClient,
) -> None:
    answer = (await mem_client.post("/v1/chat/completions", json=ASK)).json()
    r = await mem_client.post(
        "/v1/feedback",
        json={"answer_id": answer["x_answer_id"], "correct": True, "true_answer": "42"},
    )
    assert r.status_code == 200 and r.json()["memory_id"] is not None
    stats = (await mem_client.get("/v1/memory/stats")).json()
    assert stats["problems"] >= 1
    hits = (await mem_client.get("/v1/memory/search", params={"q": "6 * 7", "k": 3})).json()
    assert hits["data"][0]["answer"] == "42"
    memory_id = r.json()["memory_id"]
    record = (await mem_client.get(f"/v1/memory/{memory_id}")).json()
    assert record["id"] == memory_id and record["answer"] == "42"
    assert "6 * 7" in record["question"] and record["source"] == "feedback"
    assert (await mem_client.delete(f"/v1/memory/{memory_id}")).status_code == 200
    assert (await mem_client.delete(f"/v1/memory/{memory_id}")).status_code == 404
    assert (await mem_client.get(f"/v1/memory/{memory_id}")).status_code == 404


async def test_feedback_on_an_unknown_answer_is_a_404(mem_client: httpx.AsyncClient) -> None:
    r = await mem_client.post("/v1/feedback", json={"answer_id": "ans-nope", "correct": False})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_answer"
    assert "ans-nope" in r.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/memory/stats", "/v1/memory/search"])
async def test_deleting_a_read_only_memory_route_is_a_405(
    mem_client: httpx.AsyncClient, path: str
) -> None:
    r = await mem_client.delete(path)
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_deleting_a_non_numeric_problem_id_is_a_404_not_a_422(
    mem_client: httpx.AsyncClient,
) -> None:
    r = await mem_client.delete("/v1/memory/abc")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_memory_routes_without_memory_are_503(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/memory/stats")
    assert r.status_code == 503 and r.json()["error"]["code"] == "memory_disabled"


async def test_a_retrieval_failure_is_a_503_not_a_500(
    tmp_path: Path, backend: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.errors import IndexLoadError

    store = open_store(tmp_path, MemoryConfig(), RetrievalConfig(embedding_model="hashing-64"))

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise IndexLoadError("problems.faiss is not a FAISS index; run reason memory rebuild-index")

    monkeypatch.setattr(store, "search_problems", broken)
    service = Service(Reasoner(backend, memory=store), WorkQueue(1, 2), "retrieval+sc")
    app = create_app(settings, service)
    ask = {**ASK, "model": "retrieval+sc"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            r = await client.post("/v1/chat/completions", json=ask)
    finally:
        service.queue.shutdown()
        store.close()
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "retrieval_error"
    assert "rebuild-index" in r.json()["error"]["message"]


async def test_feedback_on_a_read_only_memory_is_a_503_saying_so(
    tmp_path: Path, backend: Any, settings: Settings
) -> None:
    store = open_store(tmp_path, MemoryConfig(), RetrievalConfig(embedding_model="hashing-64"))
    service = Service(Reasoner(backend, memory=store), WorkQueue(1, 2), "sc@8")
    app = create_app(settings, service)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            answer = (await client.post("/v1/chat/completions", json=ASK)).json()
            store.db.execute("PRAGMA query_only = ON")  # SQLite refuses writes, as on a ro mount
            r = await client.post(
                "/v1/feedback",
                json={"answer_id": answer["x_answer_id"], "correct": True, "true_answer": "42"},
            )
            store.db.execute("PRAGMA query_only = OFF")
    finally:
        service.queue.shutdown()
        store.close()
    assert r.status_code == 503 and r.json()["error"]["code"] == "memory_not_writable"
    assert "answers are still served" in r.json()["error"]["message"]
