"""Aggregation strategies: one module each, one registry.

Every strategy has the signature ``aggregate(paths, cfg) -> Verdict``. Adding one means a new
module, one line in ``STRATEGIES`` and a test file; nothing dispatches on names elsewhere.
``think_on_demand`` is a routing decision rather than a vote, so it is not in the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from agent.errors import ConfigError
from agent.paths import ReasoningPath, Verdict
from agent.strategies import adaptive, cot_decoding, ensemble, majority, mixed, usc, weighted
from agent.strategies.config import StopRule, VoteConfig
from agent.strategies.think_on_demand import ThinkDecision, decide

__all__ = [
    "STRATEGIES",
    "StopRule",
    "Strategy",
    "ThinkDecision",
    "VoteConfig",
    "decide",
    "get_strategy",
]


class Strategy(Protocol):
    """Turns sampled paths into one verdict."""

    def __call__(self, paths: Sequence[ReasoningPath], cfg: VoteConfig, /) -> Verdict:
        """Aggregate the paths under the configuration."""
        ...


STRATEGIES: dict[str, Strategy] = {
    "adaptive": adaptive.aggregate,
    "cot_decoding": cot_decoding.aggregate,
    "ensemble": ensemble.aggregate,
    "majority": majority.aggregate,
    "mixed": mixed.aggregate,
    "usc": usc.aggregate,
    "weighted": weighted.aggregate,
}


def get_strategy(name: str) -> Strategy:
    """Return the registered strategy called ``name``.

    Raises:
        ConfigError: With the known names, when ``name`` is not registered.
    """
    try:
        return STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise ConfigError(f"unknown strategy {name!r}; known: {known}") from None
