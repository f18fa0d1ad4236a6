"""The MCP tools: solve, memory_search, memory_show, feedback, over one ``Service``.

Each tool only translates, as the REST routes do: it checks its arguments (the same limits
as the REST schema), hands a question to ``Service.submit(Ask)``, and shapes what comes back.
While ``solve`` runs, every graph event with something to say becomes an MCP progress
notification (the words of the REST stream's ``reasoning_content``); if the client cancels
the call, the run stops at its next graph step. Errors our table knows (``api/errors.py``)
come back as tool errors with the same message the REST API would give.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from agent.errors import ReasonerError
from agent.events import Event, NodeEnd, NodeStart
from agent.reasoner import Answer
from agent.trace import answer_program
from api.errors import ApiError, describe
from api.relay import RelayedRun
from api.schemas import (
    MAX_PATHS,
    MAX_TEXT,
    MAX_TOKENS,
    MIN_TOKENS,
    NOT_BLANK,
    memory_hits,
    memory_record,
    model_enum,
    resolve_model,
)
from memory import MemoryStoreError
from retrieval import RetrievalError
from service.compose import Ask, Service
from service.queue import QueueFull

logger = logging.getLogger(__name__)

# What the tools may raise that is the caller's or the service's situation, not a crash.
KNOWN = (ApiError, ReasonerError, MemoryStoreError, RetrievalError, QueueFull)


class Evidence(BaseModel):
    """Why the answer is (or is not) verified."""

    vote_share: float | None = Field(description="Share of the voting paths behind the answer")
    agreeing_paths: int | None = Field(description="Paths that gave the answer")
    total_paths: int = Field(description="Paths drawn")
    votes: dict[str, float] = Field(description="Weight per distinct answer")
    reason: str | None = Field(description="Verification's reason, in words")
    stopped_early: bool = Field(description="Sampling stopped before its budget")


class Winner(BaseModel):
    """The path that gave the answer: a program (and what it printed) or prose."""

    kind: str = Field(description="program or prose")
    text: str = Field(description="The path's text (a program path's reply with its code)")
    program: str | None = Field(None, description="The program that printed the answer")
    output: str | None = Field(None, description="What that program printed")


class SolveResult(BaseModel):
    """One answer with the evidence behind it."""

    answer_id: str = Field(description="Give it to the feedback tool to confirm or reject")
    answer: str | None = Field(description="The canonical answer (None: no path answered)")
    content: str = Field(description="The reply text")
    verified: bool = Field(description="Verified: agreeing paths of independent kinds, or 3+")
    configuration: str = Field(description="The graph configuration that ran")
    evidence: Evidence
    winner: Winner | None = Field(description="The winning program or path")
    memory: dict[str, Any] = Field(description="What write-back did (stored, id, reason)")
    usage: dict[str, int] = Field(description="Tokens over every model call")
    seconds: float = Field(description="Wall time of the run")


def solve_result(answer: Answer) -> SolveResult:
    """Shape an ``Answer`` for the ``solve`` tool."""
    trace = answer.trace
    vote = trace.get("vote")
    verification = trace.get("verification") or {}
    sampling = trace.get("sampling") or {}
    winner = None
    if answer.rationale:
        program = answer_program(trace, answer.answer)
        winner = Winner(
            kind="program" if program else "prose",
            text=answer.rationale,
            program=program[0] if program else None,
            output=program[1] if program else None,
        )
    return SolveResult(
        answer_id=answer.id,
        answer=answer.answer,
        content=answer.content,
        verified=answer.verified,
        configuration=answer.config,
        evidence=Evidence(
            vote_share=vote["share"] if vote else None,
            agreeing_paths=verification.get("agreeing_paths"),
            total_paths=len(trace.get("paths") or []),
            votes=vote["votes"] if vote else {},
            reason=verification.get("reason"),
            stopped_early=bool(sampling.get("stopped_early")),
        ),
        winner=winner,
        memory=dict(trace.get("memory") or {}),
        usage=dict(answer.usage),
        seconds=round(answer.seconds, 3),
    )


def progress_line(event: Event) -> str | None:
    """What a progress notification says for an event (None: the event is not sent)."""
    if isinstance(event, NodeStart):
        return f"step {event.node}"
    if isinstance(event, NodeEnd):
        return None  # the next step's start says as much
    return event.text()


def tool_error(ex: BaseException) -> ToolError:
    """The tool error for a known exception: the REST API's message (and its retry hint)."""
    _, body = describe(ex)
    message = body["error"]["message"]
    if isinstance(ex, QueueFull):
        message = f"{message} (HTTP 429 on the REST API)"
    return ToolError(message)


