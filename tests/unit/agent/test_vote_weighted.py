from __future__ import annotations

import pytest

from agent.strategies import VoteConfig
from agent.strategies.majority import aggregate as majority
from agent.strategies.weighted import aggregate, path_weights


def test_weighted_vote_flips_a_low_confidence_majority(make_paths):
    paths = make_paths(["7", "7", "7", "9"], confidences=[0.1, 0.1, 0.1, 0.9])
    assert majority(paths, VoteConfig()).answer == "7"
    v = aggregate(paths, VoteConfig())
    assert v.answer == "9"
    assert v.votes == pytest.approx({"7": 0.3, "9": 0.9})
    assert v.share == pytest.approx(0.75)


def test_weighted_vote_multiplies_confidence_by_model_weight(make_paths):
    paths = make_paths(["1", "2"], confidences=[0.5, 0.4], weights=[1.0, 2.0])
    assert aggregate(paths, VoteConfig()).answer == "2"


def test_weighted_vote_without_any_confidence_is_the_majority(make_paths):
    paths = make_paths(["3", "5", "5", "3", "5"])
    assert aggregate(paths, VoteConfig()).answer == majority(paths, VoteConfig()).answer == "5"


@pytest.mark.parametrize(
    ("policy", "weight_of_unknown"),
    [("mean", 0.5), ("zero", 0.0), ("one", 1.0)],
)
def test_weighted_vote_weighs_missing_confidence_by_policy(make_paths, policy, weight_of_unknown):
    paths = make_paths(["1", "2", "3"], confidences=[0.2, 0.8, None])
    weights = path_weights(paths, VoteConfig(missing_confidence=policy))
    assert weights == pytest.approx({0: 0.2, 1: 0.8, 2: weight_of_unknown})


def test_weighted_vote_breaks_ties_by_first_seen(make_paths):
    paths = make_paths(["a1", "b2", "b2"], confidences=[0.6, 0.3, 0.3])
    assert aggregate(paths, VoteConfig()).answer == "a1"
