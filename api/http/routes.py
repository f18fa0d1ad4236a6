"""The /v1 routes: OpenAI-compatible chat completions and models, feedback, memory.

Every route only translates: it checks the request, hands the question to the service
(``Service.submit`` with an ``Ask``), and shapes the answer. Streaming sends graph progress as
``delta.reasoning_content`` chunks, then the answer, then ``data: [DONE]``; when the client
goes away the run is cancelled between two decoded tokens (agent/backends/cancel.py) or at
its next graph event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import ValidationError
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError, describe, param_of
from api.http.auth import require_admin, require_key
from api.relay import RelayedRun
from api.schemas import (
    ChatCompletionRequest,
    FeedbackRequest,
    chat_ask,
    completion_body,
    memory_hits,
    memory_record,
    model_ids,
    ranked_answers,
    usage_body,
)
from service.compose import Ask, Service

logger = logging.getLogger(__name__)

# How often a plain (non-streaming) request checks whether its client is still there.
DISCONNECT_POLL_S = 0.5
# A stream that is waiting on the model sends an SSE comment this often (keeps proxies open).
SSE_PING_S = 15
DONE = "[DONE]"  # OpenAI's last stream event

ERROR_SCHEMA = {
    "content": {
        "application/json": {
            "example": {
                "error": {
                    "message": "...",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
        }
    }
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, **ERROR_SCHEMA}
    for status, text in {
        400: "Malformed request",
        401: "Missing or wrong API key",
        404: "Unknown model",
        413: "Body too large, or the conversation longer than the model's context",
        422: "Invalid field",
        429: "Queue full (see Retry-After)",
        503: "Backend or memory unavailable",
    }.items()
}

router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], responses=ERRORS)


def service_of(request: Request) -> Service:
    """The service the app was created with."""
    service: Service = request.app.state.service
    return service


@contextmanager
def _overrides_checked() -> Iterator[None]:
    """Submitting: an override the configuration refuses is the request's 422."""
    try:
        yield
    except ValidationError as ex:
        first = ex.errors()[0]
        param = param_of(tuple(first.get("loc", ())))
        raise ApiError(422, f"{param}: {first.get('msg')}", param=param) from None


@router.get("/models", summary="List the graph configurations served as models")
async def list_models() -> dict[str, Any]:
    """OpenAI's model list: one model per named graph configuration."""
    now = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": now, "owned_by": "reason"} for m in model_ids()
        ],
    }


@router.post(
    "/chat/completions",
    summary="Answer the last user message with the reasoning graph",
    responses={
        200: {
            "description": "A chat.completion, or an SSE stream of chunks when stream is true",
            "content": {"text/event-stream": {}},
        }
    },
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    x_thread_id: str | None = Header(None, max_length=128, description="Conversation id"),
) -> Any:
    """OpenAI-compatible chat completion; the trace is under ``x_trace``."""
    service = service_of(request)
    ask = chat_ask(body, x_thread_id)
    logger.info(
        "chat model=%s paths=%s stream=%s user=%s thread=%s",
        body.model,
        body.reasoning_paths or "default",
        body.stream,
        body.user,
        ask.thread_id,
    )
    if body.stream:
        return _stream(service, ask, body)
    job = asyncio.ensure_future(service.answer_async(ask))
    # A plain request's handler is not cancelled when its client goes away: watch for the
    # disconnect, so the run stops at its next graph step instead of answering no one.
    while not job.done():
        await asyncio.wait({job}, timeout=DISCONNECT_POLL_S)
        if not job.done() and await request.is_disconnected():
            logger.info("client went away: cancelling its %s run", body.model)
            job.cancel()  # cancels the run too (Service.answer_async)
            raise ApiError(499, "the client closed the request", code="cancelled")
    with _overrides_checked():
        answer = job.result()
    return completion_body(answer, body.model, body.n)


def _chunk(answer_id: str, model: str, choices: list[dict[str, Any]], **extra: Any) -> str:
    body = {
        "id": answer_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        **extra,
    }
    return json.dumps(body, default=str)


def _delta(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}


