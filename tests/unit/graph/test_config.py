"""Named graph configurations and service-wide sampling defaults."""

from __future__ import annotations

import pytest

from agent.config import NAMED_CONFIGS, named_config, with_defaults
from agent.errors import ConfigError


def test_every_named_config_builds_with_matching_vote_budget() -> None:
    for name in NAMED_CONFIGS:
        cfg = named_config(name)
        assert cfg.name == name
        assert cfg.vote.n == cfg.n


def test_unknown_config_lists_known_names() -> None:
    with pytest.raises(ConfigError) as info:
        named_config("sc@1000")
    assert "sc@8" in str(info.value) and "full" in str(info.value)


def test_unknown_vote_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown vote strategy"):
        named_config("sc@8", vote={"strategy": "plurality-ish"})


def test_defaults_change_sampling_configs_but_keep_greedy_single() -> None:
    defaults = {"n": 4, "temperature": 0.5, "top_p": None, "max_tokens": 128}
    sc = with_defaults(named_config("sc@8"), defaults)
    greedy = with_defaults(named_config("greedy"), defaults)
    assert (sc.n, sc.vote.n, sc.temperature, sc.max_tokens) == (4, 4, 0.5, 128)
    assert (greedy.n, greedy.temperature, greedy.max_tokens) == (1, 0.0, 128)


def test_no_defaults_leave_the_config_unchanged() -> None:
    cfg = named_config("full")
    assert with_defaults(cfg, {}) is cfg
