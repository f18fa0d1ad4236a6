"""The usage meter forwards requests unchanged and adds up the usage the server reports.

A small upstream server on localhost stands in for llama_cpp.server (the meter's job is
the HTTP pass-through and the sums, not the model); the real openai client calls through it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from openai import BadRequestError, OpenAI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from benchmarks.peers.usage_meter import Usage, UsageMeter
from tests.support.servers import free_port, serving


async def _chat(request: Request) -> JSONResponse:
    body = await request.json()
    words = body["messages"][-1]["content"].split()
    if words == ["fail"]:
        return JSONResponse({"error": {"message": "boom"}}, status_code=400)
    return JSONResponse({
        "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": " ".join(reversed(words))}}],
        "usage": {"prompt_tokens": len(words), "completion_tokens": 2 * len(words),
                  "total_tokens": 3 * len(words)},
    })  # fmt: skip


@pytest.fixture
def upstream() -> Iterator[str]:
    app = Starlette(routes=[
        Route("/v1/chat/completions", _chat, methods=["POST"]),
        Route("/v1/health", lambda r: PlainTextResponse("ok")),
    ])  # fmt: skip
    with serving(app) as url:
        yield url


def test_meter_sums_every_reply_and_passes_content_through(upstream: str) -> None:
    meter = UsageMeter(upstream)
    with meter.serve(free_port()) as url:
        client = OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        start = meter.reading()
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "one two three"}]
        )
        assert reply.choices[0].message.content == "three two one"
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "four"}])
        assert meter.reading() - start == Usage(requests=2, prompt_tokens=4, completion_tokens=8)
        # Errors keep their status and body and cost nothing.
        with pytest.raises(BadRequestError):
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "fail"}]
            )
        assert meter.reading().requests == 2
        assert httpx.get(f"{url}/v1/health").text == "ok"
