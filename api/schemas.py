"""Request and response shapes of the OpenAI-compatible API, and the translation to a run.

``ChatCompletionRequest`` accepts what OpenAI clients send; ``chat_ask`` turns it into the
service's ``Ask`` (question, earlier turns, thread id, configuration name and overrides);
``completion_body`` turns an ``Answer`` into a ``chat.completion`` object. The batch runner
uses the same translation (``chat_ask``, resolved by the service), so an OpenAI Batch line
gets exactly what the endpoint would answer.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from agent.config import NAMED_CONFIGS, named_config
from agent.reasoner import Answer
from api.errors import ApiError
from service.compose import Ask

if TYPE_CHECKING:
    from memory import MemoryInterface

# Friendly model ids -> named graph configurations; the raw names are accepted as well.
MODEL_ALIASES: dict[str, str] = {
    "reason-full": "full",
    "reason-sc": "sc@8",
    "reason-greedy": "greedy",
    "reason-cot": "cot",
    "reason-adaptive": "adaptive@8",
    "reason-program": "pot-sc@8",
}
MAX_CHOICES = 8
MAX_PATHS = 16  # the backends' default largest batch (REASON_MAX_N)
MAX_TOKENS = 8192
MIN_TOKENS = 16


def model_ids() -> list[str]:
    """Every model id the API accepts, aliases first."""
    return list(MODEL_ALIASES) + [n for n in NAMED_CONFIGS if n not in MODEL_ALIASES]


def resolve_model(model: str) -> str:
    """The named configuration behind a model id; unknown ids raise a 404 listing the known."""
    if model in MODEL_ALIASES:
        return MODEL_ALIASES[model]
    if model in NAMED_CONFIGS:
        return model
    raise ApiError(
        404,
        f"The model {model!r} does not exist; available models: {', '.join(model_ids())}",
        code="model_not_found",
        param="model",
    )


# What the schema says a question may hold (the reasoner's own limit is max_question_chars,
# 8000 by default): a fuzzer's valid request is then one the service answers.
MAX_TEXT = 8000
MAX_PARTS = 8
NOT_BLANK = r"\S"  # at least one character that is not white space


def model_enum() -> list[str]:
    """The model ids that run on the served model alone (the schema's enum): an ensemble
    needs a second model file, which a server may not have."""
    return [m for m in model_ids() if not named_config(resolve_model(m)).ensemble]


class StrictModel(BaseModel):
    """A request body part validated strictly, as OpenAI validates: a JSON type other than
    the schema's is refused (``"include_usage": 0``, ``"n": "2"``), never coerced."""

    model_config = ConfigDict(strict=True)


def whole(value: object) -> object:
    """JSON Schema's "integer" holds 4.0 (a number whose fraction is zero), which strict
    pydantic refuses: a whole float becomes its int. Strings and booleans stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class TextPart(StrictModel):
    """A text part of a message (OpenAI's content-part form)."""

    type: Literal["text"] = Field(description="Only text parts are supported")
    text: str = Field(max_length=MAX_TEXT // MAX_PARTS, description="The text")


class ChatMessage(StrictModel):
    """One message of the conversation (a user turn is a ``UserMessage``)."""

    role: Literal["system", "developer", "user", "assistant"] = Field(
        description="Who wrote the message"
    )
    content: str | list[TextPart] | None = Field(None, description="Text, or text parts")
    name: str | None = Field(None, description="Optional author name (ignored)")

    def text(self) -> str:
        """The message's text, parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class UserTextPart(TextPart):
    """A text part of a user turn: it says something."""

    text: str = Field(max_length=MAX_TEXT // MAX_PARTS, pattern=NOT_BLANK, description="The text")


class UserMessage(ChatMessage):
    """A user turn: a question, never blank."""

    role: Literal["user"] = Field(description="A user turn")
    content: (
        Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=NOT_BLANK)]
        | Annotated[list[UserTextPart], Field(min_length=1, max_length=MAX_PARTS)]
    ) = Field(description="The question or turn: text, or text parts")  # type: ignore[assignment]  # parts narrowed; list is invariant


class OtherMessage(ChatMessage):
    """A system, developer or assistant turn."""

    role: Literal["system", "developer", "assistant"] = Field(description="Who wrote the message")


Message = Annotated[UserMessage | OtherMessage, Field(discriminator="role")]


class StreamOptions(StrictModel):
    """Options of a streamed response."""

    include_usage: bool = Field(False, description="Send a last chunk with the token usage")


class ChatCompletionRequest(StrictModel):
    """OpenAI's chat completion request, as far as this service honours it.

    Unknown fields that OpenAI clients send (``stop``, ``presence_penalty``...) are ignored.
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    # The schema lists the models (so clients and fuzzers use real ones); an unknown one is
    # still answered by resolve_model with a 404 that names them, not a validation error.
    model: str = Field(
        description="A graph configuration, e.g. reason-full (see /v1/models)",
        json_schema_extra={"enum": [*model_enum()]},
    )
    messages: list[Message] = Field(
        min_length=1,
        max_length=200,
        description="The conversation; its last user turn is the question",
        json_schema_extra={"contains": {"properties": {"role": {"const": "user"}}}},
    )
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling mass")
    max_tokens: int | None = Field(
        None, ge=MIN_TOKENS, le=MAX_TOKENS, description="Length cap per reasoning path"
    )
    max_completion_tokens: int | None = Field(
        None, ge=MIN_TOKENS, le=MAX_TOKENS, description="Same as max_tokens (newer name)"
    )
    n: int = Field(
        1, ge=1, le=MAX_CHOICES, description="Choices to return: the top distinct voted answers"
    )
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Seed of the first path")
    stream: bool = Field(False, description="Stream progress and the answer as SSE chunks")
    stream_options: StreamOptions | None = Field(None, description="Streaming options")
    user: str | None = Field(None, max_length=256, description="End-user id (logged)")
    metadata: dict[str, str] | None = Field(
        None, description="Free key/values; metadata.thread_id continues a conversation"
    )
    reasoning_paths: int | None = Field(
        None, ge=1, le=MAX_PATHS, description="Extension: paths to sample (default: the model's)"
    )

    _integers = field_validator(
        "max_tokens", "max_completion_tokens", "n", "seed", "reasoning_paths", mode="before"
    )(whole)


def chat_ask(request: ChatCompletionRequest, thread_id: str | None = None) -> Ask:
    """Translate a chat request into the service's request: the last user message is the
    question, earlier turns the history, the model id a configuration name, and the sampling
    fields its overrides (the service resolves them with its own defaults).

    With a thread id the checkpointer holds the conversation, so earlier messages in the
    request are not replayed. System messages are not used (the graph has its own prompt).
    """
    name = resolve_model(request.model)
    # The question is the last user turn; turns after it (an assistant's prefill, a late
    # system note) are not part of it.
    users = [i for i, m in enumerate(request.messages) if m.role == "user"]
    if not users:
        raise ApiError(400, "the conversation has no user message", param="messages")
    last = request.messages[users[-1]]
    question = last.text()
    if not question.strip():
        raise ApiError(400, "the last user message is empty", param="messages")
    thread = thread_id or (request.metadata or {}).get("thread_id") or None
    history = (
        []
        if thread
        else [
            {"role": m.role, "content": m.text()}
            for m in request.messages[: users[-1]]
            if m.role in ("user", "assistant") and m.text()
        ]
    )
    overrides = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_completion_tokens or request.max_tokens,
        "seed": request.seed,
        "n": request.reasoning_paths,
    }
    return Ask(
        question,
        name,
        overrides={k: v for k, v in overrides.items() if v is not None},
        thread_id=thread,
        history=history or None,
        source="api",
    )


def ranked_answers(answer: Answer, n: int) -> list[tuple[str, float | None]]:
    """The winning content, then other distinct voted answers by weight, at most ``n``."""
    out: list[tuple[str, float | None]] = []
    vote = answer.trace.get("vote")
    votes: dict[str, float] = vote["votes"] if vote else {}
    total = sum(votes.values()) or 0.0
    share = vote["share"] if vote else None
    out.append((answer.content, share))
    for other, weight in sorted(votes.items(), key=lambda kv: -kv[1]):
        if len(out) >= n:
            break
        if other == answer.answer:
            continue
        out.append((other, weight / total if total else None))
    return out


def usage_body(answer: Answer) -> dict[str, int]:
    """OpenAI's usage object from the run's real token counts."""
    prompt = int(answer.usage.get("prompt_tokens", 0))
    completion = int(answer.usage.get("completion_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_id(answer: Answer) -> str:
    """The chat completion id for an answer."""
    return "chatcmpl-" + answer.id.removeprefix("ans-")


def completion_body(answer: Answer, model: str, n: int = 1) -> dict[str, Any]:
    """A ``chat.completion`` object; the trace rides along under ``x_trace``."""
    choices = []
    for i, (content, share) in enumerate(ranked_answers(answer, n)):
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if i == 0 and answer.rationale:
            message["reasoning_content"] = answer.rationale
        choices.append(
            {
                "index": i,
                "message": message,
                "finish_reason": "stop",
                "logprobs": None,
                "x_vote_share": share,
            }
        )
    return {
        "id": completion_id(answer),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage_body(answer),
        "system_fingerprint": None,
        "x_answer_id": answer.id,
        "x_verified": answer.verified,
        "x_trace": answer.trace,
    }


class FeedbackRequest(StrictModel):
    """Whether an earlier answer was right."""

    answer_id: str = Field(min_length=1, max_length=64, description="x_answer_id of the answer")
    correct: bool = Field(description="True when the answer was right")
    true_answer: str | None = Field(None, max_length=2000, description="The right answer")


def memory_hits(store: MemoryInterface, query: str, k: int) -> list[dict[str, Any]]:
    """The nearest stored problems to ``query`` (REST's /v1/memory/search, MCP's
    memory_search)."""
    return [
        {
            "id": h.record.id,
            "score": round(h.score, 4),
            "question": h.record.question,
            "answer": h.record.answer,
            "verified": h.record.verified,
            "principle": h.record.principle,
            "source": h.record.source,
        }
        for h in store.search_problems(query, k)
    ]


def memory_record(store: MemoryInterface, problem_id: int) -> dict[str, Any]:
    """One stored problem with its principles (REST's /v1/memory/{id}, MCP's memory_show).

    Raises:
        RecordNotFound: No problem has that id.
    """
    record = store.get(problem_id)
    body: dict[str, Any] = {"object": "memory.problem", **record.to_dict()}
    body.pop("content_hash", None)
    body["principles"] = [p.to_dict() for p in store.principles_of(problem_id)]
    return body
