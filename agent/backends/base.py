"""The one model interface every node talks to.

A backend turns chat messages into ``n`` completions. Two real implementations exist:
``LlamaCppBackend`` (in-process, n sequences decoded together in one batch) and
``OpenAICompatBackend`` (vLLM, llama.cpp's server, or any OpenAI-compatible server).
Nodes never know which one they hold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable


class Message(TypedDict):
    """One chat message, as OpenAI's API shapes it."""

    role: Literal["system", "user", "assistant"]
    content: str


FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class TokenLogprob:
    """Log-probability of one generated token and its strongest alternatives.

    ``top`` holds (token text, logprob) pairs, best first; it includes the sampled token
    when that token is among the top-k. The CoT-decoding confidence uses ``top[0]`` and
    ``top[1]``.
    """

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Completion:
    """One sampled continuation."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    seed: int | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    model: str = ""


@dataclass(frozen=True)
class GenerationStats:
    """What one ``generate`` call cost, as the backend measured it.

    ``prompt_tokens_evaluated`` counts prompt tokens actually run through the model: for the
    llama.cpp backend it equals the prompt length once, however large ``n`` is, because the
    prompt's KV cache is shared by every sequence.
    """

    prompt_tokens_evaluated: int = 0
    completion_tokens: int = 0
    prompt_seconds: float = 0.0
    generate_seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SamplingParams:
    """How every sample of one call is drawn: the settings of ``Backend.generate`` but ``n``
    and ``prefixes`` (their meaning is documented there).

    The values are kept as the caller passed them (a temperature of ``0`` stays an int): the
    draw cache's keys are built from them.
    """

    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...]
    seed: int | None
    logprobs: int | None = None

    def seed_of(self, i: int) -> int | None:
        """Sample ``i`` is drawn with ``seed + i``, so draws are reproducible one by one."""
        return None if self.seed is None else self.seed + i

    def keywords(self) -> dict[str, Any]:
        """These settings as ``Backend.generate`` keywords, for calling another backend."""
        return asdict(self)


@dataclass(frozen=True)
class GenerateRequest:
    """One ``generate`` call: ``n`` samples of the chat ``messages`` drawn with ``params``."""

    messages: Sequence[Message]
    n: int
    params: SamplingParams
    prefixes: Sequence[str] | None = None


@runtime_checkable
class Backend(Protocol):
    """A source of completions for chat messages."""

    model_name: str
    last_stats: GenerationStats

    def generate(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        temperature: float = 0.7,
        top_p: float = 0.95,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
        logprobs: int | None = None,
        prefixes: Sequence[str] | None = None,
    ) -> list[Completion]:
        """Return ``n`` completions of the chat ``messages``.

        Args:
            messages: The conversation, last message from the user.
            n: Number of independent samples, decoded in parallel where the backend can.
            temperature: Sampling temperature; 0 means greedy.
            top_p: Nucleus sampling mass.
            max_tokens: Length cap per completion.
            stop: Strings that end a completion (not included in its text).
            seed: Base seed; sample ``i`` uses ``seed + i`` so draws are reproducible.
            logprobs: When set, return this many top alternatives per generated token.
            prefixes: When set (one per sample), sample i's reply is forced to start with
                ``prefixes[i]``, included in its text. CoT-decoding branches this way.
        """
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.7,
        top_p: float = 0.95,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> Iterator[str]:
        """Yield the text of one completion piece by piece as it is generated."""
        ...

    def close(self) -> None:
        """Release the model or the connection."""
        ...


class BackendBase(ABC):
    """The real backends' shared front: the keyword API of ``Backend`` taken in once and
    handed on as one ``GenerateRequest`` to ``_generate`` and ``SamplingParams`` to
    ``_stream``."""

    model_name: str
    last_stats: GenerationStats

    def generate(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        temperature: float = 0.7,
        top_p: float = 0.95,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
        logprobs: int | None = None,
        prefixes: Sequence[str] | None = None,
    ) -> list[Completion]:
        """Return ``n`` completions of the chat ``messages``; see ``Backend.generate``."""
        params = SamplingParams(temperature, top_p, max_tokens, tuple(stop or ()), seed, logprobs)
        return self._generate(GenerateRequest(messages, n, params, prefixes))

    def stream(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.7,
        top_p: float = 0.95,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> Iterator[str]:
        """Yield the text of one completion piece by piece; see ``Backend.stream``."""
        return self._stream(
            messages, SamplingParams(temperature, top_p, max_tokens, tuple(stop or ()), seed)
        )

    @abstractmethod
    def _generate(self, req: GenerateRequest) -> list[Completion]:
        """``generate`` with its arguments gathered into ``req``."""

    @abstractmethod
    def _stream(self, messages: Sequence[Message], params: SamplingParams) -> Iterator[str]:
        """``stream`` with its settings gathered into ``params``."""

    @abstractmethod
    def close(self) -> None:
        """Release the model or the connection."""
