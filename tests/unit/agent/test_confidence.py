from __future__ import annotations

import math

import pytest

from agent.backends.base import Completion, TokenLogprob
from agent.confidence import answer_confidence, token_margin, token_span


def tok(text: str, p1: float, p2: float | None = None) -> TokenLogprob:
    top = ((text, math.log(p1)),) + (((" x", math.log(p2)),) if p2 is not None else ())
    return TokenLogprob(token=text, logprob=math.log(p1), top=top)


def test_token_margin_is_top1_minus_top2_probability():
    assert token_margin(tok("7", 0.7, 0.2)) == pytest.approx(0.5)


def test_token_margin_sorts_unordered_alternatives():
    t = TokenLogprob("7", math.log(0.2), top=(("7", math.log(0.2)), ("8", math.log(0.6))))
    assert token_margin(t) == pytest.approx(0.4)


def test_token_margin_with_one_alternative_uses_top1_as_upper_bound():
    assert token_margin(tok("7", 0.9)) == pytest.approx(0.9)


def test_token_margin_without_alternatives_uses_sampled_token():
    assert token_margin(TokenLogprob("7", math.log(0.3))) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, 2, (0, 1)), (3, 6, (1, 3)), (5, 6, (2, 3)), (9, 11, (0, 0))],
    ids=["first-token", "spans-two-partial-tokens", "inside-one-token", "past-the-end"],
)
def test_token_span_covers_characters(start, end, expected):
    # "ab" "cde" "fg" -> characters 0-1, 2-4, 5-6
    assert token_span(["ab", "cde", "fg"], start, end) == expected


def test_answer_confidence_averages_margins_over_answer_tokens():
    # text: "So it is 42." ; the answer "42" is spelled by " 4" and "2".
    lps = (tok("So it is", 0.99, 0.01), tok(" 4", 0.9, 0.1), tok("2", 0.6, 0.3), tok(".", 0.5, 0.5))
    text = "So it is 42."
    conf = answer_confidence(lps, text, (9, 11))
    assert conf == pytest.approx(((0.9 - 0.1) + (0.6 - 0.3)) / 2)


def test_answer_confidence_is_none_without_logprobs():
    assert answer_confidence(None, "42", (0, 2)) is None
    assert answer_confidence((), "42", (0, 2)) is None


def test_answer_confidence_aligns_tokens_with_a_stripped_leading_space():
    lps = (tok(" The", 0.9, 0.05), tok(" answer", 0.9, 0.05), tok(" 7", 0.8, 0.1))
    text = "The answer 7"
    assert answer_confidence(lps, text, (11, 12)) == pytest.approx(0.7)


def test_answer_confidence_falls_back_to_finding_the_answer_among_tokens():
    lps = (tok("<garbled>", 0.5, 0.4), tok("13", 0.75, 0.25))
    assert answer_confidence(lps, "x is 13", (5, 7)) == pytest.approx(0.5)


def test_answer_confidence_is_none_when_the_answer_is_not_among_tokens():
    lps = (tok("something", 0.5, 0.4),)
    assert answer_confidence(lps, "x is 13", (5, 7)) is None


def test_answer_confidence_rejects_an_empty_span():
    assert answer_confidence((tok("42", 0.9, 0.1),), "42", (1, 1)) is None


def test_completion_logprobs_feed_answer_confidence():
    c = Completion(
        text="2 + 2 = 4, so \\boxed{4}",
        finish_reason="stop",
        prompt_tokens=5,
        completion_tokens=4,
        logprobs=(
            tok("2 + 2 = 4, so ", 0.9, 0.1),
            tok("\\boxed{", 0.99, 0.0001),
            tok("4", 0.95, 0.05),
            tok("}", 0.99, 0.001),
        ),
    )
    assert answer_confidence(c.logprobs, c.text, (21, 22)) == pytest.approx(0.9)
