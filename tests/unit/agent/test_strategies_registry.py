from __future__ import annotations

import pydantic
import pytest

import agent.strategies as strategies
from agent.errors import ConfigError
from agent.paths import Verdict
from agent.strategies import STRATEGIES, VoteConfig, get_strategy


def test_strategies_exports_sorted_public_names():
    assert strategies.__all__ == sorted(strategies.__all__)
    for name in strategies.__all__:
        assert hasattr(strategies, name)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_registered_strategy_returns_a_verdict_named_after_its_key(make_paths, name):
    paths = make_paths(["4", "4", None, "5"], confidences=[0.5, 0.6, None, 0.2])
    v = STRATEGIES[name](paths, VoteConfig(n=4))
    assert isinstance(v, Verdict)
    assert v.strategy == name and v.answer == "4"


def test_get_strategy_rejects_an_unknown_name_with_the_known_ones():
    with pytest.raises(ConfigError, match="majority"):
        get_strategy("best_of_everything")


def test_vote_config_rejects_min_n_above_n():
    with pytest.raises(pydantic.ValidationError, match="min_n"):
        VoteConfig(n=2, min_n=3)


def test_vote_config_rejects_an_unknown_stop_rule():
    with pytest.raises(pydantic.ValidationError):
        VoteConfig(stop_rule="sometimes")


def test_vote_config_describes_every_field():
    assert all(f.description for f in VoteConfig.model_fields.values())
