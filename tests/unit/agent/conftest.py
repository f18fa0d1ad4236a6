"""Scripted reasoning paths for the pure-logic tests: no model, no network."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from agent.paths import ReasoningPath

PathFactory = Callable[..., list[ReasoningPath]]


def build_paths(
    answers: Sequence[str | None],
    confidences: Sequence[float | None] | None = None,
    models: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    texts: Sequence[str] | None = None,
) -> list[ReasoningPath]:
    """One path per answer, in draw order; None is an abstention."""
    return [
        ReasoningPath(
            index=i,
            text=texts[i] if texts else f"... so the answer is {a}",
            answer=a,
            raw_answer=a,
            confidence=confidences[i] if confidences else None,
            model=models[i] if models else "m",
            weight=weights[i] if weights else 1.0,
        )
        for i, a in enumerate(answers)
    ]


@pytest.fixture
def make_paths() -> PathFactory:
    """The ``build_paths`` factory."""
    return build_paths
