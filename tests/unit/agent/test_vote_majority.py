from __future__ import annotations

from agent.strategies import VoteConfig
from agent.strategies.majority import aggregate

CFG = VoteConfig()


def test_majority_picks_the_most_frequent_answer(make_paths):
    v = aggregate(make_paths(["3", "5", "5", "7", "5"]), CFG)
    assert (v.answer, v.votes, v.agreeing) == ("5", {"3": 1, "5": 3, "7": 1}, (1, 2, 4))
    assert v.share == 0.6 and v.strategy == "majority"


def test_majority_breaks_ties_by_first_seen(make_paths):
    assert aggregate(make_paths(["3", "5", "5", "3"]), CFG).answer == "3"
    assert aggregate(make_paths(["5", "3", "3", "5"]), CFG).answer == "5"


def test_majority_ignores_abstentions(make_paths):
    v = aggregate(make_paths([None, "4", None, None, "4", "9"]), CFG)
    assert (v.answer, v.abstentions, v.n_paths, v.n_votes) == ("4", 3, 6, 3)
    assert v.share == 2 / 3


def test_majority_with_only_abstentions_has_no_answer(make_paths):
    v = aggregate(make_paths([None, None]), CFG)
    assert (v.answer, v.share, v.votes, v.agreeing, v.chosen) == (None, 0.0, {}, (), None)


def test_majority_with_no_paths_has_no_answer():
    v = aggregate([], CFG)
    assert v.answer is None and v.n_paths == 0


def test_majority_groups_equivalent_spellings_under_the_first(make_paths):
    v = aggregate(make_paths(["2", "1/2", "0.5", r"\frac{1}{2}", "2"]), CFG)
    assert (v.answer, v.votes) == ("1/2", {"2": 2, "1/2": 3})


def test_majority_groups_symbolically_equal_expressions(make_paths):
    v = aggregate(make_paths([r"\sqrt{2}", r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}"]), CFG)
    assert (v.answer, v.agreeing) == (r"\frac{\sqrt{2}}{2}", (1, 2))


def test_majority_shows_the_most_confident_agreeing_path(make_paths):
    v = aggregate(make_paths(["4", "4", "4", "1"], confidences=[0.2, 0.9, 0.5, 1.0]), CFG)
    assert v.chosen == 1
