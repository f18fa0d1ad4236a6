"""A scripted backend for unit tests of pure graph logic (routing, voting, stopping).

It returns enqueued texts in order, like simonw/llm's MockModel.enqueue. It proves nothing
about the model; integration tests run the real small model for that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from agent.backends.base import Completion, GenerationStats, Message, TokenLogprob


class QueueBackend:
    """Answers ``generate`` calls from a queue of scripted completion texts."""

    def __init__(self, texts: Sequence[str] = (), *, name: str = "queue") -> None:
        """Queue ``texts``; each generated sample takes the next one."""
        self.model_name = name
        self.last_stats = GenerationStats()
        self.queue: list[str | Completion] = list(texts)
        self.calls: list[dict[str, Any]] = []

    def enqueue(self, *items: str | Completion) -> None:
        """Add more scripted completions."""
        self.queue.extend(items)

    def generate(self, messages: Sequence[Message], **kw: Any) -> list[Completion]:
        """Pop ``n`` scripted completions."""
        n = kw.get("n", 1)
        self.calls.append({"messages": list(messages), **kw})
        out = []
        for i in range(n):
            if not self.queue:
                raise AssertionError(f"QueueBackend ran out of scripted completions (call {kw})")
            item = self.queue.pop(0)
            if isinstance(item, str):
                seed = kw.get("seed")
                prefix = (kw.get("prefixes") or [""] * n)[i]
                item = Completion(
                    prefix + item,
                    "stop",
                    10,
                    len(item.split()),
                    None if seed is None else seed + i,
                    None,
                    self.model_name,
                )
            out.append(item)
        return out

    def stream(self, messages: Sequence[Message], **kw: Any) -> Iterator[str]:
        """Yield one scripted completion word by word."""
        (c,) = self.generate(messages, n=1)
        yield from (w + " " for w in c.text.split())

    def close(self) -> None:
        """Nothing to release."""


def with_logprobs(text: str, answer_margin: float) -> Completion:
    """A completion whose every token has the given top-1/top-2 probability margin."""
    import math

    p1 = (1 + answer_margin) / 2
    p2 = 1 - p1
    tokens = [t for t in text.replace("}", " }").replace("{", "{ ").split(" ") if t]
    pieces = [t if i == 0 else " " + t for i, t in enumerate(tokens)]
    lps = tuple(
        TokenLogprob(piece, math.log(p1), ((piece, math.log(p1)), ("x", math.log(max(p2, 1e-9)))))
        for piece in pieces
    )
    return Completion("".join(pieces), "stop", 10, len(pieces), 0, lps, "queue")