Question = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK, description="The question"),
]
Configuration = Annotated[
    str | None,
    Field(
        description="Graph configuration, as the REST API's model field (default: the "
        "service's, REASON_GRAPH)",
        json_schema_extra={"enum": [*model_enum(), None]},
    ),
]
Paths = Annotated[
    int | None, Field(ge=1, le=MAX_PATHS, description="Reasoning paths to sample at most")
]
MaxTokens = Annotated[
    int | None, Field(ge=MIN_TOKENS, le=MAX_TOKENS, description="Length cap per path")
]


def register_tools(server: MCPServer[Any], service: Service) -> None:
    """Add the four tools to ``server`` (the service resolves ``solve``'s configuration)."""

    @server.tool(title="Solve a reasoning question")
    async def solve(
        question: Question,
        ctx: Context,
        configuration: Configuration = None,
        paths: Paths = None,
        max_tokens: MaxTokens = None,
    ) -> SolveResult:
        """Answer a question (math word problem, logic, multi-step reasoning) with the
        reasoning graph: paths sampled, voted and verified. Returns the answer, whether it is
        verified, the evidence, and the winning program or path; progress is notified."""
        try:
            ask = Ask(
                question,
                resolve_model(configuration) if configuration else None,
                overrides={"n": paths, "max_tokens": max_tokens},
                source="mcp",
            )
            answer = await _run(service, ask, ctx)
        except KNOWN as ex:
            raise tool_error(ex) from ex
        except ValidationError as ex:  # an override the configuration refuses
            raise ToolError(str(ex.errors()[0].get("msg"))) from ex
        return solve_result(answer)

    @server.tool(title="Search the memory of solved problems")
    async def memory_search(
        query: Annotated[
            str, Field(min_length=1, max_length=4000, pattern=NOT_BLANK, description="Query")
        ],
        k: Annotated[int, Field(ge=1, le=50, description="How many results")] = 5,
    ) -> dict[str, Any]:
        """The stored problems nearest to a query: id, score, question, answer, verified."""
        return {"results": await _memory_call(service, memory_hits, query, k)}

    @server.tool(title="Show one stored problem")
    async def memory_show(
        id: Annotated[int, Field(ge=1, le=2**62, description="Problem id")],  # noqa: A002
    ) -> dict[str, Any]:
        """One stored problem: question, answer, path or program and its output, evidence,
        source, uses, principles."""
        return await _memory_call(service, memory_record, id)

    @server.tool(title="Confirm or reject an answer")
    async def feedback(
        answer_id: Annotated[
            str, Field(min_length=1, max_length=64, description="answer_id from solve")
        ],
        correct: Annotated[bool, Field(description="True when the answer was right")],
        true_answer: Annotated[
            str | None, Field(max_length=2000, description="The right answer")
        ] = None,
    ) -> dict[str, Any]:
        """Tell memory whether an earlier answer was right, or give the right answer.

        Correct stores or confirms it; Wrong retires it and the recalled records behind it;
        a right answer is stored when a program the service writes prints it (``detail``
        says what happened)."""
        try:
            future = service.feedback(answer_id, correct, true_answer)
            result = await asyncio.wrap_future(future)
        except KNOWN as ex:
            raise tool_error(ex) from ex
        return result.to_dict()


T = TypeVar("T")


async def _memory_call(service: Service, fn: Callable[..., T], *args: Any) -> T:
    store = service.memory
    if store is None:
        raise ToolError("this service runs without memory")
    try:
        return await run_in_threadpool(fn, store, *args)
    except KNOWN as ex:
        raise tool_error(ex) from ex


async def _run(service: Service, ask: Ask, ctx: Context) -> Answer:
    """Submit the question and relay its events as progress until the answer is in."""
    run = RelayedRun(service, lambda c, put: replace(ask, cancellation=c, on_event=put))
    sent = 0
    try:
        async for event in run.events():
            line = progress_line(event)
            if line:
                sent += 1
                await ctx.report_progress(sent, None, line)
        return run.future.result()
    finally:
        run.stop()  # the call was cancelled: stop at the next graph event
