"""What a schema fuzzer found (issue 29): strict JSON types, and an Allow header that is true."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

USER = [{"role": "user", "content": "What is 6 * 7?"}]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"stream": True, "stream_options": {"include_usage": 0}}, "stream_options.include_usage"),
        (
            {"stream": True, "stream_options": {"include_usage": "true"}},
            "stream_options.include_usage",
        ),
        ({"stream": 1}, "stream"),
        ({"n": "2"}, "n"),
        ({"max_tokens": 32.5}, "max_tokens"),
        ({"temperature": "0.5"}, "temperature"),
        ({"seed": True}, "seed"),
    ],
    ids=[
        "include_usage-int",
        "include_usage-str",
        "stream-int",
        "n-str",
        "max_tokens-fraction",
        "temperature-str",
        "seed-bool",
    ],  # fmt: skip
)
async def test_a_field_of_another_json_type_is_a_422_not_coerced(
    client: httpx.AsyncClient, extra: dict[str, Any], param: str
) -> None:
    r = await client.post("/v1/chat/completions", json={"model": "sc@8", "messages": USER, **extra})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["param"] == param


@pytest.mark.parametrize(
    "extra",
    [{"temperature": 1}, {"n": 2.0, "max_tokens": 32.0, "seed": 7.0}],
    ids=["integer-number", "whole-float-integers"],
)
async def test_what_json_schema_calls_valid_is_accepted(
    client: httpx.AsyncClient, extra: dict[str, Any]
) -> None:
    # JSON Schema: an integer is a "number", and 2.0 is an "integer".
    r = await client.post("/v1/chat/completions", json={"model": "sc@8", "messages": USER, **extra})
    assert r.status_code == 200, r.text


async def test_feedback_correct_must_be_a_boolean(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/feedback", json={"answer_id": "ans-x", "correct": 1})
    assert r.status_code == 422 and r.json()["error"]["param"] == "correct"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/memory/1", "GET, DELETE"),
        ("PUT", "/v1/memory/1", "GET, DELETE"),
        ("DELETE", "/v1/memory/stats", "GET"),
        ("GET", "/v1/chat/completions", "POST"),
        ("OPTIONS", "/v1/models", "GET"),
    ],
)
async def test_a_405_allows_every_method_served_at_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    r = await client.request(method, path)
    assert r.status_code == 405 and r.headers["allow"] == allow
    assert r.json()["error"]["code"] == "method_not_allowed"
