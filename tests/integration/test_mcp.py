"""``reason mcp`` driven by the official MCP SDK's own client, over both transports.

Streamable HTTP: the server's app under a real uvicorn server around the session's tiny
model, with an API key (the REST API's), called through ``mcp.Client`` with the key in its
HTTP client. Stdio: ``python -m api mcp`` as a real subprocess that loads the tiny model
itself, as an MCP host would start it. Answers are greedy and short (the 135M model's answers
are not the point); the tests check the tools' shapes, progress notifications, feedback into
memory, and the limits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from api.mcp import build_mcp_server, http_app
from service.compose import build_service
from service.settings import Settings
from tests.support.servers import serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-mcp-key"
HASHING = "hashing-64"  # a real embedder that needs no model download
QUESTION = "What is 17 * 23?"


@pytest.fixture(scope="module")
def mcp_url(llamacpp_backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("mcp")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data,
        api_keys=[KEY],
        graph="greedy",
        queue_size=0,
        retrieval={"embedding_model": HASHING, "min_score": 0.0},
    )
    service = build_service(settings, memory=True, backend=llamacpp_backend, source="mcp")
    with serving(http_app(build_mcp_server(service), settings)) as url:
        yield f"{url}/mcp"
    service.close()


def _http_client(url: str, key: str | None = KEY) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120, read=300))
    return Client(streamable_http_client(url, http_client=http))


async def test_http_solve_notifies_progress_and_feedback_reaches_memory(mcp_url: str) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async with _http_client(mcp_url) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"solve", "memory_search", "memory_show", "feedback"}
        result = await client.call_tool(
            "solve",
            {"question": QUESTION, "configuration": "reason-greedy", "max_tokens": 24},
            progress_callback=on_progress,
        )
        assert not result.is_error, result.content
        solved = result.structured_content
        assert solved is not None and solved["configuration"] == "greedy"
        assert solved["answer_id"].startswith("ans-") and solved["usage"]["completion_tokens"] > 0
        assert solved["evidence"]["total_paths"] == 1
        assert solved["winner"] is None or solved["winner"]["kind"] == "prose"
        # One notification per graph step and per event worth a line, in order.
        messages = [m for _, m in progress]
        assert "step sample" in messages and any(m and m.startswith("Vote:") for m in messages)
        assert [v for v, _ in progress] == sorted(v for v, _ in progress)

        # Confirmed by the caller: stored as the model answered it (the tiny model's greedy
        # answer is a number, right or not).
        assert solved["answer"]
        stored = await client.call_tool(
            "feedback", {"answer_id": solved["answer_id"], "correct": True}
        )
        assert not stored.is_error, stored.content
        memory_id = stored.structured_content["memory_id"]  # type: ignore[index]
        assert stored.structured_content["action"] == "stored" and memory_id  # type: ignore[index]
        hits = await client.call_tool("memory_search", {"query": "17 * 23", "k": 3})
        assert hits.structured_content["results"][0]["id"] == memory_id  # type: ignore[index]
        shown = await client.call_tool("memory_show", {"id": memory_id})
        record = shown.structured_content
        assert (
            record is not None
            and record["answer"] == solved["answer"]
            and "17 * 23" in record["question"]
        )
        assert record["source"] == "feedback"


async def test_http_tools_refuse_what_rest_refuses(mcp_url: str) -> None:
    async with _http_client(mcp_url) as client:
        unknown = await client.call_tool("solve", {"question": QUESTION, "configuration": "nope"})
        assert unknown.is_error and "does not exist" in unknown.content[0].text  # type: ignore[union-attr]
        too_many = await client.call_tool("solve", {"question": QUESTION, "paths": 17})
        assert too_many.is_error and "paths" in too_many.content[0].text  # type: ignore[union-attr]
        blank = await client.call_tool("solve", {"question": "   "})
        assert blank.is_error
        missing = await client.call_tool("memory_show", {"id": 999999})
        assert missing.is_error and "999999" in missing.content[0].text  # type: ignore[union-attr]
        unknown_answer = await client.call_tool(
            "feedback", {"answer_id": "ans-nope", "correct": False}
        )
        assert unknown_answer.is_error and "ans-nope" in unknown_answer.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("key", [None, "sk-wrong"], ids=["no-key", "wrong-key"])
def test_http_without_a_valid_key_is_a_401(mcp_url: str, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    r = httpx.post(mcp_url, json=body, headers={**headers, "Accept": "application/json"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "invalid_api_key"


async def test_stdio_subprocess_loads_the_model_and_solves(
    small_model_path: Path, tmp_path: Path
) -> None:
    env = {
        "REASON_MODEL": str(small_model_path),
        "REASON_DATA_DIR": str(tmp_path),
        "REASON_RETRIEVAL__EMBEDDING_MODEL": HASHING,
        "REASON_N_CTX": "2048",
        "REASON_GRAPH": "greedy",
        "PATH": os.environ.get("PATH", ""),
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "api", "mcp"], env=env, cwd=str(ROOT)
    )
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with Client(params, read_timeout_seconds=300) as client:
        assert client.server_info is None or client.server_info.name == "reason"
        result = await client.call_tool(
            "solve", {"question": QUESTION, "max_tokens": 24}, progress_callback=on_progress
        )
        assert not result.is_error, result.content
        assert result.structured_content["configuration"] == "greedy"  # type: ignore[index]
        assert result.structured_content["usage"]["completion_tokens"] > 0  # type: ignore[index]
        assert "step sample" in progress
        stats = await client.call_tool("memory_search", {"query": QUESTION})
        assert not stats.is_error and stats.structured_content == {"results": []}
