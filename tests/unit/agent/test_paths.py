from __future__ import annotations

import dataclasses
import math
from functools import partial

import pytest

from agent.backends.base import Completion, TokenLogprob
from agent.extract import extract_answer
from agent.paths import ReasoningPath, Verdict, from_completion


def completion(text: str, **kw) -> Completion:
    return Completion(text=text, finish_reason="stop", prompt_tokens=3, completion_tokens=7, **kw)


def test_from_completion_extracts_canonical_and_raw_answer():
    c = completion(r"so \boxed{\frac{1}{2}}", seed=11, model="qwen")
    path = from_completion(c, 3, partial(extract_answer, kind="math"))
    assert (path.index, path.answer, path.raw_answer) == (3, "0.5", r"\frac{1}{2}")
    assert (path.seed, path.model, path.completion_tokens, path.weight) == (11, "qwen", 7, 1.0)
    assert path.confidence is None


def test_from_completion_marks_an_abstention():
    path = from_completion(completion("I give up"), 0, extract_answer)
    assert path.abstained and path.raw_answer is None and path.answer_span is None


def test_from_completion_computes_confidence_from_logprobs():
    lp = (
        TokenLogprob("It is ", math.log(0.9), (("It is ", math.log(0.9)),)),
        TokenLogprob("8", math.log(0.7), (("8", math.log(0.7)), ("9", math.log(0.2)))),
    )
    path = from_completion(completion("It is 8", logprobs=lp), 0, extract_answer)
    assert path.answer == "8"
    assert path.confidence == pytest.approx(0.5)


def test_from_completion_keeps_an_explicit_confidence_and_weight():
    path = from_completion(
        completion("#### 5"), 0, extract_answer, confidence=0.3, weight=2.0, model="big"
    )
    assert (path.confidence, path.weight, path.model) == (0.3, 2.0, "big")


def test_reasoning_path_is_frozen():
    path = ReasoningPath(index=0, text="t", answer="1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        path.answer = "2"  # type: ignore[misc]


def test_verdict_counts_votes_without_abstentions():
    v = Verdict(
        answer="1",
        share=1.0,
        votes={"1": 2},
        agreeing=(0, 2),
        n_paths=3,
        abstentions=1,
        strategy="majority",
    )
    assert v.n_votes == 2
