from __future__ import annotations

import pytest

from agent.strategies import VoteConfig
from agent.strategies.cot_decoding import aggregate


def test_cot_decoding_sums_confidence_over_branches(make_paths):
    # The single most confident branch says 5, but two branches for 6 sum to more.
    paths = make_paths(["5", "6", "6"], confidences=[0.7, 0.4, 0.4])
    v = aggregate(paths, VoteConfig())
    assert v.answer == "6"
    assert v.votes == pytest.approx({"5": 0.7, "6": 0.8})


def test_cot_decoding_prefers_confidence_over_count(make_paths):
    paths = make_paths(["5", "5", "5", "6"], confidences=[0.1, 0.1, 0.1, 0.8])
    assert aggregate(paths, VoteConfig()).answer == "6"


def test_cot_decoding_branch_without_confidence_adds_nothing(make_paths):
    paths = make_paths(["5", "6", "6"], confidences=[0.3, None, None])
    assert aggregate(paths, VoteConfig()).answer == "5"


def test_cot_decoding_without_any_confidence_counts_branches(make_paths):
    v = aggregate(make_paths(["5", "6", "6"]), VoteConfig())
    assert (v.answer, v.details["fallback"]) == ("6", "count")
