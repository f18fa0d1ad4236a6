from __future__ import annotations

import random

import pytest

from agent.strategies import VoteConfig
from agent.strategies.adaptive import (
    aggregate,
    beta_leader_probability,
    replay,
    should_stop,
)
from agent.strategies.majority import aggregate as majority


@pytest.mark.parametrize(("rule", "stop_at"), [("beta", 4), ("unbeatable", 5)])
def test_adaptive_stops_early_on_unanimous_draws(make_paths, rule, stop_at):
    v = replay(make_paths(["6"] * 8), 8, rule)
    assert (v.answer, v.n_paths, v.stopped_early) == ("6", stop_at, True)


@pytest.mark.parametrize("rule", ["beta", "unbeatable"])
def test_adaptive_does_not_stop_on_split_draws(make_paths, rule):
    # The vote stays open to the last draw: after 7, "1" can still tie "2" and win as first.
    v = replay(make_paths(["1", "2", "2", "1", "1", "2", "2", "1"]), 8, rule)
    assert (v.n_paths, v.stopped_early, v.answer) == (8, False, "1")


def test_adaptive_never_rule_uses_the_whole_budget(make_paths):
    v = replay(make_paths(["6"] * 8), 8, "never")
    assert (v.n_paths, v.stopped_early) == (8, False)


def test_adaptive_checks_only_after_full_rounds(make_paths):
    v = replay(make_paths(["6"] * 9), 9, "beta", round_size=3)
    assert v.n_paths == 6  # P = 0.9375 after 3 draws, 0.98 after 6


def test_adaptive_respects_min_n(make_paths):
    assert replay(make_paths(["6"] * 8), 8, "beta", min_n=6).n_paths == 6


def test_adaptive_abstentions_spend_budget_without_voting(make_paths):
    v = replay(make_paths([None, "6", None, "6", "6", "6"]), 8, "beta")
    assert (v.n_paths, v.abstentions, v.answer) == (6, 2, "6")


def test_adaptive_uses_at_most_max_n_draws(make_paths):
    v = replay(make_paths(["1", "2", "2", "2", "2"]), 2, "beta")
    assert (v.n_paths, v.answer, v.stopped_early) == (2, "1", False)


def test_should_stop_when_budget_is_spent(make_paths):
    assert should_stop(make_paths(["1", "2"]), 2, "never")


def test_unbeatable_waits_while_a_rival_drawn_first_could_tie(make_paths):
    # max 6: B,A,A,A leaves 2 draws; B can reach 3 and wins the tie as the first seen.
    assert not should_stop(make_paths(["B", "A", "A", "A"]), 6, "unbeatable")
    # A,A,A,B: B can only tie and loses it, and a new answer can reach 2.
    assert should_stop(make_paths(["A", "A", "A", "B"]), 6, "unbeatable")


@pytest.mark.parametrize("seed", range(30))
def test_replay_unbeatable_agrees_with_fixed_n_majority(make_paths, seed):
    rng = random.Random(seed)
    answers = [rng.choice(["1", "2", "3", None]) for _ in range(12)]
    paths = make_paths(answers)
    adaptive = replay(paths, 12, "unbeatable")
    assert adaptive.answer == majority(paths, VoteConfig()).answer


@pytest.mark.parametrize("max_n", [1, 4, 7])
def test_replay_at_max_n_equals_fixed_n_majority(make_paths, max_n):
    paths = make_paths(["1", "2", "2", "1", "3", "1", "2", "2"])
    fixed = majority(paths[:max_n], VoteConfig())
    v = replay(paths, max_n, "never")
    assert (v.answer, v.votes, v.agreeing, v.n_paths) == (
        fixed.answer,
        fixed.votes,
        fixed.agreeing,
        fixed.n_paths,
    )


def test_aggregate_reads_budget_and_rule_from_config(make_paths):
    cfg = VoteConfig(n=8, stop_rule="unbeatable", round_size=1)
    v = aggregate(make_paths(["6"] * 10), cfg)
    assert (v.strategy, v.n_paths, v.details["rule"]) == ("adaptive", 5, "unbeatable")


def test_beta_probability_grows_with_leader_votes_and_shrinks_with_runner_up():
    for v2 in range(5):
        probs = [beta_leader_probability(v1, v2) for v1 in range(v2, v2 + 10)]
        assert probs == sorted(probs) and len(set(probs)) == len(probs)
    for v1 in range(1, 8):
        probs = [beta_leader_probability(v1, v2) for v2 in range(v1 + 1)]
        assert probs == sorted(probs, reverse=True)


@pytest.mark.parametrize(
    ("v1", "v2", "p"),
    [(0, 0, 0.5), (1, 0, 0.75), (4, 0, 0.96875), (3, 3, 0.5), (4, 1, 0.890625)],
)
def test_beta_probability_known_values(v1, v2, p):
    assert beta_leader_probability(v1, v2) == pytest.approx(p)


def test_give_up_stops_when_every_draw_disagrees(make_paths):
    v = replay(make_paths(["1", "2", "3", "4", "5", "6", "7", "8"]), 8, "beta", give_up_after=3)
    assert (v.n_paths, v.stopped_early, v.answer) == (3, True, "1")


def test_give_up_waits_while_two_draws_agree(make_paths):
    # "2" has two votes by the 3rd draw: not hopeless, so the Beta rule keeps deciding.
    v = replay(make_paths(["1", "2", "2", "3", "2", "2", "2", "2"]), 8, "beta", give_up_after=3)
    assert v.n_paths > 3 and v.answer == "2"


def test_give_up_never_stops_before_its_count(make_paths):
    v = replay(make_paths(["1", "2", "1", "1", "1", "1", "1", "1"]), 8, "never", give_up_after=3)
    assert v.n_paths == 8