def _stream(service: Service, ask: Ask, body: ChatCompletionRequest) -> EventSourceResponse:
    # Admission happens here, before the response starts, so a full queue is a real 429.
    with _overrides_checked():
        run = RelayedRun(service, lambda c, put: replace(ask, cancellation=c, on_event=put))
    model = body.model
    stream_id = f"chatcmpl-{uuid.uuid4().hex[:16]}"
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def chunks() -> AsyncIterator[str]:
        try:
            yield _chunk(stream_id, model, [_delta(0, {"role": "assistant", "content": ""})])
            async for event in run.events():
                # Every event goes out as JSON (``x_event``, for the web page); those worth
                # reading also as a line of reasoning_content (for any OpenAI client).
                text = event.text()
                delta = {"reasoning_content": text + "\n"} if text else {}
                yield _chunk(stream_id, model, [_delta(0, delta)], x_event=event.to_dict())
            try:
                answer = run.future.result()
            except Exception as ex:  # noqa: BLE001 - every failure becomes an error event
                _, error = describe(ex)
                yield json.dumps(error)
                yield DONE
                return
            for i, (content, _share) in enumerate(ranked_answers(answer, body.n)):
                delta = (
                    {"content": content} if i == 0 else {"role": "assistant", "content": content}
                )
                yield _chunk(stream_id, model, [_delta(i, delta)])
                yield _chunk(
                    stream_id,
                    model,
                    [_delta(i, {}, "stop")],
                    # x_rationale: the winning path's text, which a plain answer carries as
                    # message.reasoning_content (the stream used that field for progress).
                    **(
                        {
                            "x_answer_id": answer.id,
                            "x_trace": answer.trace,
                            "x_rationale": answer.rationale,
                        }  # fmt: skip
                        if i == 0
                        else {}
                    ),
                )
            if include_usage:
                yield _chunk(stream_id, model, [], usage=usage_body(answer))
            yield DONE
        finally:
            run.stop()  # client gone: stop at the next graph event

    # sse-starlette frames each yielded string as one ``data:`` event, pings an idle stream
    # and ends the generator when the client disconnects (whose ``finally`` then cancels).
    return EventSourceResponse(
        chunks(), sep="\n", ping=SSE_PING_S, headers={"X-Accel-Buffering": "no"}
    )


@router.post("/feedback", summary="Confirm, reject or correct an earlier answer")
async def feedback(body: FeedbackRequest, request: Request) -> dict[str, Any]:
    """Feedback on an answer (by ``x_answer_id``): correct, wrong, or the right answer.

    The reply says what memory did (``action``, ``detail``); a correction ("the right answer
    is X") writes programs for the question on the work queue, so it can take a while.
    """
    future = service_of(request).feedback(body.answer_id, body.correct, body.true_answer)
    return (await asyncio.wrap_future(future)).to_dict()


def _memory(request: Request) -> Any:
    store = service_of(request).memory
    if store is None:
        raise ApiError(
            503, "this service runs without memory", type="server_error", code="memory_disabled"
        )
    return store


@router.get("/memory/stats", summary="Counts of stored problems and principles")
async def memory_stats(request: Request) -> dict[str, Any]:
    """Counts by status and domain, embedding model, index sizes."""
    store = _memory(request)
    stats = await run_in_threadpool(store.stats)
    return dict(stats.to_dict())


@router.get("/memory/search", summary="Stored problems similar to a query")
async def memory_search(
    request: Request,
    q: str = Query(min_length=1, max_length=4000, pattern=r"\S", description="Query text"),
    k: int = Query(5, ge=1, le=50, description="How many results"),
) -> dict[str, Any]:
    """Nearest stored problems by embedding similarity."""
    store = _memory(request)
    return {"object": "list", "data": await run_in_threadpool(memory_hits, store, q, k)}


@router.get("/memory/{problem_id:int}", summary="One stored problem")
async def memory_get(
    request: Request, problem_id: int = Path(ge=1, le=2**62, description="Problem id")
) -> dict[str, Any]:
    """A stored problem: question, answer, path or program, evidence, source, uses."""
    return await run_in_threadpool(memory_record, _memory(request), problem_id)


# ``:int`` keeps DELETE /memory/stats and /memory/search out of this route: they answer 405.
@router.delete(
    "/memory/{problem_id:int}",
    summary="Delete a stored problem (admin key)",
    dependencies=[Depends(require_admin)],
)
async def memory_delete(
    request: Request, problem_id: int = Path(ge=1, le=2**62, description="Problem id")
) -> dict[str, Any]:
    """Remove a problem from memory and its index."""
    store = _memory(request)
    await run_in_threadpool(store.delete, problem_id)
    return {"id": problem_id, "object": "memory.problem", "deleted": True}
