"""The accuracy interval every report prints: scipy's 95% Wilson score interval."""

from __future__ import annotations

import pytest

from evaluation.evaluate import wilson


@pytest.mark.parametrize(
    ("correct", "total", "low", "high"),
    [(88, 100, 0.802, 0.930), (61, 100, 0.512, 0.700), (0, 5, 0.0, 0.434), (5, 5, 0.566, 1.0)],
    ids=["readme-full", "readme-cot", "none-right", "all-right"],
)
def test_wilson_matches_the_published_intervals(
    correct: int, total: int, low: float, high: float
) -> None:
    lo, hi = wilson(correct, total)
    assert (round(lo, 3), round(hi, 3)) == (low, high)


def test_no_trials_is_an_empty_interval() -> None:
    assert wilson(0, 0) == (0.0, 0.0)
