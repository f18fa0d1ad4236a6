"""Generative verifier: the model scores a candidate answer by its probability of "Yes".

Off by default: small models judge their own answers poorly (FACTS.md), so "verified" rests on
agreement, confidence and deterministic checks; this score is extra evidence, measured in the
evaluation before it is trusted.
"""

from __future__ import annotations

import math

from agent.backends.base import Backend, Completion
from agent.prompts import VERIFIER_PROMPT

TOP = 10


def p_yes(
    backend: Backend, question: str, path: str, answer: str
) -> tuple[float | None, Completion]:
    """P("Yes") / (P("Yes") + P("No")) for the first answer token, or None if neither appears."""
    (c,) = backend.generate(
        [
            {
                "role": "user",
                "content": VERIFIER_PROMPT.format(question=question, path=path, answer=answer),
            }
        ],
        n=1,
        temperature=0.0,
        max_tokens=1,
        logprobs=TOP,
    )
    if not c.logprobs:
        return None, c
    yes = no = 0.0
    for token, logprob in c.logprobs[0].top:
        word = token.strip().lower()
        if word == "yes":
            yes += math.exp(logprob)
        elif word == "no":
            no += math.exp(logprob)
    if yes + no == 0:
        return None, c
    return yes / (yes + no), c
