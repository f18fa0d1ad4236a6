"""Float-noise spellings of one number are one vote in every strategy (issue 25)."""

from __future__ import annotations

import itertools

import pytest

from agent.extract import extract_answer, same_answer
from agent.strategies import STRATEGIES, VoteConfig
from agent.strategies.majority import aggregate as majority
from agent.strategies.tally import tally

CFG = VoteConfig()

# What four program paths printed for one question: the float 0.6844... drawn first, then
# 32 twice (once with float noise) and 30.8. Exact keys made four one-vote buckets, and the
# first-seen tie-break chose 0.6844...
PRINTED = ["0.6844444444444444", "31.999999999999996", "32", "30.799999999999997"]


def program_answers(outputs: list[str]) -> list[str]:
    """The canonical answers program paths get from these outputs (as agent/programs.py)."""
    answers = []
    for out in outputs:
        found = extract_answer(out + "\n", "math")
        assert found is not None
        answers.append(found.canonical)
    return answers


def test_program_outputs_become_denoised_canonical_answers():
    assert program_answers(PRINTED) == ["0.6844444444", "32", "32", "30.8"]
    assert program_answers(["405.99999999999994"]) == ["406"]


def test_majority_merges_float_noise_so_the_repeated_answer_wins(make_paths):
    v = majority(make_paths(program_answers(PRINTED)), CFG)
    assert (v.answer, v.votes) == ("32", {"0.6844444444": 1, "32": 2, "30.8": 1})


def test_tally_merges_raw_float_spellings_too(make_paths):
    # Paths whose answers were never canonicalised (stored records, other extractors) still
    # meet in one bucket: the key and the comparison apply the same normalisation.
    buckets = tally(make_paths(["31.999999999999996", "30.8", "32", "30.799999999999997"]))
    assert [len(b.members) for b in buckets] == [2, 2]


def test_the_shown_answer_of_a_lone_float_is_the_integer(make_paths):
    assert majority(make_paths(program_answers(["405.99999999999994"])), CFG).answer == "406"


def test_rational_and_its_long_decimal_are_one_vote(make_paths):
    v = majority(make_paths(["1/3", "0.25", "0.3333333333"]), CFG)
    assert (v.answer, v.votes) == ("1/3", {"1/3": 2, "0.25": 1})


def test_units_and_thousands_separators_still_merge_with_noise(make_paths):
    answers = program_answers(["$1,234.5000000000002", "1234.5 dollars", "1,234.50"])
    assert majority(make_paths(answers), CFG).votes == {"1234.5": 3}


def test_distinct_large_integers_stay_distinct_votes(make_paths):
    v = majority(make_paths(["1000000007", "1000000008", "1000000008"]), CFG)
    assert v.votes == {"1000000007": 1, "1000000008": 2}


@pytest.mark.parametrize("name", sorted(set(STRATEGIES) - {"usc"}))
def test_every_counting_strategy_merges_float_noise(make_paths, name):
    # usc clusters on text similarity, not on canonical answers, so it is not in this table.
    paths = make_paths(program_answers(PRINTED + ["31.999999999999996"]), confidences=[0.5] * 5)
    v = STRATEGIES[name](paths, CFG)
    for a, b in itertools.combinations(v.votes, 2):
        assert not same_answer(a, b), (name, v.votes)
    assert v.answer == "32"
