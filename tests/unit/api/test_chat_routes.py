"""The chat completion route on a scripted backend: shapes, choices, streaming, history."""

from __future__ import annotations

import json
from typing import Any

import httpx

QUESTION = {"role": "user", "content": "What is 6 * 7?"}


async def test_completion_has_answer_usage_trace_and_answer_id(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/v1/chat/completions", json={"model": "reason-sc", "messages": [QUESTION]}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "42",
        "reasoning_content": "step... \\boxed{42}",
    }
    assert body["usage"]["completion_tokens"] == 8 * 7  # 8 paths of 7 tokens, really counted
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 56
    assert body["x_trace"]["vote"]["answer"] == "42"
    assert body["x_answer_id"].startswith("ans-")


async def test_n_returns_the_top_distinct_answers_as_choices(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions", json={"model": "sc@8", "messages": [QUESTION], "n": 3}
    )
    contents = [c["message"]["content"] for c in r.json()["choices"]]
    assert contents == ["42", "41"]  # only two distinct answers were voted


async def test_models_lists_aliases_and_named_configs(client: httpx.AsyncClient) -> None:
    ids = [m["id"] for m in (await client.get("/v1/models")).json()["data"]]
    assert {"reason-full", "reason-sc", "reason-greedy", "sc@8", "full"} <= set(ids)


async def test_request_overrides_reach_the_backend(client: httpx.AsyncClient, backend: Any) -> None:
    await client.post(
        "/v1/chat/completions",
        json={"model": "reason-sc", "messages": [QUESTION], "reasoning_paths": 2, "max_tokens": 20},
    )
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "reason-sc", "messages": [QUESTION], "reasoning_paths": 2},
    )
    assert len(r.json()["x_trace"]["paths"]) == 2


async def test_earlier_turns_become_history_in_the_prompt(
    client: httpx.AsyncClient, backend: Any
) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "Remember x = 5."},
        {"role": "assistant", "content": "OK."},
        QUESTION,
    ]
    r = await client.post("/v1/chat/completions", json={"model": "greedy", "messages": messages})
    assert r.status_code == 200
    prompt = backend.calls[-1]
    texts = [m["content"] for m in prompt]
    assert "Remember x = 5." in texts and "OK." in texts and "be brief" not in texts


async def test_thread_id_without_checkpointer_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "greedy", "messages": [QUESTION], "metadata": {"thread_id": "t1"}},
    )
    assert r.status_code == 400 and "checkpointer" in r.json()["error"]["message"]


async def test_stream_sends_progress_then_answer_then_done(client: httpx.AsyncClient) -> None:
    chunks, done = [], False
    async with client.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "reason-sc",
            "messages": [QUESTION],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        async for line in r.aiter_lines():
            if line == "data: [DONE]":
                done = True
            elif line.startswith("data: "):
                chunks.append(json.loads(line[6:]))
    assert done
    assert len({c["id"] for c in chunks}) == 1
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    reasoning = "".join(d.get("reasoning_content", "") for d in deltas)
    assert "Paths 8 of 8" in reasoning and "Vote: 42" in reasoning
    assert "".join(d.get("content") or "" for d in deltas) == "42"
    assert chunks[-1]["usage"]["completion_tokens"] == 56
    finals = [c for c in chunks if c.get("x_answer_id")]
    assert finals and finals[0]["choices"][0]["finish_reason"] == "stop"
    assert finals[0]["x_rationale"] == "step... \\boxed{42}"  # the winning path's text
    # Each graph event also goes out as JSON, for the web page: one per path, in draw order.
    events = [c["x_event"] for c in chunks if "x_event" in c]
    paths = [e for e in events if e["type"] == "path"]
    assert [p["index"] for p in paths] == list(range(8))
    assert paths[0]["completion_tokens"] == 7 and paths[0]["kind"] == "prose"
    kinds = [e["type"] for e in events]
    assert kinds.index("sampled") < kinds.index("vote") < kinds.index("verified")
    vote = next(e for e in events if e["type"] == "vote")
    answers = [p["answer"] for p in paths]
    assert vote["answer"] == "42" and vote["votes"]["42"] == answers.count("42")


async def test_stream_error_is_sent_as_an_error_event(client: httpx.AsyncClient) -> None:
    # A thread needs the checkpointer this service runs without: the run fails in the graph,
    # after the stream has started.
    body = {"model": "greedy", "messages": [QUESTION], "stream": True,
            "metadata": {"thread_id": "t1"}}  # fmt: skip
    async with client.stream("POST", "/v1/chat/completions", json=body) as r:
        lines = [line async for line in r.aiter_lines() if line.startswith("data: ")]
    error = json.loads(lines[-2][6:])
    assert error["error"]["code"] == "invalid_config" and lines[-1] == "data: [DONE]"
