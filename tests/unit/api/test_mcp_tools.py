"""The MCP tools in process (the SDK's own in-memory client), on a scripted backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp import Client

import api.mcp
from agent.reasoner import Reasoner
from api.mcp import build_mcp_server
from service.compose import Service
from service.queue import WorkQueue
from tests.unit.api.conftest import ScriptedBackend


def test_mcp_package_exports_are_sorted_and_exist() -> None:
    assert api.mcp.__all__ == sorted(api.mcp.__all__)
    for name in api.mcp.__all__:
        assert getattr(api.mcp, name) is not None


@asynccontextmanager
async def connected() -> AsyncIterator[tuple[Client, ScriptedBackend]]:
    """A client of a server on a scripted backend; one run at a time, none may wait.

    (A context manager, not a fixture: anyio's task groups must end in the task that began
    them, and pytest-asyncio tears fixtures down in another.)
    """
    backend = ScriptedBackend(["so \\boxed{42}"])
    service = Service(Reasoner(backend, default_config="sc@8"), WorkQueue(1, 0), "sc@8")
    async with Client(build_mcp_server(service)) as client:
        yield client, backend
    if backend.gate is not None:
        backend.gate.set()
    service.queue.shutdown()


async def test_solve_answers_with_evidence_and_progress() -> None:
    lines: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        lines.append(message)

    async with connected() as (client, _):
        result = await client.call_tool(
            "solve", {"question": "What is 6 * 7?", "paths": 3}, progress_callback=on_progress
        )
    solved = result.structured_content
    assert not result.is_error and solved is not None
    assert solved["answer"] == "42" and solved["configuration"] == "sc@8"
    assert solved["evidence"]["votes"] == {"42": 3.0} and solved["evidence"]["total_paths"] == 3
    assert solved["winner"]["kind"] == "prose" and "42" in solved["winner"]["text"]
    assert "Vote: 42 (100% of 3 paths)" in lines


async def test_solve_beyond_the_queue_is_refused_like_a_429() -> None:
    async with connected() as (client, backend):
        backend.gate = threading.Event()  # the first run waits inside the model
        first = asyncio.create_task(client.call_tool("solve", {"question": "What is 6 * 7?"}))
        while not backend.calls:
            await asyncio.sleep(0.01)
        refused = await client.call_tool("solve", {"question": "What is 5 * 5?"})
        assert refused.is_error and "busy" in refused.content[0].text  # type: ignore[union-attr]
        backend.gate.set()
        assert not (await first).is_error


async def test_memory_tools_without_memory_say_so() -> None:
    async with connected() as (client, _):
        result = await client.call_tool("memory_show", {"id": 1})
    assert result.is_error and "without memory" in result.content[0].text  # type: ignore[union-attr]
