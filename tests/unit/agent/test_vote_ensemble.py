from __future__ import annotations

from agent.strategies import VoteConfig
from agent.strategies.ensemble import aggregate


def test_ensemble_pools_models_by_path_weight(make_paths):
    paths = make_paths(
        ["3", "3", "4", "4"], models=["small", "small", "big", "big"], weights=[1.0, 1.0, 1.5, 1.5]
    )
    v = aggregate(paths, VoteConfig())
    assert (v.answer, v.votes) == ("4", {"3": 2.0, "4": 3.0})


def test_ensemble_config_weights_override_path_weights(make_paths):
    paths = make_paths(["3", "3", "4"], models=["small", "small", "big"], weights=[1.0, 1.0, 5.0])
    v = aggregate(paths, VoteConfig(model_weights={"big": 1.0}))
    assert v.answer == "3"


def test_ensemble_records_votes_per_model(make_paths):
    paths = make_paths(["3", "4", "4", None], models=["a", "a", "b", "b"])
    v = aggregate(paths, VoteConfig())
    assert v.details["by_model"] == {"a": {"3": 1, "4": 1}, "b": {"4": 1}}
    assert v.abstentions == 1
