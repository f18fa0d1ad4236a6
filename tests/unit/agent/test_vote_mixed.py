"""The ``mixed`` strategy: programs and prose pooled, each kind with its weight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from agent.paths import ReasoningPath
from agent.strategies import VoteConfig
from agent.strategies.mixed import aggregate, independent_agreement, kind_weight

PathFactory = Callable[..., list[ReasoningPath]]  # the ``make_paths`` fixture (conftest.py)


def kinds(paths: list[ReasoningPath], spec: str) -> list[ReasoningPath]:
    """Mark each path prose (``t``) or program (``p``), in order."""
    marked = zip(paths, spec, strict=True)
    return [replace(p, kind="program" if k == "p" else "prose") for p, k in marked]


def test_each_kind_votes_with_its_weight(make_paths: PathFactory) -> None:
    paths = kinds(make_paths(["7", "7", "9"]), "ppt")
    plain = aggregate(paths, VoteConfig(n=3))
    assert plain.answer == "7" and plain.votes == {"7": 2.0, "9": 1.0}
    heavy_prose = aggregate(paths, VoteConfig(n=3, kind_weights={"prose": 3.0}))
    assert heavy_prose.answer == "9" and heavy_prose.votes == {"7": 2.0, "9": 3.0}


def test_a_winner_backed_by_both_kinds_is_independent(make_paths: PathFactory) -> None:
    both = aggregate(kinds(make_paths(["7", "7", "9"]), "ptp"), VoteConfig(n=3))
    assert both.details["independent"] is True
    programs_only = aggregate(kinds(make_paths(["7", "7", "9"]), "ppt"), VoteConfig(n=3))
    assert programs_only.details["independent"] is False


def test_the_representative_is_the_winners_first_prose_path(make_paths: PathFactory) -> None:
    verdict = aggregate(kinds(make_paths(["7", "7", "7"]), "ppt"), VoteConfig(n=3))
    assert verdict.chosen == 2
    programs = aggregate(kinds(make_paths(["7", "7"]), "pp"), VoteConfig(n=2))
    assert programs.chosen == 0


def test_counts_are_kept_per_kind(make_paths: PathFactory) -> None:
    verdict = aggregate(kinds(make_paths(["7", "7", "9"]), "ptp"), VoteConfig(n=3))
    assert set(verdict.details["by_kind"]) == {"program", "prose"}


@pytest.mark.parametrize(
    ("spec", "answers", "expected"),
    [("pt", ["7", "7"], True), ("pp", ["7", "7"], False), ("pt", ["7", None], False)],
    ids=["program-and-prose", "programs-only", "prose-abstains"],
)
def test_independent_agreement_needs_an_answering_path_of_each_kind(
    make_paths: PathFactory, spec: str, answers: list[str | None], expected: bool
) -> None:
    assert independent_agreement(kinds(make_paths(answers), spec)) is expected


def test_a_kind_without_a_weight_weighs_one(make_paths: PathFactory) -> None:
    (path,) = kinds(make_paths(["7"]), "p")
    assert kind_weight(path, VoteConfig(n=1, kind_weights={"prose": 2.0})) == 1.0
