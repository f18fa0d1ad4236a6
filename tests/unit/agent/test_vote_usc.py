from __future__ import annotations

from collections.abc import Sequence

import pytest

from agent.strategies import VoteConfig
from agent.strategies.usc import choose, cluster, lexical_similarity, make_aggregate

RESPONSES = [
    "The treaty ended the war in 1648",
    "Rome fell because of plague",
    "The treaty of Westphalia ended the war in 1648",
    "The war ended in 1648 with the treaty",
    "Rome fell because of its economy",
]


def test_lexical_similarity_is_one_on_the_diagonal_and_symmetric():
    sim = lexical_similarity(["a b c", "a b", ""])
    assert [sim[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert sim[0][1] == sim[1][0] > 0 and sim[0][2] == 0.0


def test_usc_cluster_picks_the_medoid_of_the_biggest_cluster(make_paths):
    paths = make_paths([None] * 5, texts=RESPONSES)
    v = cluster(paths, VoteConfig(usc_threshold=0.6))
    assert v.agreeing == (0, 2, 3)
    assert v.chosen == 0 and v.answer == RESPONSES[0]
    assert v.details["clusters"] == [[0, 2, 3], [1, 4]]
    assert v.share == pytest.approx(0.6)


def test_usc_cluster_uses_the_injected_similarity(make_paths):
    def same_first_letter(texts: Sequence[str]) -> list[list[float]]:
        return [[1.0 if a[0] == b[0] else 0.0 for b in texts] for a in texts]

    paths = make_paths(["apple", "banana", "blueberry", "avocado", "beet"])
    v = cluster(paths, VoteConfig(), same_first_letter)
    assert (v.answer, v.agreeing) == ("banana", (1, 2, 4))


def test_usc_cluster_breaks_size_ties_by_first_drawn(make_paths):
    paths = make_paths(["x one", "y two", "x one", "y two"])
    assert cluster(paths, VoteConfig(usc_threshold=0.9)).answer == "x one"


def test_usc_choose_answers_with_the_chosen_response(make_paths):
    seen: list[Sequence[str]] = []

    def chooser(responses: Sequence[str]) -> int:
        seen.append(responses)
        return 2

    v = choose(make_paths(["a", "b", "c"]), VoteConfig(), chooser)
    assert (v.answer, v.chosen, v.details["variant"]) == ("c", 2, "choose")
    assert list(seen[0]) == ["a", "b", "c"]


def test_usc_choose_rejects_an_index_out_of_range(make_paths):
    with pytest.raises(ValueError, match="outside"):
        choose(make_paths(["a", "b"]), VoteConfig(), lambda responses: 5)


def test_usc_on_no_paths_has_no_answer():
    assert cluster([], VoteConfig()).answer is None


def test_usc_make_aggregate_binds_a_similarity(make_paths):
    everything_alike = make_aggregate(lambda texts: [[1.0] * len(texts) for _ in texts])
    v = everything_alike(make_paths(["p", "q", "r"]), VoteConfig())
    assert v.agreeing == (0, 1, 2) and v.share == 1.0
