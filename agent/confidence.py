"""CoT-decoding answer confidence from token log-probabilities.

Wang & Zhou (2024), "Chain-of-Thought Reasoning Without Prompting", score a decoding path by
the model's certainty on its *answer* tokens: the mean, over the tokens that spell the final
answer, of the margin ``p(top-1) - p(top-2)`` between the two most likely tokens at that step.
Paths that reason their way to an answer show a much larger margin there than paths that
guess, so the margin works as a confidence for weighting votes and for answering early.

The backend gives log-probs per generated token (``Completion.logprobs``); the extractor
gives the answer's character span in the text. This module maps one onto the other by
accumulating token texts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from agent.backends.base import TokenLogprob

__all__ = ["answer_confidence", "token_margin", "token_span"]

logger = logging.getLogger(__name__)


def token_margin(tok: TokenLogprob) -> float:
    """Return ``p(top-1) - p(top-2)`` at one generated token.

    With a single alternative in ``top`` the second probability is taken as 0, an upper
    bound on the margin; with no alternatives at all the sampled token's own probability is
    used the same way.

    Args:
        tok: The token with its top alternatives.

    Returns:
        The probability margin in [0, 1].
    """
    logprobs = sorted((lp for _, lp in tok.top), reverse=True) or [tok.logprob]
    p1 = math.exp(logprobs[0])
    p2 = math.exp(logprobs[1]) if len(logprobs) > 1 else 0.0
    return min(1.0, max(0.0, p1 - p2))


def token_span(tokens: Sequence[str], start: int, end: int, *, offset: int = 0) -> tuple[int, int]:
    """Return the token indices ``[i, j)`` whose texts cover characters ``[start, end)``.

    A token that overlaps the span only partly (" 42." for the answer "42") is included.

    Args:
        tokens: Token texts in generation order; their concatenation is the text.
        start: First character of the answer.
        end: One past its last character.
        offset: Character position of the first token in the text (when the backend's
            tokens begin before or after the text, e.g. a stripped leading space).

    Returns:
        The token index range; empty (``i == j``) when no token overlaps the span.
    """
    pos = offset
    first, last = len(tokens), 0
    for i, tok in enumerate(tokens):
        tok_start, pos = pos, pos + len(tok)
        if pos > start and tok_start < end:
            first = min(first, i)
            last = i + 1
    return (first, last) if last > first else (0, 0)


def _offset(joined: str, text: str) -> int | None:
    """Character position in ``text`` where the joined token texts start, if they align."""
    if joined == text or text.startswith(joined):
        return 0
    at = joined.find(text)
    if at >= 0:  # tokens carry a prefix the text lacks (e.g. a leading space)
        return -at
    stripped = joined.lstrip()
    if stripped and text.lstrip().startswith(stripped):
        return (len(text) - len(text.lstrip())) - (len(joined) - len(stripped))
    return None


def answer_confidence(
    logprobs: Sequence[TokenLogprob] | None, text: str, span: tuple[int, int]
) -> float | None:
    """Return the mean top-1/top-2 margin over the tokens that spell the answer.

    Args:
        logprobs: Per-token log-probs of the completion (``Completion.logprobs``).
        text: The completion text the span refers to.
        span: Character span ``[start, end)`` of the final answer in ``text``.

    Returns:
        The confidence in [0, 1], or None when log-probs are missing or the answer's
        characters cannot be found among the tokens.
    """
    if not logprobs:
        return None
    start, end = span
    if not 0 <= start < end <= len(text):
        return None
    tokens = [t.token for t in logprobs]
    joined = "".join(tokens)
    offset = _offset(joined, text)
    if offset is None:
        # Tokens and text disagree (byte-fallback tokens, stop strings): locate the answer's
        # own characters among the tokens instead, last occurrence as the answer comes last.
        at = joined.rfind(text[start:end])
        if at < 0:
            logger.debug("answer %r not found among %d tokens", text[start:end], len(tokens))
            return None
        offset, start, end = 0, at, at + (end - start)
    i, j = token_span(tokens, start, end, offset=offset)
    if i == j:
        return None
    margins = [token_margin(t) for t in logprobs[i:j]]
    return sum(margins) / len(margins)
