"""The one model interface every node talks to.

A backend turns chat messages into ``n`` completions. Two real implementations exist:
``LlamaCppBackend`` (in-process, n sequences decoded together in one batch) and
``OpenAICompatBackend`` (vLLM, llama.cpp's server, or any OpenAI-compatible server).
Nodes never know which one they hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypedDict, runtime_checkable


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
