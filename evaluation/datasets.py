"""Open a reasoning-gym data set by name, with a clear error for a name it does not know."""

from __future__ import annotations

from typing import Any

from agent.errors import ConfigError


def open_dataset(name: str, size: int, seed: int) -> Any:
    """reasoning-gym's procedural data set ``name`` with ``size`` items from ``seed``.

    Raises:
        ConfigError: reasoning-gym has no data set of that name (the message lists some).
    """
    import reasoning_gym
    from reasoning_gym.factory import DATASETS

    if name not in DATASETS:
        known = ", ".join(sorted(DATASETS)[:12])
        raise ConfigError(f"unknown data set {name!r}; reasoning-gym has e.g. {known}, …")
    return reasoning_gym.create_dataset(name, size=size, seed=seed)
